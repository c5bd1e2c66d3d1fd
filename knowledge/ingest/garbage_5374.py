"""5374.jp garbage data folders (target.csv, area_days.csv, description.csv, center.csv).

target.csv gives one document per item (its category and notice); area_days.csv one document per area with its
collection days written as readable Japanese. Forks of 5374 differ: the category column is `type` or `label`, the
centre column may be renamed or empty, and Hachioji writes fortnightly days as 隔<weekday><YYYYMMDD start>.
remarks.csv is ignored: in these forks it is a leftover of the template that names another ward's areas.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any, Iterator

from knowledge.documents import IngestProblem, SourceDocument
from knowledge.ingest.base import Item, citation_fields, register
from knowledge.ingest.readers import CsvRow, id_prefix, iter_csv

CATEGORY_COLUMNS = ("type", "label", "category", "分別区分")
NAME_COLUMNS = ("name", "品目")
NOTICE_COLUMNS = ("notice", "注意", "備考")
AREA_COLUMNS = ("地名", "area")
WEEKDAYS = "月火水木金土日"

WEEKLY = re.compile(rf"^([{WEEKDAYS}])$")
NTH_WEEK = re.compile(rf"^([{WEEKDAYS}])([1-5])$")
FORTNIGHTLY = re.compile(rf"^隔([{WEEKDAYS}])(\d{{8}})$")
ONE_DATE = re.compile(r"^(\d{8})$")
KANJI_DIGITS = {k: str(v) for v, k in enumerate("一二三四五六七八九", start=1)} | {"十": "10"}
CHOME_AREA = re.compile(r"^(?P<base>.*?\D)(?P<numbers>\d+(?:(?:・|~|〜|から)\d+)*)$")


@register("garbage_5374")
def load_garbage_5374(path: Path, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    source = _Source(path, tenant, options)
    yield from source.items()
    yield from source.areas()


class _Source:
    """One 5374 folder and the settings shared by its documents."""

    def __init__(self, path: Path, tenant: str, options: dict[str, Any]):
        self.path, self.tenant = path, tenant
        self.municipality = str(options.get("municipality") or path.name)
        self.prefix = id_prefix(path, options)
        self.shared = citation_fields(options)
        self.encoding = options.get("encoding", "auto")
        self.aliases = {str(k): str(v) for k, v in (options.get("category_aliases") or {}).items()}
        self.seen_ids: set[str] = set()

    # --- target.csv: one document per item -------------------------------------------------------------------
    def items(self) -> Iterator[Item]:
        target = self.path / "target.csv"
        notes = self._category_notes()
        rows = list(iter_csv(target, self.encoding, required=("name",)))
        known = {self.aliases.get(c, c) for row in rows if isinstance(row, CsvRow)
                 for c in [_first(row.values, CATEGORY_COLUMNS)] if c}
        for row in rows:
            if isinstance(row, IngestProblem):
                yield row
                continue
            yield self._item(target, row, notes, known)

    def _item(self, target: Path, row: CsvRow, notes: dict[str, str], known: set[str]) -> Item:
        written = name = _first(row.values, NAME_COLUMNS)
        category = _first(row.values, CATEGORY_COLUMNS)
        category = self.aliases.get(category, category)
        if name and not category:
            name, category = _category_typed_into_name(name, known)
        if not name or not category:
            missing = "item name" if not name else "category (type/label)"
            return IngestProblem(str(target), row.line, f"no {missing}; row skipped")
        notice = _first(row.values, NOTICE_COLUMNS)
        lines = [f"品目: {name}", f"分別区分: {category}"]
        lines += [f"注意: {notice}"] if notice else []
        lines += [f"{category}について: {notes[category]}"] if notes.get(category) else []
        return self._document(
            key=name, alternative=f"{name}（{category}）", title=f"{self.municipality}: {name}", body="\n".join(lines),
            kind="garbage_item", file=target, line=row.line,
            meta={"item": name, "category": category, "notice": notice or None,
                  **({"source_name": written} if written != name else {})},
        )

    def _category_notes(self) -> dict[str, str]:
        # description.csv may explain a category (label, sublabel, description); in these forks it is mostly empty.
        notes, description = {}, self.path / "description.csv"
        for row in iter_csv(description, self.encoding) if description.exists() else ():
            if isinstance(row, CsvRow):
                text = " ".join(v for v in (row.values.get("sublabel"), row.values.get("description")) if v)
                if row.values.get("label") and text:
                    notes[row.values["label"]] = text
        return notes

    # --- area_days.csv: one document per area ----------------------------------------------------------------
    def areas(self) -> Iterator[Item]:
        area_file = self.path / "area_days.csv"
        if not area_file.exists():
            return
        closures, self.closure_dates = self._centre_closures(), self._closure_dates()
        for row in iter_csv(area_file, self.encoding):
            if isinstance(row, IngestProblem):
                yield row
                continue
            yield from self._area(area_file, row, closures)

    def _area(self, area_file: Path, row: CsvRow, closures: dict[str, str]) -> Iterator[Item]:
        # The area is the column named 地名 (or the first column when a fork renames it).
        area_column = next((c for c in AREA_COLUMNS if c in row.values), next(iter(row.values)))
        area = row.values[area_column]
        if not area:
            yield IngestProblem(str(area_file), row.line, "no area name; row skipped")
            return
        centre_column = next((c for c in row.values if c.startswith("センター") or c == "center"), None)
        lines, raw, rendered_days = [f"地域: {area}"], {}, {}
        chome = expand_chome(area)
        lines += [f"丁目: {'、'.join(chome)}"] if chome else []
        for column, cell in row.values.items():
            if column in (area_column, centre_column) or not cell:
                continue
            rendered, warnings = render_days(cell)
            lines.append(f"{column}: {rendered}")
            raw[column], rendered_days[column] = cell, rendered
            for warning in warnings:
                yield IngestProblem(str(area_file), row.line, f"{column} {warning} (document kept)")
        centre = row.values.get(centre_column or "", "")
        if centre:
            lines.append(f"担当: {centre}" + (f"（{closures[centre]}）" if closures.get(centre) else ""))
        yield self._document(
            key=f"area:{area}", alternative=None, title=f"{self.municipality} {area}のごみ収集日",
            body="\n".join(lines), kind="garbage_days", file=area_file, line=row.line,
            meta={"area": area, "chome": chome, "centre": centre or None, "days": raw, "days_text": rendered_days,
                  "closure": self.closure_dates.get(centre) if centre else None},
        )

    def _centre_closures(self) -> dict[str, str]:
        centre_file = self.path / "center.csv"
        closures = {}
        for row in iter_csv(centre_file, self.encoding) if centre_file.exists() else ():
            if isinstance(row, CsvRow) and row.values.get("名称") and row.values.get("休止開始日"):
                end = row.values.get("休止終了日") or row.values["休止開始日"]
                closures[row.values["名称"]] = f"{row.values['休止開始日']}〜{end}は収集休止"
        return closures

    def _closure_dates(self) -> dict[str, dict[str, str]]:
        """Each centre's collection pause as ISO dates, so an answer can leave out a pause that has passed."""
        centre_file, dates = self.path / "center.csv", {}
        for row in iter_csv(centre_file, self.encoding) if centre_file.exists() else ():
            start = row.values.get("休止開始日") if isinstance(row, CsvRow) else None
            if start and row.values.get("名称"):
                end = row.values.get("休止終了日") or start
                dates[row.values["名称"]] = {"start": start.replace("/", "-"), "end": end.replace("/", "-")}
        return dates

    # --- shared ------------------------------------------------------------------------------------------------
    def _document(self, *, key: str, alternative: str | None, title: str, body: str, kind: str, file: Path,
                  line: int, meta: dict[str, Any]) -> SourceDocument:
        doc_id = self._unique_id(key, alternative)
        relative = f"{self.path.name}/{file.name}"
        return SourceDocument(
            doc_id=doc_id, tenant=self.tenant, title=title, body=body, kind=kind, citation=f"{relative}:{line}",
            meta={"municipality": self.municipality, "file": relative, "line": line, **meta}, **self.shared,
        )

    def _unique_id(self, key: str, alternative: str | None) -> str:
        # Natural keys are unique in the data seen so far; a repeated item name falls back to name + category.
        candidates = [f"{self.prefix}:{key}"] + ([f"{self.prefix}:{alternative}"] if alternative else [])
        doc_id = next((c for c in candidates if c not in self.seen_ids), None)
        counter = 2
        while doc_id is None:
            numbered = f"{candidates[-1]}#{counter}"
            doc_id = numbered if numbered not in self.seen_ids else None
            counter += 1
        self.seen_ids.add(doc_id)
        return doc_id


