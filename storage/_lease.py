"""Leasing rows to workers, the same way for the inbox and the outbox.

One statement picks and marks a batch: `WITH picked AS (SELECT id … FOR UPDATE SKIP LOCKED) UPDATE … RETURNING *`.
On PostgreSQL SKIP LOCKED lets concurrent workers take disjoint batches without waiting on each other. SQLite
ignores FOR UPDATE; there the statement is atomic because SQLite admits one writer at a time (BEGIN IMMEDIATE).
"""
from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, ColumnElement, Row, Table, select, update

from .types import utcnow


def lease_token(worker: str) -> str:
    """Unique per claim, so a worker whose lease expired cannot finish a row someone else has re-claimed."""
    return f"{worker[:100]}:{uuid4().hex[:16]}"


def lease_batch(conn: Connection, table: Table, claimable: ColumnElement[bool], *, busy_status: str,
                worker: str, lease_seconds: float, limit: int, order_by: Sequence[Any] = ()) -> list[Row]:
    """`order_by`: which claimable rows first (default: the oldest)."""
    now = utcnow()
    picked = (
        select(table.c.id).where(claimable).order_by(*order_by, table.c.id).limit(limit)
        .with_for_update(skip_locked=True).cte("picked")
    )
    statement = (
        update(table)
        .where(table.c.id.in_(select(picked.c.id)))
        .values(status=busy_status, locked_by=lease_token(worker),
                locked_until=now + timedelta(seconds=lease_seconds), attempts=table.c.attempts + 1)
        .returning(*table.c)
    )
    return sorted(conn.execute(statement).all(), key=lambda row: row.id)
