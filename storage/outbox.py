"""The outbox: every reply (assistant or operator) leaves through here, once per idempotency key.

    enqueue_outbox(conn, message)        # in the turn's transaction; False if that key is already queued/sent
    rows = claim_outbox_batch(conn, "sender-1")     # commit, then adapter.send(outbound_message_from_row(row))
    mark_sent(conn, row)                 # a sent row is never handed out again
A sender that dies mid-send leaves the row 'sending'; after its lease it is retried with the same idempotency key,
which the adapter passes to the provider (LINE X-Line-Retry-Key, email Message-ID) so the provider drops a repeat.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, exists, func, or_, select, update

from core.messages import OutboundMessage

from ._lease import lease_batch
from .inbound import insert_ignoring_duplicates
from .schema import inbound_events, outbox
from .types import utcnow

DEFAULT_MAX_ATTEMPTS = 6
MAX_BACKOFF_SECONDS = 300


def enqueue_outbox(conn: Connection, message: OutboundMessage, *, conversation_id: str | None = None,
                   not_before: datetime | None = None) -> bool:
    """Queue an OutboundMessage. True if queued now, False if its idempotency key was queued before."""
    payload = asdict(message)
    payload["choices"] = list(payload.get("choices") or ())
    statement = insert_ignoring_duplicates(conn, outbox).values(
        idempotency_key=message.idempotency_key, tenant=message.tenant, channel=message.channel,
        recipient=message.recipient, conversation_id=conversation_id, payload=payload, status="pending",
        attempts=0, next_attempt_at=not_before or utcnow(), created_at=utcnow(),
    )
    return conn.execute(statement.returning(outbox.c.id)).first() is not None


def claim_outbox_batch(conn: Connection, worker: str, lease_seconds: float = 30, *, limit: int = 20,
                       channel: str | None = None) -> list[Row]:
    """Lease due messages (pending and due, or 'sending' whose sender's lease ran out), each only after its
    recipient's earlier messages. Commit right after."""
    now = utcnow()
    due = and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
    abandoned = and_(outbox.c.status == "sending", outbox.c.locked_until < now)
    claimable = and_(or_(due, abandoned), _first_for_its_recipient())
    if channel is not None:
        claimable = and_(claimable, outbox.c.channel == channel)
    return lease_batch(conn, outbox, claimable, busy_status="sending", worker=worker,
                       lease_seconds=lease_seconds, limit=limit)


def _first_for_its_recipient() -> Any:
    """Per-recipient order: a message leaves only when the recipient's earlier ones were sent or given up, so
    two senders never deliver one resident's replies the wrong way round (a failed send holds the later ones until
    its retry succeeds or gives up)."""
    earlier = outbox.alias("earlier")
    return ~exists().where(earlier.c.tenant == outbox.c.tenant, earlier.c.channel == outbox.c.channel,
                           earlier.c.recipient == outbox.c.recipient, earlier.c.id < outbox.c.id,
                           earlier.c.status.in_(("pending", "sending")))


def _still_leased(row: Row) -> Any:
    return and_(outbox.c.id == row.id, outbox.c.locked_by == row.locked_by, outbox.c.status == "sending")


def release_outbox(conn: Connection, row: Row) -> bool:
    """Give a leased message back unsent (a sender shutting down with part of its batch left): due at once for
    another sender, the attempt not counted."""
    statement = update(outbox).where(_still_leased(row)).values(
        status="pending", locked_by=None, locked_until=None, next_attempt_at=utcnow(), attempts=outbox.c.attempts - 1)
    return conn.execute(statement).rowcount == 1


def mark_sent(conn: Connection, row: Row) -> bool:
    """Record delivery. False if this sender no longer held the row (its lease had expired)."""
    statement = update(outbox).where(_still_leased(row)).values(status="sent", sent_at=utcnow(), locked_until=None)
    return conn.execute(statement).rowcount == 1


def mark_send_failed(conn: Connection, row: Row, error: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                     permanent: bool = False) -> bool:
    """Retry later with exponential backoff, or give up (permanent error, or attempts spent)."""
    give_up = permanent or row.attempts >= max_attempts
    backoff = min(2 ** row.attempts, MAX_BACKOFF_SECONDS)
    statement = update(outbox).where(_still_leased(row)).values(
        status="failed" if give_up else "pending", last_error=error[:2000], locked_until=None,
        next_attempt_at=utcnow() + timedelta(seconds=backoff),
    )
    return conn.execute(statement).rowcount == 1


def outbound_message_from_row(row: Row) -> OutboundMessage:
    """Rebuild the OutboundMessage for the channel adapter."""
    payload = dict(row.payload)
    payload["choices"] = tuple(payload.get("choices") or ())
    return OutboundMessage(**payload)


def outbox_by_key(conn: Connection, idempotency_key: str) -> Row | None:
    return conn.execute(select(outbox).where(outbox.c.idempotency_key == idempotency_key)).first()


def queue_counts(conn: Connection) -> list[tuple[str, str, str, int]]:
    """(queue, channel, status, rows) for the inbox and the outbox."""
    rows = []
    for name, table in (("inbox", inbound_events), ("outbox", outbox)):
        keys = (table.c.channel, table.c.status)
        query = select(*keys, func.count()).group_by(*keys).order_by(*keys)
        rows += [(name, channel, status, n) for channel, status, n in conn.execute(query)]
    return rows
