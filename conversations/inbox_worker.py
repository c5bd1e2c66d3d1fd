"""The inbox worker: takes recorded inbound events one at a time and runs their turns.

    worker = InboxWorker(services, "inbox-1")
    worker.run(stop)          # until stop is set; or worker.run_once() -> how many events it handled

Each pass leases one event (`claim_inbound_batch`: the most urgent first, and a resident's events one at a time in
the order recorded; a short lease kept alive by conversations/leases.py, so a dead worker's event is taken over after
`inbox_lease_s`), hands it to `conversations.turns.process_inbound_row(services, row)` — which, in one
transaction, stores the turn, its escalation, its outbox reply and marks the event done — and on an exception gives
the event back with `mark_inbound_failed` (retried later with backoff; failed for good after the storage's
max attempts). One event per claim: a slow turn then never holds a batch of other residents' events hostage.

Mail that must not be answered (auto-replies, bounces, lists, no-reply senders: meta "do_not_answer") is the
dialogue's to recognise: its text is stored in the resident's transcript so an operator can read it, and the event
is marked done with no turn and no reply — answering could start a mail loop, and queueing it would fill the
operators' queue with robots. What an operator needs of a handed-over message (an e-mail's whole body, subject,
sender, attachment names) is written with the escalation, in the turn's transaction (conversations/turns.py).
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from conversations.leases import start_lease_keeper
from conversations.ports import ConversationServices
from conversations.rate_limits import NOT_DEFERRED, RESIDENT, counted, hit, limits_for
from conversations.runtime import poll_until_stopped
from conversations.turns import process_inbound_row
from conversations.wakeups import start_inbox_listener
from storage import Row, claim_inbound_batch, mark_inbound_failed
from storage.inbound import defer_inbound

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 300
ProcessRow = Callable[[Any, Row], Any]  # (services, inbound row) -> ProcessedTurn


class InboxWorker:
    def __init__(self, services: ConversationServices, name: str, *, process: ProcessRow | None = None) -> None:
        self.services = services
        self.name = name
        self.runtime = services.runtime
        self._process = process

    @property
    def process(self) -> ProcessRow:
        # Resolved per turn, so a test can put a stand-in on the runtime after the worker started.
        return self._process or self.runtime.process or process_inbound_row

    def run(self, stop: threading.Event) -> None:
        poll_until_stopped(stop, self.runtime.inbox_wakeup, self.run_once, self.runtime.settings.worker_poll_s,
                           f"inbox worker {self.name}")

    def run_once(self) -> int:
        with self.services.db.transaction() as conn:
            rows = claim_inbound_batch(conn, self.name, lease_seconds=self.runtime.settings.inbox_lease_s, limit=1)
        for row in rows:
            self.handle(row)
        return len(rows)

    def handle(self, row: Row) -> None:
        if self._deferred(row):
            return
        try:
            with self.runtime.leases.holding(row):  # its lease is kept alive while the turn runs
                self.process(self.services, row)
        except Exception as exc:  # noqa: BLE001 - any failure: give the event back for a later retry
            log.exception("inbound event %s (%s) failed on attempt %s", row.id, row.channel, row.attempts)
            self._give_back(row, exc)
        finally:
            self.runtime.turn_waiters.finished(row.id)
            self.runtime.nudge_sender()

    def _deferred(self, row: Row) -> bool:
        """A resident past their limit on a signed-webhook channel: the event goes back to the inbox until the
        window has room (recorded, then deferred: answered late and in order, never lost)."""
        payload = row.payload or {}
        asks = payload.get("kind") == "message" and str(payload.get("text") or "").strip()
        if row.channel in NOT_DEFERRED or not asks or (payload.get("meta") or {}).get("do_not_answer"):
            return False
        limit = limits_for(self.services.tenant(row.tenant).raw).resident_per_minute
        with self.services.db.transaction() as conn:
            decision = hit(conn, RESIDENT, tenant=row.tenant, who=f"{row.channel}:{payload.get('sender')}",
                           per_minute=limit)
            if decision.allowed:
                return False
            defer_inbound(conn, row, decision.retry_at)
        counted(row.tenant, row.channel, RESIDENT, "deferred")
        log.info("inbound event %s deferred %.0f s: resident past %d a minute", row.id, decision.retry_after_s,
                 limit)
        return True

    def _give_back(self, row: Row, exc: Exception) -> None:
        delay = min(5 * 2 ** max(row.attempts - 1, 0), MAX_RETRY_DELAY_S)
        try:
            with self.services.db.transaction() as conn:
                mark_inbound_failed(conn, row, f"{type(exc).__name__}: {exc}", retry_after_seconds=delay)
        except Exception:  # noqa: BLE001 - the lease runs out and another pass retries it anyway
            log.exception("could not give inbound event %s back", row.id)


def start_workers(services: ConversationServices, stop: threading.Event,
                  count: int | None = None) -> list[threading.Thread]:
    runtime = services.runtime
    count = runtime.settings.inbox_workers if count is None else count
    # The heartbeat also keeps the leases of turns a web request runs inline (an instance without workers).
    threads = start_lease_keeper(services, stop)
    if count <= 0:
        return threads
    threads += start_inbox_listener(services, stop)
    for i in range(count):
        worker = InboxWorker(services, f"inbox-{os.getpid()}-{i + 1}")
        thread = threading.Thread(target=worker.run, args=(stop,), name=f"madoguchi-inbox-{i + 1}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
