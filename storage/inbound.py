"""The inbox: every channel records the provider's event here before anything else, unique on (tenant, channel,
external_id): one mail addressed to two cities is an event of each.

    if record_inbound(conn, event): ...            # False on a redelivery: acknowledge and do nothing else
    rows = claim_inbound_batch(conn, "worker-1", lease_seconds=60)   # commit, then process each row
    mark_inbound_done(conn, row)                   # in the same transaction as the turn and its outbox reply
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, exists, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from core.messages import InboundEvent

from ._lease import lease_batch
from .schema import inbound_events
from .types import utcnow

DEFAULT_MAX_ATTEMPTS = 5


def insert_ignoring_duplicates(conn: Connection, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING in the connection's own dialect."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(table).on_conflict_do_nothing()


def event_payload(event: InboundEvent) -> dict[str, Any]:
    payload = asdict(event)
    if isinstance(payload.get("received_at"), datetime):
        payload["received_at"] = payload["received_at"].isoformat()
    return payload


def order_key(event: InboundEvent) -> str | None:
    """The resident an event comes from, as a hash (tenant, channel, sender): events with one key are answered one
    after the other, in the order they were recorded. None for events without a sender (nothing to keep in order)."""
    if not event.sender:
        return None
    return hashlib.sha256(f"{event.tenant}\x00{event.channel}\x00{event.sender}".encode()).hexdigest()[:32]


def record_inbound(conn: Connection, event: InboundEvent, *, priority: int = 0) -> bool:
    """Store an InboundEvent once. True if it is new, False if (tenant, channel, external_id) was seen before.
    `priority`: higher is claimed first (an emergency's words); a resident's own events stay in order."""
    statement = insert_ignoring_duplicates(conn, inbound_events).values(
        channel=event.channel, external_id=event.external_id, tenant=event.tenant,
        payload=event_payload(event), status="received", attempts=0, received_at=utcnow(),
        order_key=order_key(event), priority=priority,
    )
    return conn.execute(statement.returning(inbound_events.c.id)).first() is not None


def resident_is_waiting(conn: Connection, event: InboundEvent) -> bool:
    """Whether an earlier event of this event's resident is still waiting or running (asked before this one is
    recorded): then this message is not the resident's first, even while no conversation is open yet."""
    key = order_key(event)
    if key is None:
        return False
    waiting = and_(inbound_events.c.order_key == key, inbound_events.c.status.in_(("received", "processing")))
    return conn.execute(select(exists().where(waiting))).scalar_one()


def _unfinished(table: Any, now: datetime, max_attempts: int) -> Any:
    """Waiting or running, and not abandoned for good (attempts spent and no live lease: it is never retried)."""
    return and_(table.c.status.in_(("received", "processing")),
                or_(table.c.attempts < max_attempts, table.c.locked_until > now))


def _first_of_its_resident(now: datetime, max_attempts: int) -> Any:
    """The per-resident guard: no earlier event of the same resident is still unfinished. So two workers never run
    one resident's turns at once, and a resident's quick successive messages are answered in the order sent."""
    earlier = inbound_events.alias("earlier")
    return ~exists().where(earlier.c.order_key == inbound_events.c.order_key, earlier.c.id < inbound_events.c.id,
                           _unfinished(earlier, now, max_attempts))


