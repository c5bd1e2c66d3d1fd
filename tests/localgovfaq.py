"""LocalgovFAQ texts for tests, read in place from ../shared by id: the corpus is evaluation-only and is never
copied into this repository, not even as test strings."""
from __future__ import annotations

import json
from pathlib import Path


def _rows(path: Path, text_key: str) -> dict[str, str]:
    with path.open(encoding="utf-8") as handle:
        return {str(row["id"]): row[text_key] for row in map(json.loads, handle) if row}


def faq_questions(localgovfaq_dir: Path, ids: tuple[str, ...]) -> tuple[str, ...]:
    """The corpus entries' own questions, in the order of `ids`."""
    rows = _rows(localgovfaq_dir / "corpus.jsonl", "question")
    return tuple(rows[i] for i in ids)


def dev_queries(localgovfaq_dir: Path, ids: tuple[str, ...]) -> tuple[str, ...]:
    """Residents' questions of the dev split, in the order of `ids`."""
    rows = _rows(localgovfaq_dir / "queries-dev.jsonl", "query")
    return tuple(rows[i] for i in ids)
