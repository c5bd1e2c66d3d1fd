"""The inbox: every inbound event (from any channel, the web chat included) is recorded here before anything else,
unique on (tenant, channel, the provider's own id), so a redelivery is recognised and a crash loses nothing. Recording
wakes the inbox workers: this process's at once, other processes' through PostgreSQL NOTIFY on commit. An event
whose words say emergency is recorded with a higher priority, so workers take it before the backlog. While a
tenant's inbox is past the limits its YAML sets, a new resident's question is told at once that it is busy
(conversations/backpressure.py) and keeps its place.

Nothing is recorded as sent: the event is screened first (governance/intake.py), so a My Number or card number
never reaches a table, and other personal data only where the tenant keeps it. Every recording goes through here
(`record_inline` for the web API, which runs its turn in the request)."""
from __future__ import annotations

from conversations.backpressure import Pressure, is_new_resident_question, measure, tell_busy
from conversations.ports import ConversationServices
from core.messages import InboundEvent
from dialogue.language import detect_language
from dialogue.triage import inbox_priority
from governance.intake import screen_event
from storage import Connection, inbound_by_external_id, notify_inbox, record_inbound


def record_events(services: ConversationServices, events: list[InboundEvent]) -> list[bool]:
    """Record inbound events in one transaction (True: new, False: a redelivery) and wake the inbox worker."""
    if not events:
        return []
    with services.db.transaction() as conn:
        pressure = {tenant: measure(conn, services.tenant(tenant))  # before this batch joins the backlog
                    for tenant in {event.tenant for event in events} if tenant in services.tenants}
        fresh = [_record(conn, services, event, pressure.get(event.tenant)) for event in events]
        if any(fresh):
            notify_inbox(conn, services.db.schema)  # workers in other processes (PostgreSQL)
    if any(fresh):
        services.runtime.nudge_worker()
    return fresh


def record_event(services: ConversationServices, event: InboundEvent) -> tuple[int, bool]:
    """Record one event; returns (its inbound id, whether it is new). A redelivery finds the first recording."""
    with services.db.transaction() as conn:
        fresh = _record(conn, services, event)
        recorded = inbound_by_external_id(conn, event.tenant, event.channel, event.external_id)
        assert recorded is not None  # recorded just now, or by the delivery this one repeats
        inbound_id = recorded.id
        if fresh:
            notify_inbox(conn, services.db.schema)
    if fresh:
        services.runtime.nudge_worker()
    return inbound_id, fresh


def record_inline(services: ConversationServices, event: InboundEvent) -> bool:
    """Record one event whose turn the caller runs itself (the web API): screened, no worker woken."""
    with services.db.transaction() as conn:
        return _record(conn, services, event)


def _record(conn: Connection, services: ConversationServices, event: InboundEvent,
            pressure: Pressure | None = None) -> bool:
    tenant = services.tenants.get(event.tenant)
    priority = inbox_priority(tenant, event.text) if tenant is not None else 0
    language = detect_language(event.text, default=tenant.get("language", "ja") if tenant is not None else "ja")
    event = screen_event(event, tenant, language)  # before anything is written
    busy = pressure is not None and pressure.passed is not None and is_new_resident_question(conn, event, priority)
    if not record_inbound(conn, event, priority=priority):
        return False
    if busy:
        assert pressure is not None
        recorded = inbound_by_external_id(conn, event.tenant, event.channel, event.external_id)
        assert recorded is not None  # recorded just now
        tell_busy(conn, services, event, recorded.id, pressure)
    return True
