"""Telling the resident: the one way anything (the turn, an operator, the SLA watcher, the satisfaction question)
sends a resident a message. The message is stored in the transcript and, unless the channel's residents read
replies there (the web chat), queued in the outbox with an idempotency key, in the caller's transaction.

The key is `<kind>:<ref>`, and this module is the only one that writes or reads that format:
    reply:<inbound event id>       the assistant's answer to an inbound event
    operator:<message id>          an operator's reply
    holding:<escalation id>        the SLA watcher's holding message
    pii_not_kept:<inbound id>      "do not send My Number": a message the assistant does not answer (an operator
                                   holds the conversation); with a turn, the notice opens the reply itself
    satisfaction:<escalation id>   the question after an operator resolved
    sms:<call step>                links a caller asked for by SMS (outbox only: not a transcript message)
    busy:<inbound event id>        the busy notice to a new resident while the inbox is past its limits
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels.registry import channel_class
from core.messages import OutboundMessage
from storage import Connection, Row, append_message, enqueue_outbox, outbox_by_key

REPLY, OPERATOR, SATISFACTION, SMS, BUSY = "reply", "operator", "satisfaction", "sms", "busy"


def message_key(kind: str, ref: str | int) -> str:
    return f"{kind}:{ref}"


def reply_key(inbound_id: int) -> str:
    """The outbox key of the assistant's reply to an inbound event."""
    return message_key(REPLY, inbound_id)


def inbound_id_of_reply(idempotency_key: str) -> int | None:
    """The inbound event a reply answers, or None for any other kind of message."""
    kind, _, number = idempotency_key.partition(":")
    return int(number) if kind == REPLY and number.isdigit() else None


def is_operator_message(idempotency_key: str) -> bool:
    return idempotency_key.partition(":")[0] == OPERATOR


def tell_resident(conn: Connection, conversation: Row, text: str, *, kind: str, ref: str | int | None = None,
                  role: str = "assistant", turn_id: str | None = None, message_meta: dict[str, Any] | None = None,
                  outbox_meta: dict[str, Any] | None = None, choices: Sequence[str] = (),
                  reply_token: str | None = None, recipient: str | None = None) -> int | None:
    """Store `text` in the conversation and queue it for the resident's channel; returns the message id.

    The key is `<kind>:<ref>` (`ref` defaults to the new message's id). None means this key was told before:
    nothing is written, so a retried caller never tells the resident twice.
    """
    if ref is not None and outbox_by_key(conn, message_key(kind, ref)) is not None:
        return None
    message_id = append_message(conn, conversation_id=conversation.id, tenant=conversation.tenant, role=role,
                                text=text, turn_id=turn_id, meta=message_meta)
    if channel_class(conversation.channel).replies_through_outbox:
        enqueue_outbox(conn, OutboundMessage(
            channel=conversation.channel, tenant=conversation.tenant,
            recipient=recipient or conversation.resident_address, text=text,
            idempotency_key=message_key(kind, message_id if ref is None else ref), choices=tuple(choices),
            reply_token=reply_token, meta=outbox_meta or {}), conversation_id=conversation.id)
    return message_id
