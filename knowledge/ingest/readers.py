"""Reading helpers shared by the loaders: tolerant decoding, CSV rows with line numbers, JSON with problems.

Every helper reports what it cannot read as an IngestProblem (file, line, reason) instead of raising, so one bad
row or file never costs the rest of a source.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from knowledge.documents import IngestProblem

# Japanese municipal files come as UTF-8 (with or without BOM) or Shift_JIS; cp932 is Windows' superset of it.
AUTO_ENCODINGS = ("utf-8-sig", "cp932")


@dataclass(frozen=True)
class DecodedText:
    text: str | None
    encoding: str | None
    problems: tuple[IngestProblem, ...] = ()


def decode_file(path: Path, encoding: str = "auto") -> DecodedText:
    """Decode a whole file; when no encoding fits every line, keep the lines that decode and report the others."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return DecodedText(None, None, (IngestProblem(str(path), None, f"unreadable file: {exc}"),))
    candidates = AUTO_ENCODINGS if encoding == "auto" else (encoding,)
    for candidate in candidates:
        try:
            return DecodedText(raw.decode(candidate), candidate)
        except UnicodeDecodeError:
            continue
    return _decode_line_by_line(path, raw, candidates[0])


def _decode_line_by_line(path: Path, raw: bytes, encoding: str) -> DecodedText:
    # An undecodable line becomes an empty line so every other line keeps its number.
    lines, problems = [], []
    for line_no, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            lines.append(chunk.decode(encoding).lstrip("\ufeff"))
        except UnicodeDecodeError as exc:
            lines.append("")
            problems.append(IngestProblem(str(path), line_no, f"invalid {encoding} bytes ({exc.reason}); line skipped"))
    return DecodedText("\n".join(lines), encoding, tuple(problems))


@dataclass(frozen=True)
class CsvRow:
    line: int  # the physical line where the record starts (the header is line 1)
    values: dict[str, str]


def iter_csv(path: Path, encoding: str = "auto", required: tuple[str, ...] = ()) -> Iterator[CsvRow | IngestProblem]:
    """Rows of a headed CSV as {header: value}; malformed rows and a missing required column become problems."""
    decoded = decode_file(path, encoding)
    yield from decoded.problems
    if decoded.text is None:
        return
    reader = csv.reader(io.StringIO(decoded.text, newline=""), strict=True)
    header = _read_header(reader, path)
    if isinstance(header, IngestProblem):
        yield header
        return
    missing = [name for name in required if name not in header]
    if missing:
        yield IngestProblem(str(path), 1, f"missing column(s) {', '.join(missing)}; header is {', '.join(header)}")
        return
    yield from _rows(reader, header, path)


def _read_header(reader: Any, path: Path) -> list[str] | IngestProblem:
    try:
        header = next(reader)
    except StopIteration:
        return IngestProblem(str(path), None, "empty file")
    except csv.Error as exc:
        return IngestProblem(str(path), 1, f"malformed header: {exc}")
    return [name.strip().lstrip("\ufeff") for name in header]


def _rows(reader: Any, header: list[str], path: Path) -> Iterator[CsvRow | IngestProblem]:
    previous_end = reader.line_num
    while True:
        start = previous_end + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield IngestProblem(str(path), start, f"malformed CSV row: {exc}")
            previous_end = reader.line_num
            continue
        previous_end = reader.line_num
        if not any(field.strip() for field in fields):
            continue  # blank line
        if len(fields) != len(header):
            yield IngestProblem(str(path), start, f"expected {len(header)} fields, got {len(fields)}")
            continue
        yield CsvRow(start, {name: value.strip() for name, value in zip(header, fields)})


def load_json(path: Path) -> tuple[Any, str | None, IngestProblem | None]:
    """(data, text, None) or (None, None, problem with the line of the syntax error)."""
    decoded = decode_file(path, "utf-8-sig")
    if decoded.text is None or decoded.problems:
        problem = decoded.problems[0] if decoded.problems else IngestProblem(str(path), None, "unreadable file")
        return None, None, problem
    try:
        return json.loads(decoded.text), decoded.text, None
    except json.JSONDecodeError as exc:
        return None, None, IngestProblem(str(path), exc.lineno, f"invalid JSON: {exc.msg}")


def line_of(text: str | None, needle: str) -> int | None:
    """The line where `needle` first appears in `text` (to cite a JSON record by line)."""
    if not text or not needle:
        return None
    index = text.find(needle)
    return None if index < 0 else text.count("\n", 0, index) + 1


def json_key_line(text: str | None, key: str, value: Any) -> int | None:
    """The line of `"key": value` in a JSON text, whatever the spacing."""
    if not text:
        return None
    pattern = re.compile(rf'"{re.escape(key)}"\s*:\s*{re.escape(json.dumps(value, ensure_ascii=False))}')
    match = pattern.search(text)
    return None if match is None else text.count("\n", 0, match.start()) + 1


def id_prefix(path: Path, options: dict[str, Any]) -> str:
    """The stable prefix of a source's doc_ids: configured `id_prefix`, else the source folder's or file's name."""
    return str(options.get("id_prefix") or (path.name if path.is_dir() else path.stem))