def _category_typed_into_name(name: str, known: set[str]) -> tuple[str, str]:
    """「櫛(木製・竹製・プラスチック製) 可燃ごみ」 with an empty category column: the category was typed after the name.
    Only a category the file itself uses counts; otherwise the row stays without one (and is reported)."""
    head, _, tail = re.sub(r"\s+", " ", name).strip().rpartition(" ")
    return (head, tail) if head and tail in known else (name, "")


def _first(values: dict[str, str], columns: tuple[str, ...]) -> str:
    return next((values[c] for c in columns if values.get(c)), "")


def expand_chome(area: str) -> list[str]:
    """The 丁目 an area name covers, in digits: 「赤堤1・3～5」→ 赤堤1丁目, 赤堤3丁目, 赤堤4丁目, 赤堤5丁目.

    Residents write 「青葉台2丁目」 where the data says 「青葉台一丁目から四丁目」; spelling each 丁目 out lets both match.
    Names with a qualifier (番地, 除く) or without numbers return [].
    """
    text = unicodedata.normalize("NFKC", area)
    text = re.sub(r"([一二三四五六七八九十])丁目", lambda m: KANJI_DIGITS[m.group(1)] + "丁目", text)
    match = CHOME_AREA.match(text.replace("丁目", ""))
    if not match:
        return []
    numbers: list[int] = []
    for part in match.group("numbers").split("・"):
        bounds = [int(n) for n in re.split(r"~|〜|から", part)]
        numbers += list(range(bounds[0], bounds[-1] + 1))
    return [f"{match.group('base')}{n}丁目" for n in numbers]


