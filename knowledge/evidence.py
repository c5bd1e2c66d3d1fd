"""Which index documents an evaluation row's evidence points at.

A labelled Tokyo question names its evidence as the source file and the row in it, the way a person reading the
open data would: `{"file": "tokyo-setagaya-5374-garbage/target.csv", "row_name": "コルク栓"}`, `{"file": …
"area_days.csv", "area": "三宿1"}`, `{"file": …, "service_id": "…"}`, `{"file": …, "id": 58}`, `{"file": …,
"municipality": "江東区"}`, a site of an evacuation list (`{"file": "gsi-evacuation-sites-tokyo/evacuation/131121.json",
"name": "三宿小学校"}`: the municipality's record, which merges its emergency and evacuation files), or a line number
(`"line"` / `"row"`). Every document carries its source file and row
(its citation and `meta`), so the evidence is resolved against the index itself and the labels never carry the
index's own ids (which a loader may change).
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from knowledge.documents import SourceDocument

# Evidence keys that name the row, and the document fields that may hold the same value.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "row_name": ("item", "program", "area", "source_name"),  # source_name: the row's name as written, when repaired
    "item": ("item", "program"),
    "area": ("area",),
    "service_id": ("doc_id",),
    "id": ("stockpile_id",),
    "municipality": ("municipality",),
}
LINE_KEYS = ("line", "row", "line_start")


def _source_path(doc: SourceDocument) -> str:
    """The document's source file as its citation names it (folder/file), else its meta's file."""
    cited = re.sub(r":\d+$", "", (doc.citation or "").split(" ", 1)[0])
    meta_file = str(doc.meta.get("file") or "")
    return cited if "/" in cited or not meta_file else meta_file


def _source_paths(doc: SourceDocument) -> list[str]:
    """Every source file of the document: a record merged from several files (a municipality's evacuation sites:
    its emergency and its evacuation list) lists them all in meta["files"]; the citation names only the first."""
    return [_source_path(doc)] + [str(f) for f in doc.meta.get("files") or [] if isinstance(f, str)]


def file_matches(doc: SourceDocument, file: str) -> bool:
    """The document comes from `file` (folder/file relative to the data folder, or just the file's name)."""
    return any(_path_matches(path, file) for path in _source_paths(doc))


def _path_matches(path: str, file: str) -> bool:
    if "/" in file and "/" in path:
        return path == file or path.endswith("/" + file) or file.endswith("/" + path)
    return path.rsplit("/", 1)[-1] == file.rsplit("/", 1)[-1]


def _site_names(doc: SourceDocument) -> set[str]:
    """The names of the sites an evacuation record lists (both its lists)."""
    return {str(site.get("name")) for key in ("emergency", "evacuation") for site in doc.meta.get(key) or []
            if isinstance(site, dict)}


def _row_values(doc: SourceDocument) -> dict[str, str]:
    values = {k: str(v) for k, v in doc.meta.items() if isinstance(v, (str, int)) and not isinstance(v, bool)}
    values["doc_id"] = doc.doc_id
    citation = doc.citation or ""
    if " id=" in citation:
        values["stockpile_id"] = citation.rsplit(" id=", 1)[1]
    if "=" in citation:
        values.setdefault("doc_id", citation.rsplit("=", 1)[1])
    return values


def _line_of(doc: SourceDocument) -> int | None:
    line = doc.meta.get("line") or doc.meta.get("line_start")
    return int(line) if isinstance(line, int) else None


def matches(doc: SourceDocument, evidence: Mapping[str, Any]) -> bool:
    """The document is the row the evidence names (file and every row key given agree)."""
    if evidence.get("doc_id") is not None:
        return doc.doc_id == str(evidence["doc_id"])
    if not evidence.get("file") or not file_matches(doc, str(evidence["file"])):
        return False
    values = _row_values(doc)
    named = False
    for key, fields in ROW_KEYS.items():
        if evidence.get(key) is None:
            continue
        named = True
        wanted = str(evidence[key])
        if not any(values.get(f) == wanted for f in fields):
            return False
    if evidence.get("name") is not None:  # a site of an evacuation list: the record that lists it
        named = True
        if str(evidence["name"]) not in _site_names(doc):
            return False
    if evidence.get("lines") is not None:  # a span of a text document: the passages it overlaps
        named = True
        first, last = (int(n) for n in evidence["lines"])
        start, end = doc.meta.get("line_start"), doc.meta.get("line_end")
        if not (isinstance(start, int) and isinstance(end, int) and start <= last and first <= end):
            return False
    for key in LINE_KEYS:
        if evidence.get(key) is None:
            continue
        named = True
        line, wanted = _line_of(doc), int(evidence[key])
        end = doc.meta.get("line_end")
        if line is None or not (line == wanted or (isinstance(end, int) and line <= wanted <= end)):
            return False
    return named


def resolve(evidence: Mapping[str, Any] | Iterable[Mapping[str, Any]], docs: Iterable[SourceDocument]) -> list[str]:
    """The doc ids of every document the evidence (one reference or a list of them) names."""
    references = [evidence] if isinstance(evidence, Mapping) else list(evidence)
    return [doc.doc_id for doc in docs if any(matches(doc, ref) for ref in references)]
