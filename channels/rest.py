"""Rasa's REST channel (madoguchi/api/rasa_rest.py serves it): the client posts a message and reads the replies
in the response, operator messages included the next time it speaks. Replies are queued in the outbox like any
channel's (one record of what was said) and need no provider: the client pulls them."""
from __future__ import annotations

from typing import ClassVar

from channels.base import Channel
from core.messages import OutboundMessage


class RasaRestChannel(Channel):
    name: ClassVar[str] = "rest"
    configurable: ClassVar[bool] = False
    takes_webhooks: ClassVar[bool] = False  # its own route answers in the response

    @classmethod
    def needs_provider(cls, message: OutboundMessage) -> bool:
        return False
