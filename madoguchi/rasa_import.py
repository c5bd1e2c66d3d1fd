"""`madoguchi import-rasa --tenant T PATH`: a city's Rasa assistant's content, moved into madoguchi.

From the Rasa project at PATH (its `data/**/*.yml` and `domain.yml` or `domain/`):
- intents whose meaning madoguchi shares (greet, goodbye, thanks, asking for a person, complaints, out of scope)
  bring their examples to the tenant's own intent examples, `config/tenants/<T>/nlu.yml` (Rasa's format; the
  dialogue adds them to config/nlu.yml for this tenant);
- retrieval intents (`faq/…`) with their `utter_faq/…` responses, and intents that a one-step rule or story answers
  with one `utter_…` response, become staff-curated answers: every example is a question the answer is matched to
  (exactly, or as a close paraphrase), recorded with its source (file, intent, response) in the audit log;
- everything else is reported as not mapped (with the reason), and nothing is half-imported.
Importing again adds only what is new.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.tenancy import Tenant
from governance.review import StaffCorrections, question_key, write_curated_answer
from storage import append_audit
from storage import governance as repo

IMPORTER = "import-rasa"
# Rasa's usual intent names → madoguchi's intents (dialogue.intents.INTENTS).
INTENT_ALIASES = {
    "greet": "greeting", "greeting": "greeting", "hello": "greeting",
    "goodbye": "goodbye", "bye": "goodbye",
    "thankyou": "thanks", "thank_you": "thanks", "thanks": "thanks", "thank": "thanks",
    "human_handoff": "request_human", "handoff": "request_human", "request_human": "request_human",
    "talk_to_human": "request_human", "ask_human": "request_human", "agent": "request_human",
    "complain": "complaint", "complaint": "complaint",
    "out_of_scope": "out_of_scope",
}
_ENTITY = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}")


@dataclass
class RasaProject:
    examples: dict[str, list[str]] = field(default_factory=dict)  # intent → examples
    responses: dict[str, str] = field(default_factory=dict)  # utter_… → first text variant
    answered_by: dict[str, str] = field(default_factory=dict)  # intent → utter_… (from one-step rules/stories)
    files: dict[str, str] = field(default_factory=dict)  # intent or response → file it came from
    problems: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    intents: dict[str, int] = field(default_factory=dict)  # madoguchi intent → examples added
    curated: list[dict[str, Any]] = field(default_factory=list)
    skipped_existing: int = 0
    not_mapped: list[dict[str, str]] = field(default_factory=list)
    nlu_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"intents": self.intents, "curated_answers": len(self.curated),
                "skipped_existing": self.skipped_existing, "not_mapped": self.not_mapped, "nlu_path": self.nlu_path}


# --- reading a Rasa project --------------------------------------------------------------------------------------
def read_project(path: Path) -> RasaProject:
    project = RasaProject()
    path = Path(path)
    files = sorted(path.rglob("*.yml")) + sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    for file in files:
        if any(part.startswith(".") or part in ("models", "results", "tests") for part in file.relative_to(
                path if path.is_dir() else file.parent).parts[:-1]):
            continue
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            project.problems.append(f"{file}: unreadable YAML ({exc})")
            continue
        if isinstance(data, dict):
            _read_file(project, data, file.name)
    return project


def _read_file(project: RasaProject, data: dict[str, Any], name: str) -> None:
    for entry in data.get("nlu") or []:
        if isinstance(entry, dict) and entry.get("intent"):
            texts = [_ENTITY.sub(lambda m: m.group(1) or m.group(2), line.strip()[1:].strip())
                     for line in str(entry.get("examples") or "").splitlines() if line.strip().startswith("-")]
            project.examples.setdefault(entry["intent"], []).extend(t for t in texts if t)
            project.files.setdefault(entry["intent"], name)
    for response, variants in (data.get("responses") or {}).items():
        text = next((v.get("text") for v in variants or [] if isinstance(v, dict) and v.get("text")), None)
        if text:
            project.responses[response] = text.strip()
            project.files.setdefault(response, name)
    for flow in (data.get("rules") or []) + (data.get("stories") or []):
        steps = [s for s in (flow or {}).get("steps") or [] if isinstance(s, dict)]
        if len(steps) == 2 and steps[0].get("intent") and str(steps[1].get("action", "")).startswith("utter_"):
            project.answered_by.setdefault(steps[0]["intent"], steps[1]["action"])


# --- mapping -----------------------------------------------------------------------------------------------------
def plan(project: RasaProject) -> tuple[dict[str, list[str]], list[dict[str, Any]], list[dict[str, str]]]:
    """(madoguchi intent → examples, curated answers to write, what could not be mapped and why)."""
    intents: dict[str, list[str]] = {}
    curated: list[dict[str, Any]] = []
    not_mapped: list[dict[str, str]] = []
    for intent, examples in project.examples.items():
        response = f"utter_{intent}" if "/" in intent else project.answered_by.get(intent)
        if intent.split("/")[0] in INTENT_ALIASES and "/" not in intent:
            intents.setdefault(INTENT_ALIASES[intent], []).extend(examples)
        elif response and response in project.responses:
            curated += [{"question": text, "answer": project.responses[response], "intent": intent,
                         "response": response, "file": project.files.get(response)} for text in examples]
        elif response:
            not_mapped.append({"intent": intent, "reason": f"its response {response} has no text in the domain"})
        elif "/" in intent:
            not_mapped.append({"intent": intent, "reason": f"retrieval intent without a response utter_{intent}"})
        else:
            not_mapped.append({"intent": intent, "reason": "no madoguchi intent means this, and no rule answers it "
                                                           "with a single response"})
    used = {c["response"] for c in curated}
    for response in project.responses:
        if response not in used and not response.startswith(("utter_greet", "utter_goodbye")):
            not_mapped.append({"response": response, "reason": "no intent leads to it in a one-step rule or story"})
    not_mapped += [{"file": problem, "reason": "unreadable"} for problem in project.problems]
    return intents, curated, not_mapped


# --- writing -----------------------------------------------------------------------------------------------------
def import_rasa(path: Path, tenant: Tenant, corrections: StaffCorrections, tenants_dir: Path, *,
                source_title: str | None = None, source_url: str | None = None,
                dry_run: bool = False) -> ImportReport:
    db = corrections.db
    intents, curated, not_mapped = plan(read_project(path))
    report = ImportReport(not_mapped=not_mapped)
    report.nlu_path = str(_write_intents(tenants_dir / tenant.id / "nlu.yml", intents, report, dry_run))
    with db.read() as conn:
        existing = {(row.question_key, row.answer) for row in repo.active_curated_answers(conn, tenant.id)}
    title = source_title or f"{tenant.display_name} よくある質問"
    for item in curated:
        if (question_key(item["question"]), item["answer"]) in existing:
            report.skipped_existing += 1
            continue
        existing.add((question_key(item["question"]), item["answer"]))
        if dry_run:
            report.curated.append(item)
            continue
        curated_id = write_curated_answer(corrections, tenant, reviewer=IMPORTER, question=item["question"],
                                          answer=item["answer"], source_title=title, source_url=source_url)
        with db.transaction() as conn:  # where it came from, next to the curated answer's own audit row
            append_audit(conn, actor=IMPORTER, action="review.import_rasa", tenant=tenant.id, target=curated_id,
                         detail={"project": str(path), "file": item["file"], "intent": item["intent"],
                                 "response": item["response"]})
        report.curated.append({**item, "curated_id": curated_id})
    return report


def _write_intents(path: Path, intents: dict[str, list[str]], report: ImportReport, dry_run: bool) -> Path:
    """Merge into the tenant's nlu.yml (Rasa format), keeping what is there; count what is new."""
    current: dict[str, list[str]] = {}
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in data.get("nlu") or []:
            current[entry["intent"]] = [line.strip()[1:].strip() for line in str(entry.get("examples", "")).splitlines()
                                        if line.strip().startswith("-")]
    for intent, examples in intents.items():
        known = current.setdefault(intent, [])
        new = [e for e in dict.fromkeys(examples) if e not in known]
        known.extend(new)
        report.intents[intent] = len(new)
    if intents and not dry_run:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {e}\n" for e in examples)
                       for intent, examples in current.items())
        path.write_text("# This tenant's own intent examples (Rasa format), added to config/nlu.yml for it.\n"
                        "# Written by `madoguchi import-rasa`; edit freely.\nversion: \"3.1\"\nnlu:\n" + body,
                        encoding="utf-8")
    return path
