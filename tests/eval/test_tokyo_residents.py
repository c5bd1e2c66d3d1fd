"""The Tokyo residents' question set: its schema, its split, and that every gold reference resolves to a real
row, record or line of the official data in ../shared (and that the quoted strings really are in that record)."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from eval.tokyo_questions import (
    EXPECTS, GARBAGE_MUNICIPALITY, KINDS, LANGUAGES, QUESTIONS_PATH, SPLITS, STYLES, assign_splits, evidence_path,
    evidence_text, household_quantity, load_questions, pinned,
)

TENANT_YAML = Path(__file__).resolve().parents[2] / "config" / "tenants" / "tokyo.yaml"
REQUIRED = {"id", "split", "language", "kind", "style", "turns", "expect", "evidence", "answer_contains"}
OPTIONAL = {"answer_any", "slot", "choices", "note", "group", "source_loaded", "pinned_split"}


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return load_questions()


# --- schema ------------------------------------------------------------------------------------------------------
def test_every_question_has_the_documented_fields(questions):
    for q in questions:
        assert REQUIRED <= q.keys() <= REQUIRED | OPTIONAL, q["id"]
        assert re.fullmatch(r"tk-\d{4}", q["id"]), q["id"]
        assert q["split"] in SPLITS and q["language"] in LANGUAGES and q["kind"] in KINDS, q["id"]
        assert q["expect"] in EXPECTS, q["id"]
        assert q["style"] and set(q["style"]) <= set(STYLES), q["id"]
        assert q["turns"] and all(isinstance(t, str) and t.strip() for t in q["turns"]), q["id"]
        assert all(isinstance(s, str) and s for s in q["answer_contains"] + q.get("answer_any", [])), q["id"]


def test_ids_are_unique_and_numbered_in_order(questions):
    ids = [q["id"] for q in questions]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_follow_ups_are_conversations_and_only_they_are(questions):
    for q in questions:
        assert ("follow_up" in q["style"]) == (len(q["turns"]) > 1), q["id"]


def test_each_expected_behaviour_carries_what_it_needs(questions):
    for q in questions:
        if q["expect"] == "clarify":
            assert q.get("slot") and isinstance(q.get("choices"), list), q["id"]
        else:
            assert "slot" not in q and "choices" not in q, q["id"]
        if q["expect"] == "answer":
            assert q["evidence"], f"{q['id']}: an answer needs its gold record"
        if q["kind"] in ("unanswerable", "request_human"):
            assert q["expect"] == "handover" and not q["evidence"], q["id"]
        if "source_loaded" in q:
            assert q["kind"] == "evacuation_site" and q["source_loaded"] is False, q["id"]


def test_the_set_is_large_and_multilingual_enough(questions):
    assert len(questions) >= 200
    languages = Counter(q["language"] for q in questions)
    assert all(languages[lang] >= 15 for lang in ("en", "zh", "ko")), languages
    styles = Counter(s for q in questions for s in q["style"])
    for style in ("one_word", "no_ward", "no_area", "typo", "follow_up", "long_story", "fullwidth_digits",
                  "chome_format", "staff_word", "household_size", "out_of_coverage", "personal_case"):
        assert styles[style] >= 3, style
    expects = Counter(q["expect"] for q in questions)
    assert expects["clarify"] >= 20 and expects["handover"] >= 30, expects


# --- the split ---------------------------------------------------------------------------------------------------
def test_the_split_is_the_documented_deterministic_rule(questions):
    assert {q["id"]: q["split"] for q in questions} == assign_splits(questions), \
        "splits are stale: run python -m eval.tokyo_questions --resplit"


def test_the_balanced_halves_are_equal_and_have_the_same_mix(questions):
    balanced = [q for q in questions if not q.get("pinned_split")]
    halves = Counter(q["split"] for q in balanced)
    assert halves["calibrate"] == halves["report"], halves
    for field in ("kind", "language", "expect"):
        counts = Counter((q[field], q["split"]) for q in balanced)
        for value in {q[field] for q in balanced}:
            assert abs(counts[(value, "calibrate")] - counts[(value, "report")]) <= 2, (field, value)
    styles = Counter((s, q["split"]) for q in balanced for s in q["style"])
    for style in {s for q in balanced for s in q["style"]}:
        a, b = styles[(style, "calibrate")], styles[(style, "report")]
        assert abs(a - b) <= max(2, (a + b) // 4), (style, a, b)


def test_pinned_questions_are_calibrate_questions_that_say_why(questions):
    written_after_failures = pinned(questions)
    assert len(written_after_failures) >= 40
    for q in written_after_failures:
        assert q["pinned_split"] == q["split"] == "calibrate", q["id"]
        assert "pinned to calibrate" in q.get("note", ""), q["id"]


def test_pinning_new_questions_keeps_every_other_assignment(questions):
    balanced = [q for q in questions if not q.get("pinned_split")]
    before = assign_splits(balanced)
    extra = {**balanced[0], "id": "tk-9999", "pinned_split": "calibrate", "group": None}
    after = assign_splits([*questions, extra])
    assert {qid: after[qid] for qid in before} == before
    assert after["tk-9999"] == "calibrate"


def test_a_group_is_pinned_whole_or_not_at_all(questions):
    groups: dict[str, set[bool]] = {}
    for q in questions:
        if q.get("group"):
            groups.setdefault(q["group"], set()).add(bool(q.get("pinned_split")))
    assert all(len(kinds) == 1 for kinds in groups.values())


def test_a_conversation_group_stays_in_one_half(questions):
    groups: dict[str, set[str]] = {}
    for q in questions:
        if q.get("group"):
            groups.setdefault(q["group"], set()).add(q["split"])
    assert groups and all(len(halves) == 1 for halves in groups.values())


# --- the gold resolves in ../shared --------------------------------------------------------------------------------
def test_every_evidence_reference_resolves(questions, shared_dir):
    for q in questions:
        for ref in q["evidence"]:
            try:
                evidence_text(shared_dir, ref)
            except LookupError as error:
                pytest.fail(f"{q['id']}: {ref} does not resolve: {error}")


def test_answer_strings_occur_in_the_gold_records(questions, shared_dir):
    for q in questions:
        figures = _household_figures(q, shared_dir)
        text = "\n".join(evidence_text(shared_dir, ref) for ref in q["evidence"])
        for wanted in q["answer_contains"]:
            if wanted not in figures:
                assert wanted in text, f"{q['id']}: {wanted!r} is not in its gold record"


def test_household_quantities_are_the_multiplied_per_person_figures(questions, shared_dir):
    checked = 0
    for q in questions:
        for ref in q["evidence"]:
            if "household" not in ref:
                continue
            figures = [household_quantity(shared_dir, ref, days) for days in ref["days"]]
            if len(figures) == 1:
                assert figures[0] in q["answer_contains"], (q["id"], figures)
            else:
                assert sorted(figures) == sorted(q["answer_any"]), (q["id"], figures)
            checked += 1
    assert checked >= 10


def test_alternatives_are_only_used_for_quantities(questions):
    for q in questions:
        if "answer_any" in q:
            assert any("household" in ref for ref in q["evidence"]), q["id"]


def test_clarification_choices_come_from_the_candidate_records(questions, shared_dir):
    for q in questions:
        if q["expect"] != "clarify" or not q["choices"]:
            continue
        offered = {_choice_label(q["slot"], ref, shared_dir) for ref in q["evidence"]}
        assert set(q["choices"]) <= offered, (q["id"], q["choices"], offered)
        assert len(q["choices"]) >= 2, q["id"]


def test_every_source_the_tenant_loads_is_asked_about(questions):
    sources = yaml.safe_load(TENANT_YAML.read_text(encoding="utf-8"))["sources"]
    referenced = Counter(ref["file"].split("/")[0] for q in questions for ref in q["evidence"])
    for source in sources:
        folder = Path(source["path"]).name if source["loader"] != "text_document" else "seed"
        assert referenced[folder] >= 10, (folder, referenced[folder])


def test_sources_not_loaded_today_are_marked(questions, shared_dir):
    unloaded = [q for q in questions if q["kind"] == "evacuation_site"]
    assert len(unloaded) >= 5 and all(q.get("source_loaded") is False for q in unloaded)
    assert all(evidence_path(shared_dir, ref).parent.parent.name == "gsi-evacuation-sites-tokyo"
               for q in unloaded for ref in q["evidence"])


def test_the_questions_file_is_where_the_readme_says(questions):
    assert QUESTIONS_PATH.parts[-3:] == ("eval", "tokyo", "residents.jsonl")
    assert (QUESTIONS_PATH.parent / "README.md").exists()


def _household_figures(q: dict, shared_dir: Path) -> set[str]:
    return {household_quantity(shared_dir, ref, days)
            for ref in q["evidence"] if "household" in ref for days in ref["days"]}


def _choice_label(slot: str, ref: dict, shared_dir: Path) -> str:
    if slot == "municipality":
        folder = ref["file"].split("/")[0]
        if folder in GARBAGE_MUNICIPALITY:
            return GARBAGE_MUNICIPALITY[folder]
        return "国（全国共通）" if ref["file"].endswith("japan__systemsdata.json") else "渋谷区"
    if slot == "area":
        return ref["area"]
    return _record_title(ref, shared_dir)


def _record_title(ref: dict, shared_dir: Path) -> str:
    path = evidence_path(shared_dir, ref)
    for record in json.loads(path.read_text(encoding="utf-8"))["systemsData"]:
        if record["サービスID"] == ref["service_id"]:
            return record.get("タイトル（制度名）") or record.get("幼稚園•保育園のタイトル")
    raise LookupError(ref["service_id"])
