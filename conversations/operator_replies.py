"""Operator replies to residents: one transaction from the claim check to the outbox.

    message_id = send_operator_reply(services, token, "sato", "お待たせしました。…")   # raises StaleClaim

queue.record_reply(token) runs first and locks the escalation row (PostgreSQL) until the commit, so a claim that
was re-queued or taken by someone else in the meantime sends nothing: the transaction writes no message and no
outbox row, and StaleClaim tells the console to say "this conversation is no longer yours".
The web chat reads operator messages by polling; every other channel gets the text through the outbox, keyed
f"operator:{message id}" so a retried send never delivers twice.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select

from channels.base import OutboundMessage
from escalation.queue import StaleClaim
from storage import append_message, enqueue_outbox, get_conversation
from storage.schema import escalations

MAX_REPLY_CHARS = 4000  # LINE caps a text message at 5,000 characters; SMS and voice need far less


def send_operator_reply(services: Any, token: str, operator: str, text: str) -> int:
    """Append the operator's reply to the transcript and queue it for the resident's channel; returns the message
    id. Raises StaleClaim (nothing written, nothing sent) when `token` no longer holds the escalation for
    `operator`, and ValueError for an empty or over-long text."""
    text = text.strip()
    if not text or len(text) > MAX_REPLY_CHARS:
        raise ValueError(f"a reply needs 1–{MAX_REPLY_CHARS} characters")
    with services.db.transaction() as conn:
        if not services.queue.record_reply(conn, token):
            raise StaleClaim("this escalation is no longer held by your claim")
        escalation = _held_escalation(conn, token, operator)
        conversation = get_conversation(conn, escalation.conversation_id)
        message_id = append_message(conn, conversation_id=conversation.id, tenant=conversation.tenant,
                                    role="operator", text=text,
                                    meta={"operator": operator, "escalation_id": escalation.id})
        if conversation.channel != "web":
            enqueue_outbox(conn, OutboundMessage(
                channel=conversation.channel, tenant=conversation.tenant, recipient=conversation.resident_address,
                text=text, idempotency_key=f"operator:{message_id}"), conversation_id=conversation.id)
        return message_id


def ask_for_satisfaction(services: Any, escalation_id: str) -> int | None:
    """After an operator resolves a conversation, one short satisfaction question (解決した / 解決しない) goes to the
    resident on their channel; the answer comes back as feedback on `escalation:<id>`. Sent once per escalation."""
    from dialogue.compose import Composer

    feedback_ref = f"escalation:{escalation_id}"
    with services.db.transaction() as conn:
        escalation = conn.execute(select(escalations).where(escalations.c.id == escalation_id)).first()
        conversation = get_conversation(conn, escalation.conversation_id) if escalation is not None else None
        if conversation is None or conversation.deleted:
            return None
        text = Composer(services.tenant(conversation.tenant)).render("satisfaction", conversation.language or "ja")
        key = f"satisfaction:{escalation_id}"
        if conversation.channel != "web" and not enqueue_outbox(conn, OutboundMessage(
                channel=conversation.channel, tenant=conversation.tenant, recipient=conversation.resident_address,
                text=text, idempotency_key=key, meta={"feedback_ref": feedback_ref}), conversation_id=conversation.id):
            return None  # asked before
        return append_message(conn, conversation_id=conversation.id, tenant=conversation.tenant, role="assistant",
                              text=text, meta={"kind": "satisfaction", "feedback_ref": feedback_ref})


def _held_escalation(conn: Connection, token: str, operator: str) -> Row:
    """The escalation the token holds; a token held by someone else is stale for `operator` (the raise rolls the
    transaction back, record_reply's audit row included)."""
    row = conn.execute(select(escalations).where(escalations.c.claim_token == token)).first()
    if row is None or row.claimed_by != operator:
        raise StaleClaim("this escalation is held by another operator")
    return row
