"""Retention: a conversation is kept only for the tenant's `retention_days` after its last activity, and a
resident may have a conversation erased at any time.

Erasure keeps the skeleton (outcomes, counts, timings: what the dashboard aggregates) and blanks every text the
resident gave (storage.erase_conversation: transcript, inbound payloads, escalation metadata, outbox, feedback,
notes). Inbound events that joined no conversation lose their payloads after the same period, and staff sign-in
records (expired sessions, failed sign-ins with client addresses) go after a day. Audit rows stay: they are
append-only and hold only redacted text and ids.

    summary = run(services)                       # {tenant: conversations erased}; madoguchi/background.py runs it daily
    erase_on_request(services, tenant, conversation_id, actor="resident")
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from storage import (
    append_audit, erase_conversation, erase_inactive_conversations, erase_unattached_inbound, forget_expired_sessions,
    forget_old_sign_in_failures, get_conversation, utcnow,
)

log = logging.getLogger(__name__)
DEFAULT_RETENTION_DAYS = 90
RUN_EVERY_SECONDS = 24 * 3600
RETENTION_ACTOR = "retention"
STAFF_RECORDS_DAYS = 1


def retention_days(tenant: Any) -> int:
    return int(tenant.get("retention_days", DEFAULT_RETENTION_DAYS) or DEFAULT_RETENTION_DAYS)


def run(services: Any, *, now: datetime | None = None) -> dict[str, int]:
    """Erase, per tenant, every conversation inactive for longer than its retention period."""
    now = now or utcnow()
    summary: dict[str, int] = {}
    for tenant in services.tenants.values():
        cutoff = now - timedelta(days=retention_days(tenant))
        with services.db.transaction() as conn:
            erased = erase_inactive_conversations(conn, tenant.id, inactive_before=cutoff)
            events = erase_unattached_inbound(conn, tenant.id, received_before=cutoff)
            if erased or events:
                append_audit(conn, actor=RETENTION_ACTOR, action="retention.erase", tenant=tenant.id,
                             detail={"erased": erased, "inbound_events": events,
                                     "inactive_before": cutoff.isoformat(), "retention_days": retention_days(tenant)})
        summary[tenant.id] = erased
    with services.db.transaction() as conn:
        staff_cutoff = now - timedelta(days=STAFF_RECORDS_DAYS)
        forget_expired_sessions(conn, staff_cutoff)
        forget_old_sign_in_failures(conn, staff_cutoff)
    log.info("retention run: %s", summary)
    return summary


def erase_on_request(services: Any, tenant: str, conversation_id: str, *, actor: str = "resident") -> bool:
    """A resident's (or staff's on their behalf) deletion request; False when there is no such conversation."""
    with services.db.transaction() as conn:
        if get_conversation(conn, conversation_id, tenants=[tenant]) is None:
            return False
        erase_conversation(conn, conversation_id)
        append_audit(conn, actor=actor, action="conversation.erase", tenant=tenant, target=conversation_id,
                     detail={"requested_by": actor})
    return True


def start_retention_loop(services: Any, stop: threading.Event,
                         every_seconds: float = RUN_EVERY_SECONDS) -> threading.Thread:
    """Runs once at start-up, then every `every_seconds`, until `stop` is set."""
    def loop() -> None:
        while not stop.is_set():
            try:
                run(services)
            except Exception:  # a failed run is retried next time; the loop must not die
                log.exception("retention run failed")
            stop.wait(every_seconds)

    thread = threading.Thread(target=loop, name="governance-retention", daemon=True)
    thread.start()
    return thread
