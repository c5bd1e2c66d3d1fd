"""PDF files as municipalities publish them, split by headings and page; each passage cites its file and page.

Text and tables come from pdfplumber (pdfminer.six underneath), because fee and eligibility tables must stay
readable: every table row is written out with its column names (knowledge.ingest.tables). Japanese PDFs get:
- vertical text (縦書き) read column by column, right to left;
- full-width letters and digits, half-width katakana and CJK compatibility forms normalised (NFKC);
- lines wrapped inside a paragraph joined again (a word cut at a line end is found again);
- headers and footers repeated on most pages, and bare page numbers, removed;
- headings found by font size (larger than the body text) and by their form (第1章, 1., 【…】, as in text files).
A PDF without a text layer (a scan) is reported and skipped: it needs OCR, and an empty document would only hide
that. The citation links to `<url>#page=N` when the source (or the website it was linked from) gives the URL.
A directory loads every .pdf in it.
"""
from __future__ import annotations

import io
import logging
import re
import statistics
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.documents import IngestProblem, SourceDocument
from knowledge.ingest.base import Item, citation_fields, register
from knowledge.ingest.dates import pdf_date, printed_date
from knowledge.ingest.tables import table_lines
from knowledge.ingest.text_document import MAX_CHARS, MIN_CHARS, HeadingSplitter, Line, Section, size_passages

# pdfminer reports every odd font at WARNING; a malformed file becomes an IngestProblem instead.
logging.getLogger("pdfminer").setLevel(logging.ERROR)

MARGIN_BAND = 0.09  # top and bottom share of the page where running headers, footers and page numbers sit
HEADING_SIZE_RATIO = 1.18  # a line this much larger than the body text is a heading
HEADING_MAX_CHARS = 50
MAX_HEADING_LEVELS = 3
SENTENCE_END = ("。", "．", "！", "？", ":", "：")
_PAGE_NUMBER = re.compile(r"^[-‐－–—ー(（\s]*(?:p\.?|P\.?)?\s*\d{1,4}\s*(?:/\s*\d{1,4}|ページ|頁)?[-‐－–—ー)）\s]*$")
_GENERIC_TITLES = re.compile(r"^(untitled|無題|microsoft (word|excel|powerpoint)\b.*|.*\.(docx?|xlsx?|pptx?|jtd))$",
                             re.IGNORECASE)
_LATIN_END = re.compile(r"[A-Za-z0-9,]$")


@dataclass
class PdfLine:
    text: str
    size: float
    top: float
    bottom: float
    kind: str = "text"  # text | table | vertical


@dataclass
class PdfPage:
    number: int
    height: float
    lines: list[PdfLine] = field(default_factory=list)
    has_images: bool = False


@dataclass
class PdfText:
    pages: list[PdfPage]
    title: str | None
    modified: str | None


