#!/usr/bin/env python
"""Judgement of the whole assistant, per tenant, in one run: every labelled question goes through the dialogue
engine as `madoguchi ask --jsonl` runs it (intents, risk, follow-up, curated answers, the answer policy), and the
replies are scored: served (a right answer, or choices holding one), answered precision, wrong answers, handed
over, and the no-answer questions handed over or clarified. Side by side: an older build's replies to the same
questions (`--baseline-dir DIR`, saved by that build's `--save-replies DIR`: today's policy next to the new one),
the same turns under the thresholds that were on main before issue 9 (answer 0.8403 / clarify 0.8396, three
choices) applied to this build's retrieval and confidence, and, with --baseline, a saved `ask --jsonl` output.

Each tenant is run with its reviewed question variants (knowledge/variants.py: what a city gets once its
reviewers have marked right sources) and without them (a new city's first day), when its YAML uses them.

    .venv/bin/python bench/judgement.py [--amagasaki-split test] [--tokyo-split report] [--variants both]
                                        [--save-replies DIR] [--baseline-dir OLD_DIR]
                                        [--baseline amagasaki=old-test.jsonl]

On the dev split, read the runs without variants: the dev questions are amagasaki's variants, so with them each
question would find itself (calibration leaves a question's own variant out; a turn cannot).

Sets: amagasaki = LocalgovFAQ (test split: reported, never tuned on); tokyo = eval/tokyo/residents.jsonl (its
report half). A set that is absent is skipped with a message.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.settings import get_settings  # noqa: E402
from core.policy import PREVIOUS_THRESHOLDS, decide  # noqa: E402
from config.tenancy import get_tenant  # noqa: E402
from dialogue.context import ConversationMemory  # noqa: E402
from knowledge.calibration_labels import labelled_row  # noqa: E402
from knowledge.evaluation_served import served_figures  # noqa: E402

FIGURES = ("served", "answered", "answered_precision", "wrong", "clarified", "clarify_holds_answer", "handed_over",
           "other", "no_answer_handed_over_or_clarified")
PREVIOUS_CHOICES = 3
MODES = {"both": (True, False), "with": (True,), "without": (False,)}


def labelled_sets(args: argparse.Namespace, kb: Any) -> dict[str, tuple[Path, str | None]]:
    shared = get_settings().shared_dir
    sets = {"amagasaki": (shared / "data" / "localgovfaq" / f"queries-{args.amagasaki_split}.jsonl", None),
            "tokyo": (ROOT / "eval" / "tokyo" / "residents.jsonl", args.tokyo_split)}
    present = {}
    for tenant, (path, split) in sets.items():
        if path.exists() and kb.has_index(tenant):
            present[tenant] = (path, split)
        else:
            print(f"{tenant}: {path} or its index is absent; skipped", file=sys.stderr)
    return present


def rows_of(path: Path, split: str | None) -> list[dict]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    return [r for r in rows if not split or r.get("split") in (None, split)]


def memory_after(result: Any) -> ConversationMemory:
    """What the conversation remembers after a turn (as conversations/turns.py stores it)."""
    sources = result.sources
    return ConversationMemory(last_question=result.query, last_outcome=result.outcome.value,
                              last_choices=result.choices or [], language=result.language,
                              last_doc_id=sources[0].doc_id if result.outcome.value == "answered" and sources else None)


def ask(engine: Any, tenant_id: str, query: Any) -> Any:
    """The question, after the resident's earlier messages of its conversation (a follow-up's setting)."""
    tenant = get_tenant(tenant_id)
    memory = ConversationMemory()
    for earlier in query.context:
        memory = memory_after(engine.run_turn(tenant, earlier, memory))
    return engine.run_turn(tenant, query.text, memory)


def previous_policy_reply(engine: Any, tenant: str, result: Any, reply: dict) -> dict:
    """The same turn under the thresholds and choices on main before issue 9 (turns the policy did not decide —
    intents, risk, curated answers, a picked choice — are unchanged)."""
    decided = reply["outcome"] in ("answered", "clarify") or reply.get("reason") == "low_confidence"
    curated = bool(result.sources) and result.sources[0].source == "curated"  # a reviewer's own answer
    if not decided or curated or result.intent == "choice" or not result.query:
        return reply
    retrieval = engine.kb.retrieve(tenant, result.query, top_k=10)
    decision = decide(retrieval.confidence, retrieval.confidence_top3, PREVIOUS_THRESHOLDS)
    hits = retrieval.hits
    if decision == "answer" and hits:
        return {"outcome": "answered", "sources": [{"doc_id": hits[0].doc.doc_id}], "choices": []}
    if decision == "clarify" and hits:
        titles, choices = set(), []
        for hit in hits:
            if hit.doc.title not in titles and len(choices) < PREVIOUS_CHOICES:
                titles.add(hit.doc.title)
                choices.append({"doc_id": hit.doc.doc_id})
        return {"outcome": "clarify", "sources": [], "choices": choices}
    return {"outcome": "escalated", "reason": "low_confidence", "sources": [], "choices": []}


def replies_file(directory: Path, tenant: str, path: Path, split: str | None, with_variants: bool) -> Path:
    """Where --save-replies writes a run's replies and --baseline-dir looks for an older build's."""
    return directory / f"{tenant}-{split or path.stem}-{'with' if with_variants else 'without'}-variants.jsonl"


def save_replies(replies: dict, path: Path) -> None:
    """The replies as `madoguchi ask --jsonl` writes them (one JSON line each, with its question's id)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for query_id, reply in replies.items():
            out.write(json.dumps({"id": query_id, **reply}, ensure_ascii=False) + "\n")


def saved_figures(path: Path, queries: list) -> dict:
    saved = {str(r["id"]): r for r in map(json.loads, path.open(encoding="utf-8")) if r}
    return served_figures(saved, queries)


def run_tenant(engine: Any, tenant: str, path: Path, split: str | None) -> dict:
    rows = rows_of(path, split)
    docs = engine.kb.index(tenant).docs
    queries = [labelled_row(r, docs) for r in rows]
    replies, previous = {}, {}
    started = time.perf_counter()
    for row, query in zip(rows, queries):
        result = ask(engine, tenant, query)
        reply = result.to_dict()
        replies[query.id] = reply
        previous[query.id] = previous_policy_reply(engine, tenant, result, reply)
    return {"set": path.name, "split": split, "questions": len(rows),
            "seconds": round(time.perf_counter() - started, 1), "queries": queries, "replies": replies,
            "now": served_figures(replies, queries), "previous_policy": served_figures(previous, queries)}


# Column → its heading: this build with and without the variants, an older build's saved replies (today's main,
# from --baseline-dir) next to each, the pre-issue-9 thresholds, and a single --baseline file.
COLUMNS = {"with_variants": "with variants", "baseline_with_variants": "baseline, with",
           "without_variants": "without variants", "baseline_without_variants": "baseline, without",
           "previous_policy": "0.8403/0.8396", "baseline": "--baseline"}


def run_both(engine: Any, tenant: str, path: Path, split: str | None, modes: tuple[bool, ...],
             baseline: Path | None = None, baseline_dir: Path | None = None, save_dir: Path | None = None) -> dict:
    """The tenant's figures with and without its question variants, each next to the same run of an older build
    when `baseline_dir` holds one; the pre-issue-9 thresholds are scored on the retrieval without them (what main
    searched before variants existed)."""
    out: dict[str, Any] = {}
    engine.kb.question_variants = True
    variants = len(engine.kb.index(tenant).variants or [])
    if not variants:
        modes = (False,)  # the tenant has none: both runs would be the same
    for with_variants in modes:
        engine.kb.question_variants = with_variants
        mode = f"{'with' if with_variants else 'without'}_variants"
        report = run_tenant(engine, tenant, path, split)
        queries = report.pop("queries")
        if save_dir:
            save_replies(report["replies"], replies_file(save_dir, tenant, path, split, with_variants))
        older = replies_file(baseline_dir, tenant, path, split, with_variants) if baseline_dir else None
        if older and older.exists():
            out[f"baseline_{mode}"] = saved_figures(older, queries)
        if baseline:
            out["baseline"] = saved_figures(baseline, queries)
        out.update({k: v for k, v in report.items() if k not in ("now", "previous_policy", "seconds", "replies")})
        out[mode] = report["now"]
        out[f"seconds_{mode}"] = report["seconds"]
        if not with_variants or len(modes) == 1:
            out["previous_policy"] = report["previous_policy"]
    engine.kb.question_variants = True
    out["variants"] = variants
    return out


def print_table(tenant: str, report: dict) -> None:
    columns = [c for c in COLUMNS if c in report]
    print(f"\n{tenant} — {report['set']} {report['split'] or ''} ({report['questions']} questions, "
          f"{report['variants']} reviewed question variants)")
    print(f"{'':38}" + "".join(f"{COLUMNS[c]:>19}" for c in columns))
    for key in FIGURES:
        values = [report[c][key] for c in columns]
        print(f"{key:38}" + "".join(f"{'—' if v is None else f'{v:.3f}':>19}" for v in values))
    for column in columns:
        if column != "previous_policy":
            print(f"{'counts (' + COLUMNS[column] + ')':38}{json.dumps(report[column]['counts'], ensure_ascii=False)}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--amagasaki-split", default="test")
    parser.add_argument("--tokyo-split", default="report")
    parser.add_argument("--baseline", action="append", default=[],
                        help="TENANT=FILE: a saved `madoguchi ask --jsonl` output to score side by side")
    parser.add_argument("--variants", choices=("both", "with", "without"), default="both",
                        help="search with the tenants' reviewed question variants, without them, or both")
    parser.add_argument("--tenant", action="append", help="only these tenants (default: every labelled set)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--baseline-dir", type=Path, metavar="DIR",
                        help="an older build's replies saved with --save-replies: scored next to each run")
    parser.add_argument("--save-replies", type=Path, metavar="DIR",
                        help="also write every reply to DIR/TENANT-SET-with|without-variants.jsonl (a later "
                             "build's --baseline-dir)")
    args = parser.parse_args()
    from madoguchi.composition import build_services

    engine = build_services(channels={}).engine  # as `madoguchi ask` builds it: corrections from the database
    baselines = dict(b.split("=", 1) for b in args.baseline)
    reports = {}
    for tenant, (path, split) in labelled_sets(args, engine.kb).items():
        if args.tenant and tenant not in args.tenant:
            continue
        base = Path(baselines[tenant]) if tenant in baselines else None
        reports[tenant] = run_both(engine, tenant, path, split, MODES[args.variants], base, args.baseline_dir,
                                   args.save_replies)
        print_table(tenant, reports[tenant])
    if args.json:
        Path(args.json).write_text(json.dumps(reports, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
