"""Leases that outlive a slow turn but not a dead process: short leases, kept alive by a heartbeat, given back on
shutdown.

    keeper = services.runtime.leases
    with keeper.holding(row): ...                 # a turn runs; its lease is extended every heartbeat
    keeper.run(services, stop)                    # one heartbeat thread per process (start_lease_keeper)
    keeper.release_all(services)                  # at shutdown: what is still held goes back at once
    stop_gracefully(services, stop, threads)      # SIGTERM: stop claiming, let turns finish, give back the rest

A killed process stops its heartbeat, so its events are taken over after one short lease (`inbox_lease_s`) instead of
a long one; a hung turn is extended for at most `inbox_max_turn_s`, then another worker takes it (the hung one's
commit then finds its lease lost and rolls back: still one turn). A graceful shutdown gives its unfinished events
back without counting the attempt, so another instance answers them at once.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from storage import Row, extend_inbound_lease, release_inbound

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, tuple[Row, float]] = {}  # inbound id → (leased row, when it was claimed)

    @contextmanager
    def holding(self, row: Row) -> Iterator[None]:
        with self._lock:
            self._held[row.id] = (row, time.monotonic())
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(row.id, None)

    def held(self) -> list[Row]:
        with self._lock:
            return [row for row, _ in self._held.values()]

    def run(self, services: Any, stop: threading.Event) -> None:
        settings = services.runtime.settings
        interval = max(settings.inbox_lease_s / 3, 0.05)
        while not stop.wait(interval):
            try:
                self.extend(services)
            except Exception:  # noqa: BLE001 - a database hiccup: the next beat tries again
                log.exception("could not extend the inbox leases")

    def extend(self, services: Any) -> int:
        """One heartbeat: extend every lease held here, except turns past the longest a turn may take."""
        settings = services.runtime.settings
        now = time.monotonic()
        with self._lock:
            alive = [row for row, since in self._held.values() if now - since < settings.inbox_max_turn_s]
        if not alive:
            return 0
        with services.db.transaction() as conn:
            return sum(extend_inbound_lease(conn, row, settings.inbox_lease_s) for row in alive)

    def release_all(self, services: Any) -> int:
        """Give back every event whose turn has not finished (shutdown: their threads are abandoned)."""
        rows = self.held()
        if not rows:
            return 0
        with services.db.transaction() as conn:
            released = sum(release_inbound(conn, row) for row in rows)
        log.warning("shutdown: gave back %d unfinished inbound event(s) for another worker", released)
        return released


def start_lease_keeper(services: Any, stop: threading.Event) -> list[threading.Thread]:
    thread = threading.Thread(target=services.runtime.leases.run, args=(services, stop), name="madoguchi-leases",
                              daemon=True)
    thread.start()
    return [thread]


def stop_gracefully(services: Any, stop: threading.Event, threads: list[threading.Thread]) -> None:
    """A graceful stop in bounded time (SIGTERM, the end of the app): no loop claims anything new, running turns get
    `shutdown_grace_s` to finish, and the events of those that did not are given back for another instance."""
    stop.set()
    runtime = services.runtime
    runtime.nudge_worker()
    runtime.nudge_sender()
    deadline = time.monotonic() + runtime.settings.shutdown_grace_s
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0))
    runtime.leases.release_all(services)
