"""Conversations, their messages, the turns that produced replies, and residents' feedback.

A conversation is one resident on one channel; at most one is open per (tenant, channel, address), enforced by
a partial unique index, so two first messages arriving together cannot start two conversations.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable
from uuid import uuid4

from sqlalchemy import Connection, Row, and_, case, func, or_, select, update

from .inbound import insert_ignoring_duplicates
from .schema import (
    CONVERSATION_STATES, OPEN_ESCALATION_STATES, conversations, escalations, feedback, inbound_events, messages,
    operator_notes, outbox, turns,
)
from .types import utcnow

ERASED = "[erased]"


def new_id() -> str:
    return str(uuid4())


def _value(value: Any) -> Any:
    """Accept enums (Outcome, EscalationReason) as well as plain strings."""
    return getattr(value, "value", value)


def _open_conversation_query(tenant: str, channel: str, resident_address: str) -> Any:
    return select(conversations).where(
        conversations.c.tenant == tenant, conversations.c.channel == channel,
        conversations.c.resident_address == resident_address, conversations.c.state != "closed",
        conversations.c.deleted.is_(False),
    )


def open_conversation(conn: Connection, *, tenant: str, channel: str, resident_address: str,
                      language: str = "ja") -> Row:
    """The resident's open conversation on this channel, started now if there is none."""
    existing = conn.execute(_open_conversation_query(tenant, channel, resident_address)).first()
    if existing is not None:
        return existing
    now = utcnow()
    conn.execute(insert_ignoring_duplicates(conn, conversations).values(
        id=new_id(), tenant=tenant, channel=channel, resident_address=resident_address, state="assistant",
        language=language, created_at=now, updated_at=now, last_activity_at=now, deleted=False,
    ))
    # Either our row or the one a concurrent transaction committed first.
    return conn.execute(_open_conversation_query(tenant, channel, resident_address)).one()


def find_open_conversation(conn: Connection, *, tenant: str, channel: str, resident_address: str) -> Row | None:
    """The resident's open conversation on this channel, or None (nothing is started)."""
    return conn.execute(_open_conversation_query(tenant, channel, resident_address)).first()


def get_conversation(conn: Connection, conversation_id: str, *, tenants: Iterable[str] | None = None) -> Row | None:
    """One conversation; with `tenants`, None unless it belongs to one of them (operator scoping)."""
    query = select(conversations).where(conversations.c.id == conversation_id)
    if tenants is not None:
        query = query.where(conversations.c.tenant.in_(list(tenants)))
    return conn.execute(query).first()


def list_conversations(conn: Connection, tenant: str, *, state: str | None = None, limit: int = 50) -> list[Row]:
    query = select(conversations).where(conversations.c.tenant == tenant, conversations.c.deleted.is_(False))
    if state is not None:
        query = query.where(conversations.c.state == state)
    return list(conn.execute(query.order_by(conversations.c.last_activity_at.desc()).limit(limit)))


def set_conversation_state(conn: Connection, conversation_id: str, state: str, *,
                           only_from: str | None = None) -> bool:
    """Move a conversation to `state` (optionally only if it is in `only_from`); False if nothing changed."""
    if state not in CONVERSATION_STATES:
        raise ValueError(f"unknown conversation state {state!r}")
    statement = update(conversations).where(conversations.c.id == conversation_id).values(
        state=state, updated_at=utcnow())
    if only_from is not None:
        statement = statement.where(conversations.c.state == only_from)
    return conn.execute(statement).rowcount == 1


def append_message(conn: Connection, *, conversation_id: str, tenant: str, role: str, text: str,
                   turn_id: str | None = None, meta: dict[str, Any] | None = None) -> int:
    """Add a message to the transcript and mark the conversation active. Returns the message id (increasing)."""
    now = utcnow()
    result = conn.execute(messages.insert().values(
        conversation_id=conversation_id, tenant=tenant, role=role, text=text, turn_id=turn_id, meta=meta,
        created_at=now,
    ).returning(messages.c.id))
    conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(
        last_activity_at=now, updated_at=now))
    return result.scalar_one()


def list_messages(conn: Connection, conversation_id: str, *, after_id: int = 0, limit: int = 500) -> list[Row]:
    """The transcript in order; `after_id` lets a page poll for what is new since the last message it showed."""
    query = (select(messages).where(messages.c.conversation_id == conversation_id, messages.c.id > after_id)
             .order_by(messages.c.id).limit(limit))
    return list(conn.execute(query))


def latest_messages(conn: Connection, conversation_id: str, *, limit: int) -> list[Row]:
    """The conversation's last `limit` messages, oldest first: what a turn remembers, read without the rest of a
    long transcript (each message's metadata is JSON to decode)."""
    query = (select(messages).where(messages.c.conversation_id == conversation_id)
             .order_by(messages.c.id.desc()).limit(limit))
    return list(conn.execute(query))[::-1]


