"""The one small interface every channel adapter implements, and the channel-neutral messages they exchange.

An adapter is pure where it can be: `verify` raises on a bad signature (fail closed), `parse` turns a provider
payload into InboundEvents with no I/O, `send` delivers an OutboundMessage with an idempotency key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Protocol


class SignatureError(Exception):
    """The request is not from the provider: reject it and store nothing."""


class PayloadError(ValueError):
    """The payload is malformed: answer 4xx with this reason."""


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


class ChannelAdapter(Protocol):
    name: str

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> None:
        """Raise SignatureError unless the request is authentic."""

    def parse(self, raw: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        """Provider payload -> events, without I/O. Raise PayloadError on a malformed payload."""

    def send(self, message: OutboundMessage) -> None:
        """Deliver once per idempotency key."""
