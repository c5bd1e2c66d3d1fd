"""Search every column of every table the schema declares: the erasure and personal-data proofs both need it, and
a table added later is searched without anyone remembering to."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from storage.schema import metadata


def _text_of(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (dict, list)) else str(value)


def where_found(db: Any, needles: tuple[str, ...]) -> dict[str, set[str]]:
    """table → the columns in which any needle occurs, over every row of every table of the schema."""
    found: dict[str, set[str]] = {}
    with db.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    if value is not None and any(needle in _text_of(value) for needle in needles):
                        found.setdefault(table.name, set()).add(column)
    return found