def first_resident_texts(conn: Connection, conversation_ids: Iterable[str]) -> dict[str, str]:
    """Each conversation's first resident message: the question a queue row previews."""
    first = (select(messages.c.conversation_id, func.min(messages.c.id).label("id"))
             .where(messages.c.conversation_id.in_(list(conversation_ids)), messages.c.role == "resident")
             .group_by(messages.c.conversation_id).subquery())
    query = select(messages.c.conversation_id, messages.c.text).join(first, messages.c.id == first.c.id)
    return {conversation_id: text for conversation_id, text in conn.execute(query)}


def assistant_message_of_turn(conn: Connection, turn_id: str) -> Row | None:
    """The assistant's reply that a turn produced."""
    return conn.execute(select(messages).where(messages.c.turn_id == turn_id, messages.c.role == "assistant")
                        .order_by(messages.c.id).limit(1)).first()


def resident_message_of_inbound(conn: Connection, conversation_id: str, inbound_id: int, *,
                                recent: int = 50) -> Row | None:
    """The resident's message of this inbound event (tagged with meta "inbound_event_id"), among the latest few."""
    rows = conn.execute(select(messages).where(messages.c.conversation_id == conversation_id,
                                               messages.c.role == "resident")
                        .order_by(messages.c.id.desc()).limit(recent))
    return next((row for row in rows if (row.meta or {}).get("inbound_event_id") == inbound_id), None)


def previous_resident_message_id(conn: Connection, conversation_id: str, before_id: int) -> int | None:
    """The resident's message before message `before_id` in the conversation."""
    return conn.execute(select(func.max(messages.c.id)).where(
        messages.c.conversation_id == conversation_id, messages.c.role == "resident",
        messages.c.id < before_id)).scalar()


def first_message_after(conn: Connection, conversation_id: str, after_id: int) -> Row | None:
    return conn.execute(select(messages).where(messages.c.conversation_id == conversation_id,
                                               messages.c.id > after_id).order_by(messages.c.id).limit(1)).first()


def latest_inbound_of(conn: Connection, conversation_id: str) -> int | None:
    """The inbound event of the resident's latest message in a conversation (meta "inbound_event_id")."""
    query = (select(messages.c.meta).where(messages.c.conversation_id == conversation_id,
                                           messages.c.role == "resident")
             .order_by(messages.c.id.desc()).limit(20))
    for meta in conn.execute(query).scalars():
        if isinstance(meta, dict) and isinstance(meta.get("inbound_event_id"), int):
            return meta["inbound_event_id"]
    return None


def record_turn(conn: Connection, *, tenant: str, conversation_id: str, outcome: Any,
                inbound_event_id: int | None = None, reason: Any = None, confidence: float | None = None,
                risk: str | None = None, intent: str | None = None, language: str | None = None,
                sources: list[dict[str, Any]] | None = None, timings: dict[str, float] | None = None,
                index_version: str | None = None, config_version: str | None = None,
                redacted_question: str | None = None, turn_id: str | None = None, channel: str | None = None,
                template: str | None = None, template_version: str | None = None) -> str:
    """Store what a turn decided and why. At most one turn per inbound event (unique): a retried event whose turn
    was already committed raises IntegrityError; check turn_for_inbound() first when retrying."""
    turn_id = turn_id or new_id()
    conn.execute(turns.insert().values(
        id=turn_id, tenant=tenant, conversation_id=conversation_id, inbound_event_id=inbound_event_id,
        outcome=_value(outcome), reason=_value(reason), confidence=confidence, risk=risk, intent=intent,
        language=language, sources=sources, timings=timings, index_version=index_version,
        config_version=config_version, redacted_question=redacted_question, created_at=utcnow(),
        channel=channel, template=template, template_version=template_version,
    ))
    return turn_id


def turn_for_inbound(conn: Connection, inbound_event_id: int) -> Row | None:
    return conn.execute(select(turns).where(turns.c.inbound_event_id == inbound_event_id)).first()


def turn_of_conversation(conn: Connection, turn_id: str, conversation_id: str) -> Row | None:
    return conn.execute(select(turns).where(turns.c.id == turn_id, turns.c.conversation_id == conversation_id)).first()


def turn_of_tenant(conn: Connection, turn_id: str, tenant: str) -> Row | None:
    return conn.execute(select(turns).where(turns.c.id == turn_id, turns.c.tenant == tenant)).first()


def turns_of_conversation(conn: Connection, conversation_id: str) -> list[Row]:
    return list(conn.execute(select(turns).where(turns.c.conversation_id == conversation_id)
                             .order_by(turns.c.created_at)))


def list_turns(conn: Connection, tenant: str, *, since: datetime | None = None, limit: int = 1000) -> list[Row]:
    query = select(turns).where(turns.c.tenant == tenant)
    if since is not None:
        query = query.where(turns.c.created_at >= since)
    return list(conn.execute(query.order_by(turns.c.created_at).limit(limit)))


