"""Tables of fees and eligibility as text a resident can read row by row: each row names its columns.

A table cut into passages, or read aloud, stays understandable only if every row carries its headers:
「区分: 住民票の写し ／ 手数料: 300円」 instead of 「住民票の写し 300円」 under a header three lines up.
Used by the PDF and the website loaders.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

CELL_SEPARATOR = " ／ "
_CJK_END = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]$")


def clean_cell(cell: str | None) -> str:
    """One line per cell, full-width forms normalised. A line break inside a Japanese cell is a wrap, not a space."""
    if not cell:
        return ""
    parts = [part.strip() for part in unicodedata.normalize("NFKC", cell).splitlines() if part.strip()]
    text = ""
    for part in parts:
        text += part if not text or _CJK_END.search(text) else f" {part}"
    return text


def fill_merged_cells(rows: Sequence[Sequence[str | None]]) -> list[list[str]]:
    """A cell the extractor reports as None belongs to a merged cell: it takes the value above it (a category
    spanning rows, the usual merge in fee tables), else the one to its left."""
    filled: list[list[str]] = []
    for r, row in enumerate(rows):
        out: list[str] = []
        for c, cell in enumerate(row):
            if cell is None:
                above = filled[r - 1][c] if r > 0 and c < len(filled[r - 1]) else ""
                cell = above or (out[c - 1] if c > 0 else "")
            out.append(clean_cell(cell))
        filled.append(out)
    return filled


def table_lines(rows: Sequence[Sequence[str | None]]) -> list[str]:
    """The table as lines: with a header row, one line per data row of `header: value` pairs; a table of one row
    (or with no header text) lists its cells."""
    grid = [row for row in fill_merged_cells(rows) if any(row)]
    if not grid:
        return []
    header, body = grid[0], grid[1:]
    if not body or not all(header):
        return [CELL_SEPARATOR.join(cell for cell in row if cell) for row in grid]
    lines = []
    for row in body:
        pairs = [f"{name}: {value}" for name, value in zip(header, row, strict=False) if value and value != name]
        if pairs:
            lines.append(CELL_SEPARATOR.join(pairs))
    return lines


_MD_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def markdown_table_lines(block: Sequence[str]) -> list[str]:
    """A Markdown table (| a | b |, as trafilatura writes tables) rendered by `table_lines`."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in block
            if line.strip() and not _MD_RULE.match(line.strip())]
    return table_lines(rows)