@register("pdf_document")
def load_pdf_document(path: Path, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf") if path.is_dir() else [path]
    for file in files:
        relative = file.relative_to(path).as_posix() if path.is_dir() else file.name
        yield from pdf_items(file.read_bytes(), relative, tenant, options, url=_file_url(options, relative,
                                                                                          path.is_dir()))


def _file_url(options: dict[str, Any], relative: str, in_directory: bool) -> str | None:
    # One file: the source's `url`. A directory: `base_url` + the file's path inside it.
    if in_directory:
        base = options.get("base_url")
        return f"{base.rstrip('/')}/{relative}" if base else None
    return options.get("url")


def pdf_items(data: bytes, relative: str, tenant: str, options: dict[str, Any], *, url: str | None = None,
              fallback_as_of: str | None = None) -> Iterator[Item]:
    """Passages of one PDF (bytes), cited as `relative` page N and linked to `url#page=N`. The as-of date: the
    source's configured `as_of`, else a date the document prints (更新日 / …現在), else `fallback_as_of` (the
    website's Last-Modified), else the PDF's own modification date."""
    try:
        pdf = read_pdf(data)
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds of error on a damaged file
        yield IngestProblem(relative, None, f"not a readable PDF ({type(exc).__name__}: {exc}); skipped")
        return
    text_pages = [page for page in pdf.pages if page.lines]
    if not text_pages:
        scanned = " (its pages are images: a scan)" if any(p.has_images for p in pdf.pages) else ""
        yield IngestProblem(relative, None, f"no text layer{scanned}; skipped: it needs OCR before it can be indexed")
        return
    for page in pdf.pages:
        if not page.lines and page.has_images:
            yield IngestProblem(relative, None, f"page {page.number} has no text layer (a scanned page?); skipped")
    remove_running_lines(text_pages)
    as_of = options.get("as_of") or _printed_as_of(text_pages) or fallback_as_of or pdf.modified
    yield from _documents(text_pages, pdf.title, relative, tenant, options, url, as_of)


# --- reading pages ---------------------------------------------------------------------------------------------
def read_pdf(data: bytes) -> PdfText:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pages = [_read_page(page) for page in pdf.pages]
        meta = pdf.metadata or {}
    title = _clean(str(meta.get("Title") or "")).strip() or None
    if title and _GENERIC_TITLES.match(title):
        title = None
    return PdfText(pages, title, pdf_date(meta.get("ModDate") or meta.get("CreationDate")))


def _read_page(page: Any) -> PdfPage:
    tables = page.find_tables()
    boxes = [table.bbox for table in tables]
    chars = [c for c in page.chars if c["text"].strip() and not _inside(c, boxes)]
    vertical = _vertical_chars(chars)
    lines = _text_lines(page, chars, vertical) + _vertical_lines(page, chars, vertical)
    body = _body_size(chars)
    for table in tables:
        top, bottom = table.bbox[1], table.bbox[3]
        lines += [PdfLine(text, body, top + k * 0.01, bottom, "table") for k, text in
                  enumerate(table_lines(table.extract()))]
    lines.sort(key=lambda line: line.top)
    kept = [line for line in lines if line.text.strip()]
    return PdfPage(page.page_number, float(page.height), kept, bool(page.images))


def _inside(char: dict, boxes: list[tuple]) -> bool:
    x, y = (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2
    return any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)


def _key(char: dict) -> tuple:
    return round(char["x0"], 1), round(char["top"], 1), char["text"]


def _vertical_chars(chars: list[dict]) -> set[tuple]:
    """Characters written top to bottom: the next character of the text stream sits right below, same column."""
    found: set[tuple] = set()
    for first, second in zip(chars, chars[1:], strict=False):
        size = max(first["size"], 1.0)
        same_column = abs(first["x0"] - second["x0"]) < 0.25 * size
        below = 0 < second["top"] - first["top"] <= 1.6 * size and second["top"] >= first["bottom"] - 0.3 * size
        if same_column and below:
            found |= {_key(first), _key(second)}
    return found


def _only(page: Any, keep: set[tuple] | None, drop: set[tuple]) -> Any:
    def test(obj: dict) -> bool:
        if obj.get("object_type") != "char":
            return True
        key = _key(obj)
        return key not in drop and (keep is None or key in keep)

    return page.filter(test)


def _text_lines(page: Any, chars: list[dict], vertical: set[tuple]) -> list[PdfLine]:
    wanted = {_key(c) for c in chars if _key(c) not in vertical}
    if not wanted:
        return []
    rows = _only(page, wanted, vertical).extract_text_lines(return_chars=True)
    return [PdfLine(_clean(row["text"]), _median_size(row["chars"]), row["top"], row["bottom"]) for row in rows]


def _vertical_lines(page: Any, chars: list[dict], vertical: set[tuple]) -> list[PdfLine]:
    if not vertical:
        return []
    columns = _only(page, vertical, set()).extract_text_lines(
        return_chars=True, line_dir="rtl", char_dir="ttb", line_dir_render="ttb", char_dir_render="ltr")
    block_top = min((column["top"] for column in columns), default=0.0)
    # Columns are read right to left; the block keeps its place on the page (by its top), columns in order.
    return [PdfLine(_clean(column["text"]), _median_size(column["chars"]), block_top + k * 0.01,
                    column["bottom"], "vertical") for k, column in enumerate(columns)]


def _median_size(chars: list[dict]) -> float:
    return float(statistics.median(c["size"] for c in chars)) if chars else 0.0


def _body_size(chars: list[dict]) -> float:
    """The size most of the text is set in."""
    if not chars:
        return 0.0
    sizes = [round(c["size"] * 2) / 2 for c in chars]
    return max(set(sizes), key=sizes.count)


def _clean(text: str) -> str:
    # NFKC: ＡＢＣ１２３ → ABC123, ｶﾀｶﾅ → カタカナ, ⽇ (a Kangxi radical some PDFs use for 日) → 日.
    return re.sub(r"[ \t\u3000]+", " ", unicodedata.normalize("NFKC", text)).strip()


# --- running headers and footers -------------------------------------------------------------------------------
def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _in_margin(line: PdfLine, page: PdfPage) -> bool:
    return line.bottom <= page.height * MARGIN_BAND * 1.5 or line.top >= page.height * (1 - MARGIN_BAND)


def remove_running_lines(pages: list[PdfPage]) -> None:
    """Drop lines in the top or bottom band that recur (digits aside) on at least half of the pages, and bare page
    numbers there ("- 3 -", "3/10")."""
    counts: dict[str, int] = {}
    for page in pages:
        for shape in {_shape(line.text) for line in page.lines if _in_margin(line, page)}:
            counts[shape] = counts.get(shape, 0) + 1
    threshold = max(2, (len(pages) + 1) // 2)
    for page in pages:
        page.lines = [line for line in page.lines if not (_in_margin(line, page) and (
            counts.get(_shape(line.text), 0) >= threshold or _PAGE_NUMBER.match(line.text)))]


# --- from lines to passages ------------------------------------------------------------------------------------
def _printed_as_of(pages: list[PdfPage]) -> str | None:
    return printed_date("\n".join(line.text for page in pages[:2] for line in page.lines))


def _heading_levels(pages: list[PdfPage]) -> tuple[float, dict[float, int]]:
    sizes = [round(line.size * 2) / 2 for page in pages for line in page.lines
             for _ in range(max(1, len(line.text))) if line.kind == "text"]
    body = max(set(sizes), key=sizes.count) if sizes else 0.0
    larger = sorted({size for size in sizes if size >= body * HEADING_SIZE_RATIO}, reverse=True)
    return body, {size: min(level, MAX_HEADING_LEVELS) for level, size in enumerate(larger, start=1)}


def _is_heading(line: PdfLine, levels: dict[float, int]) -> int | None:
    level = levels.get(round(line.size * 2) / 2)
    if level is None or line.kind != "text" or len(line.text) > HEADING_MAX_CHARS or line.text.endswith("。"):
        return None
    return level


def _page_lines(page: PdfPage, levels: dict[float, int], first_number: int) -> list[Line]:
    """The page as numbered lines: headings marked as Markdown, wrapped lines joined, a blank line at each gap."""
    out: list[Line] = []
    previous: PdfLine | None = None
    number = first_number
    for line in page.lines:
        level = _is_heading(line, levels)
        gap = previous is not None and line.top - previous.bottom > 0.8 * max(previous.size, 1.0)
        if level or gap or line.kind != (previous.kind if previous else line.kind) or (previous and _is_heading(
                previous, levels)):
            out.append(Line(number, ""))
        elif out and out[-1].text and _continues(previous, line):
            joiner = " " if _LATIN_END.search(out[-1].text) and line.text[:1].isascii() else ""
            out[-1] = Line(out[-1].number, out[-1].text + joiner + line.text)
            previous = line
            continue
        out.append(Line(number, f"{'#' * level} {line.text}" if level else line.text))
        number += 1
        previous = line
    return out


def _continues(previous: PdfLine | None, line: PdfLine) -> bool:
    # A paragraph's line wrapped at the page width (or a column's at the page height): the line before did not end
    # a sentence, and neither is a table row.
    return (previous is not None and previous.kind == line.kind and line.kind in ("text", "vertical")
            and not previous.text.endswith(SENTENCE_END) and not re.match(r"^[・•●○◆■□※\-*(（0-9]", line.text))


def _documents(pages: list[PdfPage], meta_title: str | None, relative: str, tenant: str, options: dict[str, Any],
               url: str | None, as_of: str | None) -> Iterator[SourceDocument]:
    _, levels = _heading_levels(pages)
    lines, page_of = [], {}
    for page in pages:
        for line in _page_lines(page, levels, len(lines) + 1):
            page_of[line.number] = page.number
            lines.append(line)
    splitter = HeadingSplitter({"plain_headings": False, **options}, plain_text=True)
    doc_title, sections = splitter.split(lines, options.get("title") or meta_title)
    doc_title = doc_title or next((s.path[0] for s in sections if s.path), None) or Path(relative).stem
    min_chars, max_chars = int(options.get("min_chars", MIN_CHARS)), int(options.get("max_chars", MAX_CHARS))
    prefix = f"{options['id_prefix']}:" if options.get("id_prefix") else ""
    shared, seen = {**citation_fields(options), "as_of": as_of, "url": None}, set()
    for page_number, group in _by_page(sections, page_of):
        for passage in size_passages(group, min_chars, max_chars):
            if not passage.text.strip():
                continue
            heading = " > ".join(passage.path)
            yield SourceDocument(
                doc_id=_unique(f"{prefix}{relative}:p{page_number}:{heading or '本文'}", seen), tenant=tenant,
                title=_title(doc_title, passage.path), body=passage.text, kind="passage",
                **{**shared, "url": f"{url}#page={page_number}" if url else None},
                citation=f"{relative} p.{page_number}",
                meta={"file": relative, "page": page_number, "heading_path": list(passage.path),
                      "document_title": doc_title, "format": "pdf"},
            )


def _by_page(sections: list[Section], page_of: dict[int, int]) -> Iterator[tuple[int, list[Section]]]:
    """Sections cut at page ends (a passage never spans pages, so its citation names one page); each part keeps its
    heading path. Yields the parts of each page in order."""
    by_page: dict[int, list[Section]] = {}
    for section in sections:
        for page_number, part in _split_at_pages(section, page_of):
            by_page.setdefault(page_number, []).append(part)
    yield from sorted(by_page.items())


def _split_at_pages(section: Section, page_of: dict[int, int]) -> Iterator[tuple[int, Section]]:
    current: list[Line] = []
    current_page = None
    for line in section.lines:
        page = page_of.get(line.number, current_page)
        if current and page != current_page:
            yield current_page, Section(section.path, section.heading_line, current)
            current = []
        current_page = page
        current.append(line)
    if current and any(line.text.strip() for line in current):
        yield current_page, Section(section.path, section.heading_line, current)


def _title(doc_title: str, path: tuple[str, ...]) -> str:
    if path and path[0] == doc_title:
        return " > ".join(path)
    return " > ".join((doc_title,) + path)


def _unique(doc_id: str, seen: set[str]) -> str:
    candidate, counter = doc_id, 2
    while candidate in seen:
        candidate, counter = f"{doc_id}#{counter}", counter + 1
    seen.add(candidate)
    return candidate
