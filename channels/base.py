"""What every channel is: one class per provider (a module each, listed once in channels/registry.py).

An adapter is pure where it can be: `verify` raises on a bad signature (fail closed), `parse` turns a provider
payload into InboundEvents with no I/O, `send` delivers an OutboundMessage with an idempotency key.

Everything particular to a provider lives on its class, so no code outside channels/ asks a channel's name:
whether its replies go through the outbox, whether they need the provider at all, what a reply to an event must
carry (LINE's reply token, e-mail's thread headers), what an operator needs to see of a message, whether the
generic webhook route (POST /webhooks/{channel}/{tenant}) takes its requests. The class answers these without
credentials (a channel that is off for a tenant still has rows to describe), the instance does the I/O.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

from channels.config import ChannelConfig
from config.settings import Settings
from core.messages import InboundEvent, OutboundMessage


class SignatureError(Exception):
    """The request is not from the provider: reject it and store nothing."""


class MissingSignature(SignatureError):
    """The request carries no signature (or token) at all: answer 401, store nothing."""


class PayloadError(ValueError):
    """The payload is malformed: answer 4xx with this reason."""


class WebhookOff(LookupError):
    """The channel is on, but this tenant does not take its requests over HTTP (answer 404 saying why)."""


class Channel:
    """A provider's adapter. Subclasses set `name` and override what differs from these defaults."""

    name: ClassVar[str] = ""
    # Adapters that need tenant settings are built from the YAML `channels:` section and the environment.
    configurable: ClassVar[bool] = True
    # The generic webhook route records this channel's requests (LINE, HTTP inbound mail); voice and Slack answer
    # in the response and have their own routes in madoguchi/web.
    takes_webhooks: ClassVar[bool] = True
    # Replies are queued in the outbox for the sender; False where the resident reads them from the transcript.
    replies_through_outbox: ClassVar[bool] = True
    # A reply is sent in the context of the resident's inbound event (see with_reply_context).
    replies_in_context: ClassVar[bool] = False
    # An operator's reply is threaded under the resident's latest message (e-mail In-Reply-To).
    threads_operator_replies: ClassVar[bool] = False
    # Settings read only from the environment, never from the (committed) tenant YAML.
    secret_keys: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_config(cls, config: ChannelConfig, settings: Settings) -> Channel:
        """Build the tenant's adapter; raises channels.config.MissingSettingsError or ValueError."""
        raise NotImplementedError(f"the {cls.name} channel is not configurable")

    @classmethod
    def needs_provider(cls, message: OutboundMessage) -> bool:
        """False when the outbox row is delivered by being stored (the sender marks it sent at once)."""
        return True

    @classmethod
    def reply_meta(cls, event: InboundEvent) -> dict[str, Any]:
        """What the assistant's reply to `event` carries for the provider, beyond its text."""
        return {}

    @classmethod
    def with_reply_context(cls, message: OutboundMessage, event: Mapping[str, Any]) -> OutboundMessage:
        """Fill in, from the stored inbound event (its payload), what the provider needs to reply in context."""
        return message

    @classmethod
    def escalation_meta(cls, event: InboundEvent) -> dict[str, Any]:
        """What an operator needs of the message that was handed over, beyond the transcript."""
        return {}

    @classmethod
    def mailbox(cls, config: ChannelConfig) -> Any:
        """A mailbox to poll for inbound messages as well as the webhook, or None."""
        return None

    # -- the instance: I/O with the provider -----------------------------------------------------------------

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> None:
        """Raise SignatureError (MissingSignature without one) unless the request is authentic."""
        raise MissingSignature(f"the {self.name} channel takes no requests")

    def parse(self, raw: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        """Provider payload -> events, without I/O. Raise PayloadError on a malformed payload."""
        raise PayloadError(f"the {self.name} channel takes no requests")

    def send(self, message: OutboundMessage) -> None:
        """Deliver once per idempotency key."""
        raise NotImplementedError(f"the {self.name} channel sends nothing")
