"""The Tokyo residents' question set (eval/tokyo/residents.jsonl): load it, split it, and read the official record
each evidence reference points to in ../shared. Standard library only, so any floor (tests, bench, the CLI) can use
it. The format is described in eval/tokyo/README.md.

    python -m eval.tokyo_questions --resplit   # rewrite the "split" field after adding or editing questions
"""
from __future__ import annotations

import argparse
import csv
import json
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Sequence

QUESTIONS_PATH = Path(__file__).resolve().parent / "tokyo" / "residents.jsonl"
SPLITS = ("calibrate", "report")
LANGUAGES = ("ja", "en", "zh", "ko")
EXPECTS = ("answer", "clarify", "handover")
KINDS = ("garbage_sorting", "garbage_collection_day", "disaster_stockpile", "hazard_map", "support_program",
         "nursery", "ai_strategy", "evacuation_site", "unanswerable", "request_human", "vague")
STYLES = ("one_word", "no_ward", "no_area", "typo", "kana_variant", "reading", "synonym", "fullwidth_digits",
          "chome_format", "long_story", "follow_up", "casual", "polite", "staff_word", "household_size",
          "multi_record", "out_of_coverage", "personal_case")

# Folder of a 5374 garbage dictionary → the municipality it belongs to (as config/tenants/tokyo.yaml names it).
GARBAGE_MUNICIPALITY = {"tokyo-setagaya-5374-garbage": "世田谷区", "tokyo-meguro-5374-garbage": "目黒区",
                        "tokyo-hachioji-5374-garbage": "八王子市"}
HOUSEHOLD_GROUPS = ("infants", "child1", "child2", "adult", "aged")  # 東京備蓄ナビ: 0–2歳, 3歳〜小6, 中学生以上, …


def load_questions(path: Path = QUESTIONS_PATH) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def split_of(questions: Iterable[dict], split: str) -> list[dict]:
    return [q for q in questions if q["split"] == split]


# --- the split: deterministic and stratified ---------------------------------------------------------------------
def assign_splits(questions: Sequence[dict]) -> dict[str, str]:
    """id → split, a pure function of the file. A question with a "pinned_split" keeps it and takes no part in the
    balancing below: it was written after the assistant's failures were seen (so it is always "calibrate"), and
    leaving it out keeps every other question's half exactly as it was before it was added.

    The others: questions sharing a "group" (a clarification and its continuation) form one unit. Units are
    stratified by (kind, language); inside a stratum they are taken largest first, then by their styles from the
    rarest in the file to the commonest, then expect, then id. Each unit goes to the half that has fewer questions
    of its stratum so far; ties go to the half with fewer of its language, then of its kind, then with fewer of its
    styles (summed), then fewer of its expected behaviour, then fewer overall, then "calibrate". So both halves get
    the same mix of kinds, languages, styles and expected behaviours."""
    assigned = {q["id"]: q["pinned_split"] for q in questions if q.get("pinned_split")}
    assigned.update(_balanced_splits([q for q in questions if not q.get("pinned_split")]))
    return assigned


def pinned(questions: Iterable[dict]) -> list[dict]:
    """The questions written after failures were seen, pinned to the half they may be tuned on."""
    return [q for q in questions if q.get("pinned_split")]


def _balanced_splits(questions: Sequence[dict]) -> dict[str, str]:
    frequency = Counter(style for question in questions for style in question["style"])
    counts: Counter = Counter()
    assigned: dict[str, str] = {}
    for _, units in sorted(_strata(questions).items()):
        for unit in sorted(units, key=lambda u: _unit_order(u, frequency)):
            half = min(SPLITS, key=lambda h: _imbalance(counts, unit[0], h))
            for question in unit:
                assigned[question["id"]] = half
            for tally in [*_tallies(unit[0]), *(("style", s) for s in unit[0]["style"])]:
                counts[(*tally, half)] += len(unit)
    return assigned


