"""What operations asks of the tables: is the database there, how long are the queues, what is overdue.

Read at scrape time by the metrics collector and by /readyz (madoguchi/operations.py). They read the shared
database, so every instance reports the same figures; each query groups over the unfinished rows only (the
status indexes), never over the whole history.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, func, or_, select, text

from .schema import OPEN_ESCALATION_STATES, escalations, inbound_events, outbox
from .types import utcnow

UNFINISHED_INBOUND = ("received", "processing", "failed")
UNSENT_OUTBOX = ("pending", "sending", "failed")


def ping(conn: Connection) -> None:
    conn.execute(text("SELECT 1")).scalar_one()


def inbox_backlog(conn: Connection) -> list[tuple[str, str, str, int]]:
    """(tenant, channel, status, events) not done yet."""
    return _grouped(conn, inbound_events, UNFINISHED_INBOUND)


def outbox_backlog(conn: Connection) -> list[tuple[str, str, str, int]]:
    """(tenant, channel, status, messages) not sent yet ('failed': given up after the last attempt)."""
    return _grouped(conn, outbox, UNSENT_OUTBOX)


def _grouped(conn: Connection, table, statuses: tuple[str, ...]) -> list[tuple[str, str, str, int]]:
    keys = (table.c.tenant, table.c.channel, table.c.status)
    query = select(*keys, func.count()).where(table.c.status.in_(statuses)).group_by(*keys)
    return [(tenant, channel, status, n) for tenant, channel, status, n in conn.execute(query)]


def oldest_due_outbox(conn: Connection) -> datetime | None:
    """When the longest-waiting reply became due (pending, or 'sending' with its lease run out)."""
    now = utcnow()
    due = or_(and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
              and_(outbox.c.status == "sending", outbox.c.locked_until < now))
    return conn.execute(select(func.min(outbox.c.next_attempt_at)).where(due)).scalar_one_or_none()


def oldest_waiting_inbound(conn: Connection) -> datetime | None:
    """When the longest-waiting resident message came in (recorded, no turn yet)."""
    query = select(func.min(inbound_events.c.received_at)).where(inbound_events.c.status == "received")
    return conn.execute(query).scalar_one_or_none()


def escalation_queue_depth(conn: Connection) -> list[tuple[str, str, int]]:
    """(tenant, state, escalations) for the open states."""
    keys = (escalations.c.tenant, escalations.c.state)
    query = select(*keys, func.count()).where(escalations.c.state.in_(OPEN_ESCALATION_STATES)).group_by(*keys)
    return [(tenant, state, n) for tenant, state, n in conn.execute(query)]


def unclaimed_risk_escalations(conn: Connection) -> list[tuple[str, str, int]]:
    """(tenant, risk tier, escalations) queued and claimed by nobody."""
    keys = (escalations.c.tenant, escalations.c.risk)
    query = select(*keys, func.count()).where(escalations.c.state == "queued",
                                              escalations.c.risk.is_not(None)).group_by(*keys)
    return [(tenant, risk, n) for tenant, risk, n in conn.execute(query)]


def sla_breaches(conn: Connection) -> list[tuple[str, str, int]]:
    """(tenant, deadline, open escalations past it): 'first_response' not answered in time, 'resolve' not resolved
    in time (the supervisor page's breached list, counted)."""
    now = utcnow()
    open_ = escalations.c.state.in_(OPEN_ESCALATION_STATES)
    late = {
        "first_response": and_(escalations.c.first_response_at.is_(None), escalations.c.first_response_due < now),
        "resolve": escalations.c.resolve_due < now,
    }
    rows = []
    for deadline, condition in late.items():
        query = select(escalations.c.tenant, func.count()).where(open_, condition).group_by(escalations.c.tenant)
        rows += [(tenant, deadline, n) for tenant, n in conn.execute(query)]
    return rows


def tenant_inbox_pressure(conn: Connection, tenant: str, *, count_up_to: int) -> tuple[int, datetime | None]:
    """(events of the tenant waiting or running, counted up to `count_up_to` + 1, when the longest-waiting one
    that could be taken now came in). Deferred events (a rate-limited resident's, a retry's) wait by design and do
    not make the wait longer. Asked on every recorded webhook batch, so the count stops early."""
    now = utcnow()
    pending = and_(inbound_events.c.tenant == tenant, inbound_events.c.status.in_(("received", "processing")))
    capped = select(inbound_events.c.id).where(pending).limit(max(count_up_to, 0) + 1).subquery()
    backlog = conn.execute(select(func.count()).select_from(capped)).scalar_one()
    takeable = and_(inbound_events.c.tenant == tenant, inbound_events.c.status == "received",
                    or_(inbound_events.c.locked_until.is_(None), inbound_events.c.locked_until <= now))
    oldest = conn.execute(select(func.min(inbound_events.c.received_at)).where(takeable)).scalar_one_or_none()
    return backlog, oldest
