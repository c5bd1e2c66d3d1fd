"""Backpressure: when a tenant's inbox is past the limits its YAML sets, a resident who writes for the first time is
told at once, honestly, that it is busy — in their language, with the phone number — and their question keeps its
place in the inbox, to be answered in turn. Nothing is dropped or skipped: the notice is an extra message, not a
replacement for the answer.

Tenant YAML (no limit unless set; 0 also means none):

    backpressure:
      max_backlog: 300    # the tenant's events waiting in the inbox or running
      max_wait_s: 120     # how long the longest-waiting of them has waited

Who is told: a message on a channel whose replies go through the outbox (LINE, e-mail: a web chat or Rasa client
is answered within its own request, and the caller on the phone hears the call script), from a resident with no
open conversation on that channel, which the dialogue would answer (not mail flagged do_not_answer). Emergencies
are never told to wait: their words give them a higher inbox priority, so workers take them before the backlog
(conversations/inbox.py), and they get no notice.

The notice is written in the recording transaction: the resident's message (so the transcript reads question,
notice, answer; the turn later finds it instead of storing it twice), the notice in the transcript and in the
outbox under the key `busy:<inbound event id>` (a redelivery never tells twice). The outbox sender delivers it
while the question waits in the inbox.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from channels.registry import channel_class
from config.tenancy import Tenant
from conversations.ports import ConversationServices
from conversations.tell import BUSY, tell_resident
from conversations.turns import channel_reply_meta, resident_message_meta
from core.messages import InboundEvent
from storage import (
    Connection, append_message, attach_inbound_to_conversation, find_open_conversation, open_conversation,
    resident_is_waiting, utcnow,
)
from storage.operations import tenant_inbox_pressure

log = logging.getLogger(__name__)

BUSY_NOTICES = Counter("madoguchi_busy_notices", "Residents told the service is busy (backpressure), their "
                       "question kept in the inbox", ["tenant", "channel", "limit"])


@dataclass(frozen=True)
class BackpressureLimits:
    max_backlog: int = 0  # 0: no limit
    max_wait_s: float = 0.0

    @property
    def any(self) -> bool:
        return self.max_backlog > 0 or self.max_wait_s > 0


def limits_of(tenant: Tenant) -> BackpressureLimits:
    config: dict[str, Any] = tenant.get("backpressure") or {}
    return BackpressureLimits(max_backlog=int(config.get("max_backlog") or 0),
                              max_wait_s=float(config.get("max_wait_s") or 0))


@dataclass(frozen=True)
class Pressure:
    """A tenant's inbox as the limits see it, measured before a batch is recorded."""

    limits: BackpressureLimits
    backlog: int = 0
    wait_s: float = 0.0

    @property
    def passed(self) -> str | None:
        """Which limit the inbox is past ("backlog" or "wait"), or None."""
        if self.limits.max_backlog > 0 and self.backlog > self.limits.max_backlog:
            return "backlog"
        if self.limits.max_wait_s > 0 and self.wait_s > self.limits.max_wait_s:
            return "wait"
        return None

    @property
    def wait_minutes(self) -> int | None:
        """The wait as residents are told it: whole minutes, rounded up; None under a minute."""
        return math.ceil(self.wait_s / 60) if self.wait_s >= 60 else None


def measure(conn: Connection, tenant: Tenant, now: datetime | None = None) -> Pressure:
    limits = limits_of(tenant)
    if not limits.any:
        return Pressure(limits)
    backlog, oldest = tenant_inbox_pressure(conn, tenant.id, count_up_to=limits.max_backlog)
    wait_s = max(((now or utcnow()) - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return Pressure(limits, backlog, wait_s)


def is_new_resident_question(conn: Connection, event: InboundEvent, priority: int) -> bool:
    """What a busy notice is for: a first, ordinary question on a channel that answers through the outbox."""
    if priority > 0 or event.kind != "message" or not event.text.strip() or event.meta.get("do_not_answer"):
        return False
    if not event.sender or not channel_class(event.channel).replies_through_outbox:
        return False
    # A resident whose earlier message still waits is not new, though no conversation is open until its turn runs:
    # telling them busy now would answer their second message ahead of their first.
    if resident_is_waiting(conn, event):
        return False
    return find_open_conversation(conn, tenant=event.tenant, channel=event.channel,
                                  resident_address=event.sender) is None


def tell_busy(conn: Connection, services: ConversationServices, event: InboundEvent, inbound_id: int,
              pressure: Pressure) -> None:
    """In the recording transaction: the resident's message and the busy notice, into the transcript and outbox."""
    tenant = services.tenant(event.tenant)
    notice = services.engine.busy_notice(tenant, event.text, wait_minutes=pressure.wait_minutes)
    conversation = open_conversation(conn, tenant=event.tenant, channel=event.channel,
                                     resident_address=event.sender, language=notice.language)
    attach_inbound_to_conversation(conn, inbound_id, conversation.id)
    append_message(conn, conversation_id=conversation.id, tenant=event.tenant, role="resident", text=event.text,
                   meta=resident_message_meta(inbound_id, event))
    tell_resident(conn, conversation, notice.answer, kind=BUSY, ref=inbound_id,
                  message_meta={"notice": "busy", "language": notice.language, "limit": pressure.passed},
                  outbox_meta={"notice": "busy", **channel_reply_meta(event)}, reply_token=event.reply_token,
                  recipient=event.meta.get("reply_to") or event.sender)
    BUSY_NOTICES.labels(event.tenant, event.channel, pressure.passed or "").inc()
    log.info("inbound event %s: busy notice (%s past its limit: backlog %d, wait %.0f s)", inbound_id,
             pressure.passed, pressure.backlog, pressure.wait_s)
