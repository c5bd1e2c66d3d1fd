"""Plain text, Markdown and HTML documents, split by headings into passages of a sensible size.

Headings are recognised by their form: Markdown `#`, 第N章/第N節, numbered lines (1. / 1.1 / （1）), 【…】 and 《…》
labels, and in plain text short stand-alone lines (how PDF-extracted official documents show their headings).
The tenant YAML can rank its own patterns (`heading_patterns: [{pattern, level, caption}]`) ahead of these.
Each passage is titled with its heading path and cites its file and line range. Small sibling sections are merged
and long ones split at paragraph or sentence ends, so passages stay near `min_chars`–`max_chars`.
A directory loads every .txt/.md/.html file in it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

from knowledge.documents import SourceDocument
from knowledge.ingest.base import Item, citation_fields, register
from knowledge.ingest.readers import decode_file

SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
MIN_CHARS, MAX_CHARS = 200, 800
PLAIN_HEADING_MAX = 30
CAPTION_MAX = 60

BUILTIN_HEADINGS = (
    (re.compile(r"^(#{1,6})\s+(.+?)\s*#*$"), None),  # Markdown: level = number of #
    (re.compile(r"^第[0-9０-９一二三四五六七八九十百]+章(\s|　|$)"), 1),
    (re.compile(r"^第[0-9０-９一二三四五六七八九十百]+節(\s|　|$)"), 2),
    (re.compile(r"^[0-9０-９]{1,2}[.．][0-9０-９]{1,2}[.．]?\s+\S"), 3),
    (re.compile(r"^[0-9０-９]{1,2}[.．]\s*[^\s0-9０-９]"), 2),
    (re.compile(r"^[0-9０-９]{1,2}　\S"), 2),
    (re.compile(r"^[（(][0-9０-９]+[)）]\s*\S"), 4),
    (re.compile(r"^【[^】]+】"), 2),
    (re.compile(r"^[《≪〈][^》≫〉]+[》≫〉]$"), 3),
)
SENTENCE_END = ("。", "．", "、", "，", ".", ",", "：", ":", "；")
BULLET = re.compile(r"^\s*(?:[-*+]\s+|[・•●○◆■□]\s*)+")
BOLD = re.compile(r"\*\*")  # Markdown bold marks left by PDF-to-text conversion


@dataclass(frozen=True)
class Line:
    number: int
    text: str


@dataclass
class Section:
    path: tuple[str, ...]
    heading_line: str | None = None  # the heading as written, kept when sections are merged
    lines: list[Line] = field(default_factory=list)

    @property
    def text(self) -> str:
        return _join(self.lines)


@register("text_document")
def load_text_document(path: Path, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
        for file in files:
            yield from _load_file(file, file.relative_to(path).as_posix(), tenant, options)
    else:
        yield from _load_file(path, path.name, tenant, options)


def _load_file(file: Path, relative: str, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    decoded = decode_file(file, options.get("encoding", "auto"))
    yield from decoded.problems
    if decoded.text is None:
        return
    kind = SUFFIXES.get(file.suffix.lower(), "text")
    lines, html_title = (_html_lines(decoded.text) if kind == "html" else (_text_lines(decoded.text), None))
    splitter = HeadingSplitter(options, plain_text=kind == "text")
    doc_title, sections = splitter.split(lines, options.get("title") or html_title)
    min_chars, max_chars = int(options.get("min_chars", MIN_CHARS)), int(options.get("max_chars", MAX_CHARS))
    passages = size_passages(sections, min_chars, max_chars)
    doc_title = doc_title or next((s.path[0] for s in sections if s.path), None) or file.stem
    yield from _documents(passages, doc_title, file, relative, tenant, options)


def _documents(passages: list[Section], doc_title: str, file: Path, relative: str, tenant: str,
               options: dict[str, Any]) -> Iterator[SourceDocument]:
    prefix = f"{options['id_prefix']}:" if options.get("id_prefix") else ""
    shared, seen = citation_fields(options), set()
    for passage in passages:
        heading = " > ".join(passage.path)
        doc_id = _unique(f"{prefix}{relative}:{heading or '本文'}", seen)
        written = [line.number for line in passage.lines if line.text.strip()]
        first, last = written[0], written[-1]
        yield SourceDocument(
            doc_id=doc_id, tenant=tenant, title=_title(doc_title, passage.path),
            body=passage.text, kind="passage", citation=f"{relative} lines {first}–{last}",
            meta={"file": relative, "line_start": first, "line_end": last, "heading_path": list(passage.path),
                  "document_title": doc_title},
            **shared,
        )


def _title(doc_title: str, path: tuple[str, ...]) -> str:
    # The document's title leads, unless the heading path already starts with it (an HTML <title> equal to its <h1>).
    if path and path[0] == doc_title:
        return " > ".join(path)
    return " > ".join((doc_title,) + path)


def _unique(doc_id: str, seen: set[str]) -> str:
    candidate, counter = doc_id, 2
    while candidate in seen:
        candidate, counter = f"{doc_id}#{counter}", counter + 1
    seen.add(candidate)
    return candidate


# --- headings ------------------------------------------------------------------------------------------------------
class HeadingSplitter:
    """Turns numbered lines into sections, each with the path of headings above it."""

    def __init__(self, options: dict[str, Any], plain_text: bool):
        self.custom = [(re.compile(p["pattern"]), int(p["level"]), bool(p.get("caption")))
                       for p in options.get("heading_patterns") or []]
        # Markdown and HTML mark their headings; only plain text needs headings guessed from their form
        # (in Markdown, "1. …" is a list item, not a heading).
        self.builtin = BUILTIN_HEADINGS if plain_text else BUILTIN_HEADINGS[:1]
        self.plain_headings = bool(options.get("plain_headings", plain_text))

    def split(self, lines: list[Line], title: str | None) -> tuple[str | None, list[Section]]:
        lines = [Line(line.number, BOLD.sub("", line.text).rstrip()) for line in lines]
        if title is None and self.plain_headings:
            title, lines = _leading_title(lines)
        stack: list[tuple[int, str]] = []
        sections = [Section(path=())]
        for index, line in enumerate(lines):
            found = self.heading(lines, index)
            if found is None:
                sections[-1].lines.append(line)
                continue
            level, text = found
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
            written = re.sub(r"^#{1,6}\s+", "", line.text.strip())  # Markdown marks are not part of the text
            sections.append(Section(path=tuple(t for _, t in stack), heading_line=written))
        return title, [s for s in sections if s.text]

    def heading(self, lines: list[Line], index: int) -> tuple[int, str] | None:
        text = lines[index].text.strip()
        if not text:
            return None
        for pattern, level, caption in self.custom:
            if pattern.search(text):
                return level, _with_caption(text, lines, index) if caption else text
        for pattern, level in self.builtin:
            match = pattern.search(text)
            if match and level is None:
                return len(match.group(1)), match.group(2)
            if match and len(text) <= CAPTION_MAX and not text.endswith(SENTENCE_END):
                return level, text
        if self.plain_headings and _is_plain_heading(lines, index):
            return 1, text
        return None


def _is_plain_heading(lines: list[Line], index: int) -> bool:
    # A short stand-alone line that is not a sentence, a bullet, a table row or a page number.
    text = lines[index].text.strip()
    before = index == 0 or not lines[index - 1].text.strip()
    after = index + 1 >= len(lines) or not lines[index + 1].text.strip()
    return (before and after and len(text) <= PLAIN_HEADING_MAX and not text.endswith(SENTENCE_END)
            and not BULLET.match(text) and "\t" not in text and not text.isdigit())


def _with_caption(text: str, lines: list[Line], index: int) -> str:
    # A bare label (【都の課題提起】) says little on its own: borrow the first line that follows it.
    if not re.fullmatch(r"[【《][^】》]+[】》]", text):
        return text
    following = next((l.text.strip() for l in lines[index + 1:] if l.text.strip()), "")
    caption = BULLET.sub("", following).strip()
    if len(caption) > CAPTION_MAX:
        caption = caption[:CAPTION_MAX] + "…"
    return f"{text} {caption}".strip()


def _leading_title(lines: list[Line]) -> tuple[str | None, list[Line]]:
    # In plain text the first short line is the document's title, not a section.
    for index, line in enumerate(lines):
        if line.text.strip():
            if len(line.text.strip()) <= 60 and not line.text.strip().endswith(SENTENCE_END):
                return line.text.strip(), lines[index + 1:]
            return None, lines
    return None, lines


# --- passage sizes -------------------------------------------------------------------------------------------------
def size_passages(sections: list[Section], min_chars: int, max_chars: int) -> list[Section]:
    folded = _fold_small_parents(sections, min_chars, max_chars)
    merged = _merge_small_siblings(folded, min_chars, max_chars)
    return [part for section in merged for part in _split_long(section, max_chars)]


def _fold_small_parents(sections: list[Section], min_chars: int, max_chars: int) -> list[Section]:
    # A short lead under a heading (a topic's one-line question) is folded into its first subsection as context.
    result: list[Section] = []
    for index, section in enumerate(sections):
        following = sections[index + 1] if index + 1 < len(sections) else None
        is_parent = following is not None and len(following.path) > len(section.path) and \
            following.path[:len(section.path)] == section.path
        if is_parent and len(section.text) < min_chars and len(section.text) + len(following.text) <= max_chars:
            heading = Line(following.lines[0].number, following.heading_line or "")
            following.lines[:0] = section.lines + [Line(section.lines[-1].number, ""), heading]
            continue
        result.append(section)
    return result


def _merge_small_siblings(sections: list[Section], min_chars: int, max_chars: int) -> list[Section]:
    result: list[Section] = []
    group: list[Section] = []
    for section in sections:
        if group and _can_join(group, section, min_chars, max_chars):
            group.append(section)
            continue
        result.extend(_combine(group))
        group = [section]
    result.extend(_combine(group))
    return result


def _can_join(group: list[Section], section: Section, min_chars: int, max_chars: int) -> bool:
    size = sum(len(s.text) for s in group)
    same_parent = len(section.path) > 0 and section.path[:-1] == group[0].path[:-1] and len(group[0].path) > 0
    # Only headings of one form are merged (【a】 with 【b】), so 《opinions》 never join the 【topics】 after them.
    same_form = _form(section.heading_line) == _form(group[0].heading_line)
    return same_parent and same_form and size < min_chars and size + len(section.text) <= max_chars


def _form(heading_line: str | None) -> str:
    first = (heading_line or " ")[0]
    return first if first in "【《〈≪#（(第" else "plain"


def _combine(group: list[Section]) -> list[Section]:
    if len(group) <= 1:
        return group
    labels = "・".join(s.path[-1] for s in group)
    lines: list[Line] = []
    for section in group:
        # Each merged part keeps its own heading inside the body so its bullets stay under it.
        lines.append(Line(section.lines[0].number, section.heading_line or section.path[-1]))
        lines.extend(section.lines)
        lines.append(Line(section.lines[-1].number, ""))
    return [Section(path=group[0].path[:-1] + (labels,), lines=lines)]


def _split_long(section: Section, max_chars: int) -> list[Section]:
    if len(section.text) <= max_chars:
        return [section]
    chunks: list[list[Line]] = [[]]
    for unit in _units(section.lines, max_chars):
        if chunks[-1] and len(_join(chunks[-1] + unit)) > max_chars:
            chunks.append([])
        chunks[-1].extend(unit)
    total = len(chunks)
    return [Section(path=section.path[:-1] + (f"{section.path[-1] if section.path else '本文'}（{k}/{total}）",),
                    lines=chunk) for k, chunk in enumerate(chunks, start=1) if _join(chunk)]


def _units(lines: list[Line], max_chars: int) -> Iterator[list[Line]]:
    # Paragraphs and bullets are the units of a split; a unit longer than max_chars is cut at sentence ends.
    unit: list[Line] = []
    for line in lines:
        starts_new = not line.text.strip() or BULLET.match(line.text)
        if starts_new and unit:
            yield from _sentences(unit, max_chars)
            unit = []
        if line.text.strip():
            unit.append(line)
    if unit:
        yield from _sentences(unit, max_chars)


def _sentences(unit: list[Line], max_chars: int) -> Iterator[list[Line]]:
    if len(_join(unit)) <= max_chars:
        yield unit
        return
    for line in unit:
        pieces = [p for p in re.split(r"(?<=[。．！？])", line.text) if p]
        piece_group = ""
        for piece in pieces:
            if piece_group and len(piece_group) + len(piece) > max_chars:
                yield [Line(line.number, piece_group)]
                piece_group = ""
            piece_group += piece
        if piece_group:
            yield [Line(line.number, piece_group)]


def _join(lines: list[Line]) -> str:
    text = "\n".join(line.text for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- input formats -------------------------------------------------------------------------------------------------
def _text_lines(text: str) -> list[Line]:
    return [Line(number, line) for number, line in enumerate(text.splitlines(), start=1)]


class _HtmlText(HTMLParser):
    """Visible text of an HTML page as lines, headings as Markdown `#` lines, with their source line numbers."""

    SKIP = {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "button"}
    BLOCKS = {"p", "div", "li", "br", "tr", "section", "article", "main", "dt", "dd", "table", "ul", "ol",
              "blockquote", "pre", "hr", "td", "th", "figcaption"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[Line] = []
        self.title: str | None = None
        self._skipping = 0
        self._current: list[str] = []
        self._current_line = 1
        self._heading: int | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag in self.BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = (self.title or "") + data.strip()
            return
        if self._skipping or not data.strip():
            return
        if not self._current:
            self._current_line = self.getpos()[0]
        self._current.append(data)

    def _flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self._current)).strip()
        if text:
            prefix = "#" * self._heading + " " if self._heading else ""
            self.lines += [Line(self._current_line, ""), Line(self._current_line, prefix + text)]
        self._current, self._heading = [], None

    def close(self) -> None:
        super().close()
        self._flush()


def _html_lines(text: str) -> tuple[list[Line], str | None]:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    return parser.lines, parser.title or None
