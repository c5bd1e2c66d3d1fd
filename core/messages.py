"""The channel-neutral messages: what a resident sent (InboundEvent, recorded in the inbox with the provider's own
id) and what the resident is sent (OutboundMessage, delivered from the outbox once per idempotency key)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.text import MAX_MESSAGE_CHARS, storable


@dataclass(frozen=True)
class InboundEvent:
    channel: str  # web | line | voice | email | slack
    external_id: str  # the provider's own id (LINE webhookEventId, Slack event_id, CallSid+step, Message-ID)
    tenant: str
    sender: str  # the resident's address on that channel (LINE userId, phone number, email address, web session)
    kind: str = "message"  # message | postback | follow | unfollow | call | feedback
    text: str = ""
    reply_token: str | None = None  # LINE reply token, valid for a short while
    received_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Every channel's event holds only what both databases can store, field by field (so one event with a NUL
        never costs its batch-mates), and at most MAX_MESSAGE_CHARS of text; a cut is noted in meta
        ("cut_from_chars": the length received) so the reply can say so."""
        for name in ("channel", "external_id", "tenant", "sender", "kind", "text", "reply_token", "meta"):
            object.__setattr__(self, name, storable(getattr(self, name)))
        if len(self.text) > MAX_MESSAGE_CHARS:
            object.__setattr__(self, "meta", {**self.meta, "cut_from_chars": len(self.text)})
            object.__setattr__(self, "text", self.text[:MAX_MESSAGE_CHARS])


@dataclass(frozen=True)
class OutboundMessage:
    channel: str
    tenant: str
    recipient: str
    text: str
    idempotency_key: str  # the same key is never delivered twice
    choices: tuple[str, ...] = ()  # clarification choices (LINE quick replies, numbered lines elsewhere)
    reply_token: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