def claim_inbound_batch(conn: Connection, worker: str, lease_seconds: float = 60, *, limit: int = 10,
                        max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> list[Row]:
    """Lease up to `limit` events: new ones, and those whose previous worker's lease ran out (it died); the most
    urgent first, each only after its resident's earlier events are finished.

    Commit right after; each returned row carries `locked_by`, the lease token that mark_* functions check.
    An event that exhausted `max_attempts` is no longer handed out.
    """
    now = utcnow()
    # 'received' with no lease or a retry time that has come, or 'processing' whose lease ran out.
    free = or_(inbound_events.c.locked_until.is_(None), inbound_events.c.locked_until < now)
    claimable = and_(inbound_events.c.status.in_(("received", "processing")), free,
                     inbound_events.c.attempts < max_attempts, _first_of_its_resident(now, max_attempts))
    return lease_batch(conn, inbound_events, claimable, busy_status="processing", worker=worker,
                       lease_seconds=lease_seconds, limit=limit, order_by=[inbound_events.c.priority.desc()])


def _still_leased(row: Row) -> Any:
    return and_(inbound_events.c.id == row.id, inbound_events.c.locked_by == row.locked_by,
                inbound_events.c.status == "processing")


def mark_inbound_done(conn: Connection, row: Row) -> bool:
    """Finish a leased event. False if the lease was lost (another worker re-claimed it): roll back your turn."""
    statement = update(inbound_events).where(_still_leased(row)).values(
        status="done", processed_at=utcnow(), locked_until=None)
    return conn.execute(statement).rowcount == 1


def mark_inbound_failed(conn: Connection, row: Row, error: str, *, retry_after_seconds: float = 5,
                        max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> bool:
    """Give the event back for a later retry, or fail it for good once `max_attempts` are spent."""
    exhausted = row.attempts >= max_attempts
    statement = update(inbound_events).where(_still_leased(row)).values(
        status="failed" if exhausted else "received", last_error=error[:2000],
        locked_until=None if exhausted else utcnow() + timedelta(seconds=retry_after_seconds),
    )
    return conn.execute(statement).rowcount == 1


def release_inbound(conn: Connection, row: Row) -> bool:
    """Give a leased event back untouched (a worker shutting down before its turn finished): claimable at once by
    another worker, and the attempt not counted. False if the lease was already lost."""
    statement = update(inbound_events).where(_still_leased(row)).values(
        status="received", locked_by=None, locked_until=None, attempts=inbound_events.c.attempts - 1)
    return conn.execute(statement).rowcount == 1


def extend_inbound_lease(conn: Connection, row: Row, lease_seconds: float) -> bool:
    """A long turn keeps its lease; False means it was already lost."""
    statement = update(inbound_events).where(_still_leased(row)).values(
        locked_until=utcnow() + timedelta(seconds=lease_seconds))
    return conn.execute(statement).rowcount == 1


def inbound_event_from_row(row: Row) -> InboundEvent:
    """Rebuild the channel-neutral InboundEvent a worker hands to the dialogue."""
    payload = dict(row.payload)
    if payload.get("received_at"):
        payload["received_at"] = datetime.fromisoformat(payload["received_at"])
    return InboundEvent(**payload)


def _identity(tenant: str, channel: str, external_id: str) -> Any:
    return and_(inbound_events.c.tenant == tenant, inbound_events.c.channel == channel,
                inbound_events.c.external_id == external_id)


def lease_inbound_event(conn: Connection, tenant: str, channel: str, external_id: str, worker: str,
                        lease_seconds: float) -> Row | None:
    """Lease one particular event (a request that runs its own turn inline), unless another worker holds it or
    the resident's earlier events are not finished yet (then the caller waits, as for a held lease)."""
    now = utcnow()
    free = or_(inbound_events.c.locked_until.is_(None), inbound_events.c.locked_until < now)
    claimable = and_(_identity(tenant, channel, external_id), inbound_events.c.status.in_(("received", "processing")),
                     free, _first_of_its_resident(now, DEFAULT_MAX_ATTEMPTS))
    rows = lease_batch(conn, inbound_events, claimable, busy_status="processing", worker=worker,
                       lease_seconds=lease_seconds, limit=1)
    return rows[0] if rows else None


def leased_inbound_event(conn: Connection, tenant: str, channel: str, external_id: str) -> Row | None:
    """The event while a worker holds its lease (to give it back at once after a failure)."""
    return conn.execute(select(inbound_events).where(
        _identity(tenant, channel, external_id), inbound_events.c.status == "processing",
        inbound_events.c.locked_by.is_not(None))).first()


def inbound_by_external_id(conn: Connection, tenant: str, channel: str, external_id: str) -> Row | None:
    return conn.execute(select(inbound_events).where(_identity(tenant, channel, external_id))).first()


def attach_inbound_to_conversation(conn: Connection, inbound_id: int, conversation_id: str) -> None:
    """Tie the event to the conversation it was stored into (erasure and retention find its payload by this)."""
    conn.execute(update(inbound_events).where(inbound_events.c.id == inbound_id).values(
        conversation_id=conversation_id))


def inbound_by_id(conn: Connection, inbound_id: int) -> Row | None:
    return conn.execute(select(inbound_events).where(inbound_events.c.id == inbound_id)).first()


def inbound_status(conn: Connection, inbound_id: int) -> str:
    return conn.execute(select(inbound_events.c.status).where(inbound_events.c.id == inbound_id)).scalar_one()


# -- cross-process wake-ups (PostgreSQL LISTEN/NOTIFY; SQLite has none: workers poll) ----------------------------

def inbox_notify_channel(schema: str | None) -> str:
    """The NOTIFY channel of an installation: it carries the schema, so installations (and tests) sharing one server
    do not wake each other."""
    return f"madoguchi_inbox_{schema or 'public'}"


def notify_inbox(conn: Connection, schema: str | None) -> None:
    """Inside the recording transaction; PostgreSQL delivers it on commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": inbox_notify_channel(schema)})


def defer_inbound(conn: Connection, row: Row, until: datetime) -> bool:
    """Give a leased event back to be taken again from `until`, without spending an attempt: a rate-limited
    message waits its turn and is never failed for good for having waited."""
    statement = update(inbound_events).where(_still_leased(row)).values(
        status="received", locked_by=None, locked_until=until,
        attempts=inbound_events.c.attempts - 1)
    return conn.execute(statement).rowcount == 1
