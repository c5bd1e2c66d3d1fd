"""The fail-safe around the queue: nobody waits in silence, no claim is held by a closed browser.

Every few seconds the watcher
  1. re-queues claims whose console stopped heartbeating (queue.requeue_stale), and
  2. sends ONE holding message to each resident whose hand-over passed its first-response deadline unclaimed:
     the office's phone number and hours (and, outside office hours, when the office opens again), through the
     `tell` function the composition root gives it (conversations.tell.tell_resident: the transcript, and the
     outbox keyed "holding:<escalation id>" for channels other than the web chat). queue.mark_holding_sent() is
     true for exactly one caller, in the same transaction, so two watchers (two app processes) still send one.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from config.tenancy import Tenant
from escalation.hours import format_local, is_open, next_opening
from escalation.queue import EscalationQueue
from escalation.settings import get_escalation_settings
from storage import Connection, Database, Row, append_audit, get_conversation, utcnow

HOLDING = "holding"  # the kind of message (and of its outbox key) a holding message is

log = logging.getLogger(__name__)


def holding_text(tenant: Any, now: datetime) -> str:
    """The holding message, in the resident's terms: who to call, when, and that they have not been forgotten."""
    contact = getattr(tenant, "contact", None) or {}
    office = contact.get("office") or getattr(tenant, "display_name", "")
    phone, hours = contact.get("phone"), contact.get("hours")
    details = "、".join(part for part in (f"電話 {phone}" if phone else "", hours or "") if part)
    call = f"お急ぎの場合は{office}" + (f"（{details}）" if details else "") + "へご連絡ください。"
    if is_open(tenant, now):
        return ("お待たせして申し訳ありません。担当者が順番に対応しておりますので、このままもう少しお待ちください。" + call)
    opening = format_local(tenant, next_opening(tenant, now))
    return (f"ただいま受付時間外のため、担当者は{opening}以降に順番にご連絡します。" + call)


class TellResident(Protocol):
    """Store a message in the conversation and queue it for the resident's channel (conversations.tell)."""

    def __call__(self, conn: Connection, conversation: Row, text: str, *, kind: str, ref: str | int | None = None,
                 message_meta: dict[str, Any] | None = None) -> int | None: ...


class WatchedServices(Protocol):
    db: Database
    queue: EscalationQueue
    tenants: dict[str, Tenant]


@dataclass
class SweepResult:
    requeued: int
    holding_sent: list[str]


class SlaWatcher:
    def __init__(self, services: WatchedServices, tell: TellResident, *,
                 stale_after_seconds: float | None = None) -> None:
        self.services = services
        self.tell = tell
        self.stale_after_seconds = stale_after_seconds or get_escalation_settings().claim_stale_seconds

    def sweep(self) -> SweepResult:
        requeued = self.services.queue.requeue_stale(self.stale_after_seconds)
        sent = [row.id for row in self.services.queue.overdue_unclaimed() if self.send_holding(row)]
        return SweepResult(requeued=requeued, holding_sent=sent)

    def send_holding(self, escalation: Row) -> bool:
        """Send the holding message for one overdue escalation; False when another watcher already did."""
        tenant = self.services.tenants.get(escalation.tenant)
        text = holding_text(tenant, utcnow()) if tenant else "お待たせして申し訳ありません。担当者が順番に対応しています。"
        with self.services.db.transaction() as conn:
            if not self.services.queue.mark_holding_sent(conn, escalation.id):
                return False
            conversation = get_conversation(conn, escalation.conversation_id)
            assert conversation is not None  # erasure blanks a conversation's texts but keeps its row
            self.tell(conn, conversation, text, kind=HOLDING, ref=escalation.id,
                      message_meta={"kind": HOLDING, "escalation_id": escalation.id})
            append_audit(conn, actor="system", action="escalation.holding_sent", tenant=escalation.tenant,
                         target=escalation.id, detail={"channel": conversation.channel})
        return True

    def run(self, stop: threading.Event, interval_seconds: float | None = None) -> None:
        interval = interval_seconds or get_escalation_settings().sla_check_seconds
        while not stop.is_set():
            try:
                self.sweep()
            except Exception:  # a database hiccup must not kill the fail-safe; try again next round
                log.exception("SLA sweep failed")
            stop.wait(interval)
