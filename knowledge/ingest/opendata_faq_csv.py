"""The Digital Agency's standard open-data FAQ CSV (自治体標準オープンデータセット「よくある質問」).

Any municipality that publishes its FAQ in this layout can load it without code. Columns are found by their
standard names (全国地方公共団体コード, ID, 地方公共団体名, 分類, 質問, 回答, 回答日 …) or common variants; the tenant YAML
may map its own header names with `columns: {question: …, answer: …}`. UTF-8 (with or without BOM) and
Shift_JIS/CP932 are accepted. A row without 質問 or 回答 is reported with its line and skipped.
A directory loads every .csv file in it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from knowledge.documents import IngestProblem, SourceDocument
from knowledge.ingest.base import Item, citation_fields, register
from knowledge.ingest.readers import CsvRow, id_prefix, iter_csv

# Standard column names first, then variants seen in municipal files.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "question": ("質問", "質問内容", "問", "Question", "question"),
    "answer": ("回答", "回答内容", "答", "Answer", "answer"),
    "id": ("ID", "NO", "No", "No.", "番号", "id"),
    "code": ("全国地方公共団体コード", "地方公共団体コード"),
    "municipality": ("地方公共団体名", "自治体名"),
    "category": ("分類", "カテゴリ", "カテゴリー", "大分類", "中分類", "小分類"),
    "date": ("回答日", "更新日", "最終更新日", "公開日", "登録日", "作成日"),
    "url": ("URL", "参照URL", "関連URL", "url"),
    "department": ("所管部署", "担当部署", "担当課", "問い合わせ先"),
    "note": ("備考",),
}


@register("opendata_faq_csv")
def load_opendata_faq_csv(path: Path, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    for file in files:
        yield from _load_file(file, tenant, options, id_prefix(file, options))


def _load_file(file: Path, tenant: str, options: dict[str, Any], prefix: str) -> Iterator[Item]:
    columns: dict[str, list[str]] | None = None
    seen: set[str] = set()
    for row in iter_csv(file, options.get("encoding", "auto")):
        if isinstance(row, IngestProblem):
            yield row
            continue
        if columns is None:
            columns = _columns(row.values, options)
            missing = [f"{key} ({'/'.join(COLUMN_NAMES[key][:2])})"
                       for key in ("question", "answer") if not columns[key]]
            if missing:
                yield IngestProblem(str(file), 1, f"missing column(s): {', '.join(missing)}; file skipped")
                return
        yield _faq(row, columns, file, tenant, options, prefix, seen)


def _columns(values: dict[str, str], options: dict[str, Any]) -> dict[str, list[str]]:
    """For each field, the header names present in this file (configured names take precedence)."""
    configured = options.get("columns") or {}
    found = {}
    for key, names in COLUMN_NAMES.items():
        wanted = [configured[key]] if key in configured else list(names)
        found[key] = [name for name in wanted if name in values]
    return found


def _faq(row: CsvRow, columns: dict[str, list[str]], file: Path, tenant: str, options: dict[str, Any], prefix: str,
         seen: set[str]) -> Item:
    def value(key: str) -> str:
        return next((row.values[c] for c in columns[key] if row.values.get(c)), "")

    question, answer = value("question"), value("answer")
    if not question or not answer:
        return IngestProblem(str(file), row.line, f"row without {'質問' if not question else '回答'}; skipped")
    doc_id = _unique(f"{prefix}:{value('id') or question}", seen)
    note = value("note")
    shared = citation_fields(options)
    return SourceDocument(
        doc_id=doc_id, tenant=tenant, title=question, body=answer + (f"\n備考: {note}" if note else ""), kind="faq",
        citation=f"{file.name}:{row.line}",
        meta={"file": file.name, "line": row.line, "category": value("category") or None,
              "municipality": value("municipality") or None, "municipality_code": value("code") or None,
              "department": value("department") or None},
        **{**shared, "url": value("url") or shared["url"], "as_of": value("date") or shared["as_of"]},
    )


def _unique(doc_id: str, seen: set[str]) -> str:
    candidate, counter = doc_id, 2
    while candidate in seen:
        candidate, counter = f"{doc_id}#{counter}", counter + 1
    seen.add(candidate)
    return candidate