def _strata(questions: Sequence[dict]) -> dict[tuple[str, str], list[list[dict]]]:
    units: dict[str, list[dict]] = defaultdict(list)
    for question in questions:
        units[question.get("group") or question["id"]].append(question)
    strata: dict[tuple[str, str], list[list[dict]]] = defaultdict(list)
    for unit in units.values():
        strata[(unit[0]["kind"], unit[0]["language"])].append(unit)
    return strata


def _unit_order(unit: list[dict], frequency: Counter) -> tuple:
    first = unit[0]
    rarest_first = sorted((frequency[style], style) for style in first["style"])
    return (-len(unit), rarest_first, first["expect"], first["id"])


def _tallies(question: dict) -> list[tuple]:
    return [("stratum", question["kind"], question["language"]), ("language", question["language"]),
            ("kind", question["kind"]), ("expect", question["expect"]), ("all",)]


def _imbalance(counts: Counter, question: dict, half: str) -> tuple:
    """How full `half` already is for this question, most important first (smaller is emptier)."""
    other = SPLITS[1 - SPLITS.index(half)]
    stratum, language, kind, expect, overall = (counts[(*tally, half)] for tally in _tallies(question))
    styles = sum(counts[("style", s, half)] - counts[("style", s, other)] for s in question["style"])
    return (stratum, language, kind, styles, expect, overall, SPLITS.index(half))


# --- evidence: the official text a reference points to ----------------------------------------------------------
def evidence_path(shared_dir: Path, ref: dict) -> Path:
    """"seed/…" is relative to ../shared, every other file to ../shared/data/tokyo."""
    base = shared_dir if ref["file"].startswith("seed/") else shared_dir / "data" / "tokyo"
    return base / ref["file"]


def evidence_text(shared_dir: Path, ref: dict) -> str:
    """The text of the record (or cell, or lines) a reference points to; LookupError when it does not resolve."""
    path = evidence_path(shared_dir, ref)
    if not path.exists():
        raise LookupError(f"no such file: {ref['file']}")
    name = path.name
    if name == "target.csv":
        return _garbage_row(path, ref["row_name"])
    if name == "area_days.csv":
        return _collection_cell(path, ref["area"], ref["column"])
    if name == "stockpile_items.json":
        return _stockpile_item(path, ref["id"])
    if name.startswith("hazardmap_links"):
        return _hazard_link(path, ref["municipality"], ref.get("field"))
    if name.endswith("__systemsdata.json"):
        return _service_field(path, ref["service_id"], ref.get("field"))
    if path.parent.parent.name == "gsi-evacuation-sites-tokyo":
        return _evacuation_site(path, ref.get("name"), ref.get("field"))
    if path.suffix == ".txt":
        return _lines(path, ref["lines"])
    raise LookupError(f"no reader for {ref['file']}")


def _garbage_row(path: Path, row_name: str) -> str:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    for row in rows[1:]:
        if len(row) >= 2 and row[1].strip() == row_name:
            return " ".join([GARBAGE_MUNICIPALITY[path.parent.name], *row[:3]])
    raise LookupError(f"{path.parent.name}: no item {row_name!r}")


def _collection_cell(path: Path, area: str, column: str) -> str:
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["地名"] == area:
                if column not in row:
                    raise LookupError(f"{path.parent.name}: no column {column!r}")
                cell = row[column]
                return " ".join([GARBAGE_MUNICIPALITY[path.parent.name], area, column, cell, *day_words(cell)])
    raise LookupError(f"{path.parent.name}: no area {area!r}")


def day_words(cell: str) -> list[str]:
    """How a 5374 day code reads: 「月 木」 → 月/月曜/月曜日 …, 「火2 火4」 → 第2, 第4, 「隔水20150114」 → 隔週 (every
    other Wednesday from that date)."""
    words = []
    for code in cell.split():
        biweekly = code.startswith("隔")
        day = code[1] if biweekly else code[0]
        words += [day, f"{day}曜", f"{day}曜日"]
        if biweekly:
            words.append("隔週")
        elif code[1:].isdigit():
            words.append(f"第{code[1:]}")
    return words


