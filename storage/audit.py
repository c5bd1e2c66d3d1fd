"""The audit log: append-only (who did what, when, to what). There is deliberately no update or delete here,
and database triggers refuse both. Put no personal data in `detail`: ids and reasons, not message text."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, select

from .schema import audit_log
from .types import utcnow


def append_audit(conn: Connection, *, actor: str, action: str, tenant: str | None = None,
                 target: str | None = None, detail: dict[str, Any] | None = None) -> int:
    """Write one audit row in the caller's transaction, so the action and its record commit together."""
    return conn.execute(audit_log.insert().values(
        at=utcnow(), actor=actor, tenant=tenant, action=action, target=target, detail=detail,
    ).returning(audit_log.c.id)).scalar_one()


def list_audit(conn: Connection, *, tenants: Iterable[str] | None = None, target: str | None = None,
               before_id: int | None = None, limit: int = 100) -> list[Row]:
    """Newest first; page with `before_id`."""
    query = select(audit_log)
    if tenants is not None:
        query = query.where(audit_log.c.tenant.in_(list(tenants)))
    if target is not None:
        query = query.where(audit_log.c.target == target)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    return list(conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit)))