def record_feedback(conn: Connection, *, tenant: str, conversation_id: str, rating: str,
                    turn_id: str | None = None, comment: str | None = None) -> int:
    result = conn.execute(feedback.insert().values(
        tenant=tenant, conversation_id=conversation_id, turn_id=turn_id, rating=rating, comment=comment,
        created_at=utcnow(),
    ).returning(feedback.c.id))
    return result.scalar_one()


def erase_conversation(conn: Connection, conversation_id: str) -> bool:
    """A resident's deletion request: keep the skeleton (counts, outcomes) and erase every text they gave us.

    The conversation is closed and flagged deleted; message texts and metadata, the redacted question, every
    inbound payload of the conversation (those that made no turn too: a message sent while an operator held it),
    outbox payloads and recipients, feedback comments, operator notes, the escalations' metadata (a mail's whole
    body) and resolution notes are blanked. Returns False if there is no such conversation.
    (tests/governance/test_erasure_coverage.py enumerates the schema's tables, so a new one cannot be forgotten.)
    """
    changed = conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(
        deleted=True, state="closed", resident_address=ERASED, updated_at=utcnow())).rowcount
    if not changed:
        return False
    _erase_children(conn, conversation_id)
    return True


def _inbound_ids_of_messages(conn: Connection, conversation_id: str) -> list[int]:
    """Events named by the transcript (rows recorded before events carried their conversation)."""
    metas = conn.execute(select(messages.c.meta).where(messages.c.conversation_id == conversation_id,
                                                       messages.c.role == "resident")).scalars()
    return [m["inbound_event_id"] for m in metas if isinstance(m, dict) and isinstance(m.get("inbound_event_id"), int)]


def _erase_children(conn: Connection, conversation_id: str) -> None:
    by_transcript = _inbound_ids_of_messages(conn, conversation_id)
    conn.execute(update(messages).where(messages.c.conversation_id == conversation_id).values(text=ERASED, meta=None))
    by_turn = select(turns.c.inbound_event_id).where(
        turns.c.conversation_id == conversation_id, turns.c.inbound_event_id.is_not(None))
    conn.execute(update(inbound_events).where(or_(
        inbound_events.c.conversation_id == conversation_id, inbound_events.c.id.in_(by_turn),
        inbound_events.c.id.in_(by_transcript))).values(payload={"erased": True}, last_error=None))
    conn.execute(update(turns).where(turns.c.conversation_id == conversation_id).values(redacted_question=None))
    # An unsent reply is cancelled rather than delivered with an erased body.
    conn.execute(update(outbox).where(outbox.c.conversation_id == conversation_id).values(
        payload={"erased": True}, recipient=ERASED, last_error=None,
        status=case((outbox.c.status == "sent", "sent"), else_="failed")))
    conn.execute(update(feedback).where(feedback.c.conversation_id == conversation_id).values(comment=None))
    escalation_ids = select(escalations.c.id).where(escalations.c.conversation_id == conversation_id)
    conn.execute(update(operator_notes).where(operator_notes.c.escalation_id.in_(escalation_ids)).values(text=ERASED))
    conn.execute(update(escalations).where(escalations.c.conversation_id == conversation_id).values(
        meta=None, resolution_reason=None))
    # Nothing is left to answer: an open hand-over leaves the queue (and its holder's claim ends).
    conn.execute(update(escalations).where(escalations.c.conversation_id == conversation_id,
                                           escalations.c.state.in_(OPEN_ESCALATION_STATES)).values(
        state="returned", resolved_at=utcnow(), claim_token=None, updated_at=utcnow()))


def erase_unattached_inbound(conn: Connection, tenant: str, *, received_before: datetime) -> int:
    """Retention for events that never joined a conversation (an unfollow, a call's status, an event that failed
    for good): their payloads go once they are older than the retention period. Returns how many."""
    stale = and_(inbound_events.c.tenant == tenant, inbound_events.c.conversation_id.is_(None),
                 inbound_events.c.received_at < received_before, inbound_events.c.status.in_(("done", "failed")),
                 ~inbound_events.c.id.in_(select(turns.c.inbound_event_id).where(turns.c.inbound_event_id.is_not(None))))
    erased = {"erased": True}
    ids = [row.id for row in conn.execute(select(inbound_events.c.id, inbound_events.c.payload).where(stale))
           if row.payload != erased]
    if ids:
        conn.execute(update(inbound_events).where(inbound_events.c.id.in_(ids)).values(payload=erased,
                                                                                       last_error=None))
    return len(ids)


def erase_inactive_conversations(conn: Connection, tenant: str, *, inactive_before: datetime) -> int:
    """Retention: erase every conversation of the tenant with no activity since `inactive_before`."""
    stale = conn.execute(select(conversations.c.id).where(
        conversations.c.tenant == tenant, conversations.c.deleted.is_(False),
        conversations.c.last_activity_at < inactive_before)).scalars().all()
    return sum(erase_conversation(conn, conversation_id) for conversation_id in stale)
