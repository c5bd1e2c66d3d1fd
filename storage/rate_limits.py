"""Rate-limit counters in the database, so every web instance and worker counts against the same limit.

    hits, previous = count_hit(conn, key, window_start, previous_start)   # this request counted
    prune_rate_limits(conn, older_than)

One row per (key, fixed window); the counting is one INSERT … ON CONFLICT DO UPDATE … RETURNING, atomic on
SQLite and PostgreSQL alike. The rule (limits, weighting the previous window) is conversations/rate_limits.py's.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .schema import rate_limit_counts


def count_hit(conn: Connection, key: str, window_start: datetime, previous_start: datetime,
              *, count: bool = True) -> tuple[int, int]:
    """(hits in this window including this one, hits in the previous window). `count=False` only reads."""
    current = _add_hit(conn, key, window_start) if count else _hits(conn, key, window_start)
    return current, _hits(conn, key, previous_start)


def _add_hit(conn: Connection, key: str, window_start: datetime) -> int:
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(rate_limit_counts).values(key=key, window_start=window_start, hits=1)
    statement = statement.on_conflict_do_update(index_elements=["key", "window_start"],
                                                set_={"hits": rate_limit_counts.c.hits + 1})
    return conn.execute(statement.returning(rate_limit_counts.c.hits)).scalar_one()


def _hits(conn: Connection, key: str, window_start: datetime) -> int:
    query = select(rate_limit_counts.c.hits).where(rate_limit_counts.c.key == key,
                                                   rate_limit_counts.c.window_start == window_start)
    return conn.execute(query).scalar_one_or_none() or 0


def prune_rate_limits(conn: Connection, older_than: datetime) -> int:
    statement = delete(rate_limit_counts).where(rate_limit_counts.c.window_start < older_than)
    return conn.execute(statement).rowcount


def uncount_hit(conn: Connection, key: str, window_start: datetime) -> None:
    """Take back a hit that was refused: only what was let through counts against the limit."""
    conn.execute(update(rate_limit_counts).where(rate_limit_counts.c.key == key,
                                                 rate_limit_counts.c.window_start == window_start)
                 .values(hits=rate_limit_counts.c.hits - 1))
