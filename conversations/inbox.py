"""Small reads over the inbox and outbox that the webhook routes, the worker and the sender share.

The repository functions in storage write; these look rows up by the keys the channels know:
(channel, provider id) for an inbound event, the idempotency key for an outbound message.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select, update

from storage.schema import escalations, inbound_events, messages, outbox


def inbound_by_external_id(conn: Connection, channel: str, external_id: str) -> Row | None:
    query = select(inbound_events).where(inbound_events.c.channel == channel,
                                         inbound_events.c.external_id == external_id)
    return conn.execute(query).first()


def inbound_by_id(conn: Connection, inbound_id: int) -> Row | None:
    return conn.execute(select(inbound_events).where(inbound_events.c.id == inbound_id)).first()


def outbox_by_key(conn: Connection, idempotency_key: str) -> Row | None:
    return conn.execute(select(outbox).where(outbox.c.idempotency_key == idempotency_key)).first()


def latest_inbound_of(conn: Connection, conversation_id: str) -> int | None:
    """The inbound event of the resident's latest message in a conversation (dialogue meta "inbound_event_id")."""
    query = (select(messages.c.meta).where(messages.c.conversation_id == conversation_id,
                                           messages.c.role == "resident")
             .order_by(messages.c.id.desc()).limit(20))
    for meta in conn.execute(query).scalars():
        if isinstance(meta, dict) and isinstance(meta.get("inbound_event_id"), int):
            return meta["inbound_event_id"]
    return None


def reply_key(inbound_id: int) -> str:
    """The outbox key of the assistant's reply to an inbound event (set by conversations.turns)."""
    return f"reply:{inbound_id}"


def inbound_id_of_reply(idempotency_key: str) -> int | None:
    prefix, _, number = idempotency_key.partition(":")
    return int(number) if prefix == "reply" and number.isdigit() else None


def merge_escalation_meta(conn: Connection, escalation_id: str, extra: dict[str, Any]) -> None:
    """Add keys to an escalation's meta (e.g. the whole e-mail for the operator), keeping what is there."""
    current = conn.execute(select(escalations.c.meta).where(escalations.c.id == escalation_id)).scalar_one_or_none()
    merged = {**(current or {}), **extra}
    conn.execute(update(escalations).where(escalations.c.id == escalation_id).values(meta=merged))


def record_events(services: Any, events: list[Any]) -> list[bool]:
    """Record inbound events in one transaction (True: new, False: a redelivery) and wake the inbox worker."""
    from conversations.wakeups import notify_inbox
    from conversations.runtime import runtime_for
    from storage import record_inbound

    if not events:
        return []
    with services.db.transaction() as conn:
        fresh = [record_inbound(conn, event) for event in events]
        if any(fresh):
            notify_inbox(conn, services.db)  # workers in other processes (PostgreSQL)
    if any(fresh):
        runtime_for(services).nudge_worker()
    return fresh
