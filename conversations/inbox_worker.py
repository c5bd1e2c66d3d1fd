"""The inbox worker: takes recorded inbound events one at a time and runs their turns.

    worker = InboxWorker(services, "inbox-1")
    worker.run(stop)          # until stop is set; or worker.run_once() -> how many events it handled

Each pass leases one event (`claim_inbound_batch`, a lease so a dead worker's event is taken over after
`inbox_lease_s`), hands it to `conversations.turns.process_inbound_row(services, row)` — which, in one
transaction, stores the turn, its escalation, its outbox reply and marks the event done — and on an exception gives
the event back with `mark_inbound_failed` (retried later with backoff; failed for good after the storage's
max attempts). One event per claim: a slow turn then never holds a batch of other residents' events hostage.

Mail that must not be answered (auto-replies, bounces, lists, no-reply senders: meta "do_not_answer") is the
dialogue's to recognise: its text is stored in the resident's transcript so an operator can read it, and the event
is marked done with no turn and no reply — answering could start a mail loop, and queueing it would fill the
operators' queue with robots. E-mail questions that end in an escalation get the whole message (body, subject,
sender, attachment names) in the escalation's meta under "email" for the operator.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from channels.base import InboundEvent
from conversations.inbox import merge_escalation_meta
from conversations.runtime import ChannelRuntime, poll_until_stopped, runtime_for
from storage import claim_inbound_batch, inbound_event_from_row, mark_inbound_failed

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 300
ProcessRow = Callable[[Any, Any], Any]  # (services, inbound row) -> ProcessedTurn


def default_process() -> ProcessRow:
    from conversations.turns import process_inbound_row

    return process_inbound_row


class InboxWorker:
    def __init__(self, services: Any, name: str, *, process: ProcessRow | None = None,
                 runtime: ChannelRuntime | None = None) -> None:
        self.services = services
        self.name = name
        self.runtime = runtime or runtime_for(services)
        self._process = process

    @property
    def process(self) -> ProcessRow:
        # Resolved late so a test (or a later-imported dialogue) can set runtime.process after construction.
        return self._process or self.runtime.process or default_process()

    def run(self, stop: threading.Event) -> None:
        poll_until_stopped(stop, self.runtime.inbox_wakeup, self.run_once, self.runtime.settings.worker_poll_s,
                           f"inbox worker {self.name}")

    def run_once(self) -> int:
        with self.services.db.transaction() as conn:
            rows = claim_inbound_batch(conn, self.name, lease_seconds=self.runtime.settings.inbox_lease_s, limit=1)
        for row in rows:
            self.handle(row)
        return len(rows)

    def handle(self, row: Any) -> None:
        try:
            processed = self.process(self.services, row)
            self._after_turn(inbound_event_from_row(row), processed)
        except Exception as exc:  # noqa: BLE001 - any failure: give the event back for a later retry
            log.exception("inbound event %s (%s) failed on attempt %s", row.id, row.channel, row.attempts)
            self._give_back(row, exc)
        finally:
            self.runtime.turn_waiters.finished(row.id)
            self.runtime.nudge_sender()

    def _after_turn(self, event: InboundEvent, processed: Any) -> None:
        escalation_id = getattr(processed, "escalation_id", None)
        if escalation_id and event.channel == "email" and not getattr(processed, "replayed", False):
            with self.services.db.transaction() as conn:
                merge_escalation_meta(conn, escalation_id, {"email": _mail_meta(event)})

    def _give_back(self, row: Any, exc: Exception) -> None:
        delay = min(5 * 2 ** max(row.attempts - 1, 0), MAX_RETRY_DELAY_S)
        try:
            with self.services.db.transaction() as conn:
                mark_inbound_failed(conn, row, f"{type(exc).__name__}: {exc}", retry_after_seconds=delay)
        except Exception:  # noqa: BLE001 - the lease runs out and another pass retries it anyway
            log.exception("could not give inbound event %s back", row.id)


def _mail_meta(event: InboundEvent) -> dict[str, Any]:
    """What an operator needs of an e-mail: the whole body, subject, sender, attachments (names only)."""
    if event.channel != "email":
        return {}
    keys = ("subject", "body", "attachments", "message_id", "html_only", "auto_reasons", "reply_to")
    return {"from": event.sender, **{k: event.meta.get(k) for k in keys if k in event.meta}}


def start_workers(services: Any, stop: threading.Event, count: int | None = None) -> list[threading.Thread]:
    from conversations.wakeups import start_inbox_listener

    runtime = runtime_for(services)
    count = runtime.settings.inbox_workers if count is None else count
    if count <= 0:
        return []
    threads = start_inbox_listener(services, stop)
    for i in range(count):
        worker = InboxWorker(services, f"inbox-{os.getpid()}-{i + 1}", runtime=runtime)
        thread = threading.Thread(target=worker.run, args=(stop,), name=f"madoguchi-inbox-{i + 1}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