def _stockpile_items(path: Path) -> dict[int, dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {item["id"]: item for item in data["stockpileList"] + data["petStockpileList"]}


def _stockpile_item(path: Path, item_id: int) -> str:
    item = _stockpile_items(path).get(item_id)
    if item is None:
        raise LookupError(f"no stockpile item {item_id}")
    parts = [item["item"], item["category"], item.get("unit", {}), item["description"]]
    return " ".join(text for part in parts for text in part.values())


def household_quantity(shared_dir: Path, ref: dict, days: int) -> str:
    """東京備蓄ナビ's per-person daily figure × the household × days."""
    item = _stockpile_items(evidence_path(shared_dir, ref))[ref["id"]]
    required = item.get("required")
    if not required:
        raise LookupError(f"stockpile item {ref['id']} has no per-person figure")
    total = Decimal(0)
    for member, count in ref["household"].items():
        total += _per_person(required, member) * count
    return format((total * days).normalize(), "f")  # 27, 25.2, 8.4: as a resident would read it


def _per_person(required: dict, member: str) -> Decimal:
    if member in required:
        return Decimal(str(required[member]))
    if member not in HOUSEHOLD_GROUPS:
        raise LookupError(f"unknown household member {member!r}")
    male, female = Decimal(str(required[f"{member}Male"])), Decimal(str(required[f"{member}Female"]))
    if male != female:
        raise LookupError(f"{member}: figures differ by sex; name {member}Male or {member}Female")
    return male


def _hazard_link(path: Path, municipality: str, field: str | None) -> str:
    for city in json.loads(path.read_text(encoding="utf-8"))["cities"]:
        if city["name"]["ja"] == municipality:
            if field is not None and field not in city:
                raise LookupError(f"{municipality}: no field {field!r}")
            links = [city[field]] if field else [city[k] for k in ("tsunami", "kozui", "dosya", "hanran",
                                                                     "takashio", "kazan")]
            return " ".join([*city["name"].values(), *links])
    raise LookupError(f"no municipality {municipality!r} in the hazard-map links")


def _service_field(path: Path, service_id: str, field: str | None) -> str:
    for record in json.loads(path.read_text(encoding="utf-8"))["systemsData"]:
        if record["サービスID"] == service_id:
            title = record.get("タイトル（制度名）") or record.get("幼稚園•保育園のタイトル") or ""
            if field is None:
                return " ".join(str(v) for v in record.values() if v)
            if field not in record:
                raise LookupError(f"{service_id}: no field {field!r}")
            return f"{title} {record[field] or ''}"
    raise LookupError(f"{path.name}: no service {service_id!r}")


def _evacuation_site(path: Path, name: str | None, field: str | None) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    if name is None:  # the municipality's whole file (e.g. one that published no list: type "unavailable")
        return " ".join(str(data.get(k, "")) for k in ("type", "name", "message"))
    for feature in data.get("features", []):
        props = feature["properties"]
        if props["施設・場所名"] == name:
            if field is not None and field not in props:
                raise LookupError(f"{name}: no field {field!r}")
            flags = [key for key, value in props.items() if value == "1"]
            return " ".join([props["施設・場所名"], props["住所"], props.get("備考", ""), *flags])
    raise LookupError(f"{path.name}: no site {name!r}")


def _lines(path: Path, span: Sequence[int]) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    first, last = span
    if not 1 <= first <= last <= len(lines):
        raise LookupError(f"{path.name}: lines {first}–{last} outside 1–{len(lines)}")
    return "\n".join(lines[first - 1:last])


# --- command line -----------------------------------------------------------------------------------------------
def resplit(path: Path = QUESTIONS_PATH) -> None:
    questions = load_questions(path)
    splits = assign_splits(questions)
    with path.open("w", encoding="utf-8") as handle:
        for question in questions:
            question["split"] = splits[question["id"]]
            handle.write(json.dumps(question, ensure_ascii=False) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resplit", action="store_true", help="rewrite the split field by the documented rule")
    parser.add_argument("--path", type=Path, default=QUESTIONS_PATH)
    args = parser.parse_args(argv)
    if args.resplit:
        resplit(args.path)
    for split in SPLITS:
        print(split, len(split_of(load_questions(args.path), split)))


if __name__ == "__main__":
    main()
