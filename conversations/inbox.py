"""The inbox: every inbound event (from any channel, the web chat included) is recorded here before anything else,
unique on (tenant, channel, the provider's own id), so a redelivery is recognised and a crash loses nothing. Recording
wakes the inbox workers: this process's at once, other processes' through PostgreSQL NOTIFY on commit. An event
whose words say emergency is recorded with a higher priority, so workers take it before the backlog.

Nothing is recorded as sent: the event is screened first (governance/intake.py), so a My Number or card number
never reaches a table, and other personal data only where the tenant keeps it. Every recording goes through here
(`record_inline` for the web API, which runs its turn in the request)."""
from __future__ import annotations

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
        fresh = [_record(conn, services, event) for event in events]
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


def _record(conn: Connection, services: ConversationServices, event: InboundEvent) -> bool:
    tenant = services.tenants.get(event.tenant)
    priority = inbox_priority(tenant, event.text) if tenant is not None else 0
    language = detect_language(event.text, default=tenant.get("language", "ja") if tenant is not None else "ja")
    return record_inbound(conn, screen_event(event, tenant, language), priority=priority)