def render_days(cell: str) -> tuple[str, list[str]]:
    """5374 day codes as Japanese: 「水 土」→ 毎週水曜・土曜, 「月2 月4」→ 第2・第4月曜, 「隔水20150114」→ 隔週水曜（…から）.

    Returns the text and warnings for codes that could only be rendered in part (e.g. an impossible start date).
    """
    weekly, nth, others, warnings = [], {}, [], []
    for token in cell.split():
        if match := WEEKLY.match(token):
            weekly.append(match.group(1))
        elif match := NTH_WEEK.match(token):
            nth.setdefault(match.group(1), []).append(match.group(2))
        elif match := FORTNIGHTLY.match(token):
            text, warning = _fortnightly(match.group(1), match.group(2))
            others.append(text)
            warnings += [f"{token}: {warning}"] if warning else []
        elif match := ONE_DATE.match(token):
            day = _parse_date(match.group(1))
            others.append(_japanese_date(day) if day else token)
        else:
            others.append(token)
            warnings.append(f"{token}: unknown day code, kept as written")
    parts = [f"毎週{'・'.join(d + '曜' for d in weekly)}"] if weekly else []
    parts += ["・".join(f"第{n}" for n in numbers) + f"{day}曜" for day, numbers in nth.items()]
    return "、".join(parts + others), warnings


def _fortnightly(weekday: str, start_code: str) -> tuple[str, str | None]:
    start = _parse_date(start_code)
    if start is None:
        return f"隔週{weekday}曜", "impossible start date; rendered without it"
    if WEEKDAYS[start.weekday()] != weekday:
        return f"隔週{weekday}曜", f"start date is a {WEEKDAYS[start.weekday()]}曜, not {weekday}曜; rendered without it"
    return f"隔週{weekday}曜（{_japanese_date(start)}から2週間ごと）", None


def _parse_date(code: str) -> date | None:
    try:
        return date(int(code[:4]), int(code[4:6]), int(code[6:8]))
    except ValueError:
        return None


def _japanese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"

