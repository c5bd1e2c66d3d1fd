"""The fail-safe around the queue: nobody waits in silence, no claim is held by a closed browser.

Every few seconds the watcher
  1. re-queues claims whose console stopped heartbeating (queue.requeue_stale), and
  2. sends ONE holding message to each resident whose hand-over passed its first-response deadline unclaimed:
     the office's phone number and hours (and, outside office hours, when the office opens again), through the
     `tell` function the composition root gives it (conversations.tell.tell_resident: the transcript, and the
     outbox keyed "holding:<escalation id>" for channels other than the web chat). queue.mark_holding_sent() is
     true for exactly one caller, in the same transaction, so two watchers (two app processes) still send one.
     The message depends on the risk tier: the composition root passes conversations.holding.HoldingMessages,
     which repeats 119 / 110 / #7119 or the 24-hour crisis lines to an emergency or crisis in the resident's
     language; `holding_text` below is the routine one (and the default).
  3. raises a risk hand-over (an emergency, a crisis, or any other risk tier) left unclaimed past its deadline to
     the supervisors: an audit row
     (escalation.sla_alert), a warning log line and a Slack message with the claim button (escalation/
     slack_alerts.py), once per escalation, after the holding message's transaction committed.
Deadlines are per tier (escalation/hours.py sla_for: the tenant's sla.first_response_minutes, e.g. {emergency: 2,
crisis: 2, high: 10, routine: 15}), and the most urgent overdue escalations are handled first. `clock` is the
watcher's now (tests move it instead of waiting).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

from config.tenancy import ROUND_THE_CLOCK_TIERS, Tenant
from escalation.hours import format_local, is_open, next_opening
from escalation.queue import EscalationQueue
from escalation.settings import get_escalation_settings
from escalation.slack_alerts import OVERDUE_ALERT_ACTION, post_overdue_alert
from storage import Connection, Database, Row, append_audit, get_conversation, utcnow

HOLDING = "holding"  # the kind of message (and of its outbox key) a holding message is
# Only when no tier-aware holding text was wired in (the composition root always wires one): never the office hours.
RISK_FALLBACK = ("お待たせしています。命に関わる緊急の場合は、待たずに今すぐ 119（消防・救急）または 110（警察）へ、"
                 "つらいときは よりそいホットライン 0120-279-338（24時間）へお電話ください。")

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


HoldingText = Callable[[Any, Row, datetime], str]  # (tenant, escalation, now) -> the message


def routine_holding(tenant: Any, escalation: Row, now: datetime) -> str:
    if escalation.risk in ROUND_THE_CLOCK_TIERS:
        return RISK_FALLBACK
    if tenant is None:
        return "お待たせして申し訳ありません。担当者が順番に対応しています。"
    return holding_text(tenant, now)


@dataclass
class SweepResult:
    requeued: int
    holding_sent: list[str]
    alerted: list[str] = field(default_factory=list)


class SlaWatcher:
    def __init__(self, services: WatchedServices, tell: TellResident, *,
                 stale_after_seconds: float | None = None, holding: HoldingText = routine_holding,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.services = services
        self.tell = tell
        self.holding = holding
        self.clock = clock
        self.stale_after_seconds = stale_after_seconds or get_escalation_settings().claim_stale_seconds

    def sweep(self) -> SweepResult:
        requeued = self.services.queue.requeue_stale(self.stale_after_seconds)
        now = self.clock()
        sent = [row for row in self.services.queue.overdue_unclaimed(now=now) if self.send_holding(row, now)]
        # Any risk tier unclaimed past its deadline (emergency, crisis, health, deadline …) reaches a supervisor.
        alerted = [row.id for row in sent if row.risk and self.alert_supervisors(row, now)]
        return SweepResult(requeued=requeued, holding_sent=[row.id for row in sent], alerted=alerted)

    def send_holding(self, escalation: Row, now: datetime | None = None) -> bool:
        """Send the holding message for one overdue escalation; False when another watcher already did."""
        now = now or self.clock()
        text = self.holding(self.services.tenants.get(escalation.tenant), escalation, now)
        with self.services.db.transaction() as conn:
            if not self.services.queue.mark_holding_sent(conn, escalation.id, now):
                return False
            conversation = get_conversation(conn, escalation.conversation_id)
            assert conversation is not None  # erasure blanks a conversation's texts but keeps its row
            self.tell(conn, conversation, text, kind=HOLDING, ref=escalation.id,
                      message_meta={"kind": HOLDING, "escalation_id": escalation.id, "risk": escalation.risk})
            append_audit(conn, actor="system", action="escalation.holding_sent", tenant=escalation.tenant,
                         target=escalation.id, detail={"channel": conversation.channel, "risk": escalation.risk})
        return True

    def alert_supervisors(self, escalation: Row, now: datetime) -> bool:
        """A risk hand-over nobody claimed in time: audit, log and Slack (which may be down: the audit row
        and the console's breached list still say it). Runs once, for the watcher that sent the holding message."""
        waited = (now - escalation.created_at).total_seconds() / 60
        with self.services.db.transaction() as conn:
            append_audit(conn, actor="system", action=OVERDUE_ALERT_ACTION, tenant=escalation.tenant,
                         target=escalation.id, detail={"risk": escalation.risk, "waited_minutes": round(waited, 1)})
        log.warning("%s escalation %s unclaimed for %.0f minutes", escalation.risk, escalation.id, waited)
        try:
            post_overdue_alert(self.services, escalation, waited)
        except Exception:  # Slack down: the audit row and the console's breached list still say it
            log.exception("Slack alert for escalation %s failed", escalation.id)
        return True

    def run(self, stop: threading.Event, interval_seconds: float | None = None) -> None:
        interval = interval_seconds or get_escalation_settings().sla_check_seconds
        while not stop.is_set():
            try:
                self.sweep()
            except Exception:  # a database hiccup must not kill the fail-safe; try again next round
                log.exception("SLA sweep failed")
            stop.wait(interval)
