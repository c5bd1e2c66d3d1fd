"""The web chat: the page posts to the JSON API (madoguchi/api) and reads replies from the stored transcript, so
there is no provider to verify, parse or send through, and no reply goes through the outbox."""
from __future__ import annotations

from typing import ClassVar

from channels.base import Channel
from core.messages import OutboundMessage


class WebChannel(Channel):
    name: ClassVar[str] = "web"
    configurable: ClassVar[bool] = False
    takes_webhooks: ClassVar[bool] = False
    replies_through_outbox: ClassVar[bool] = False

    @classmethod
    def needs_provider(cls, message: OutboundMessage) -> bool:
        return False
