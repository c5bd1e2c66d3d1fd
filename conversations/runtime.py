"""What the channel loops of one running app share: their settings, the nudges that wake them, and turn waiters.

A webhook that records an event nudges the inbox worker (a threading.Event) so the turn starts at once instead of
at the next poll; the worker nudges the outbox sender when a turn enqueued a reply. Workers in other processes
still find the rows by polling every `worker_poll_s`. The voice route waits for one particular turn: the worker
signals each finished inbound event through `TurnWaiters`, and the route re-reads the database now and then in case
another process did the turn.

The composition root builds one runtime per app (Services.runtime) with settings from the environment; tests
build theirs with their own ChannelSettings.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from conversations.leases import LeaseKeeper


class ChannelSettings(BaseSettings):
    """Tunables of the channel loops (environment: MADOGUCHI_<NAME>, e.g. MADOGUCHI_SMTP_INBOUND_PORT=2525)."""

    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", extra="ignore")

    inbox_workers: int = 2  # threads running turns (each claims one event at a time)
    outbox_senders: int = 2  # two, so one slow provider (an SMTP timeout) does not hold every other reply
    worker_poll_s: float = 0.5  # how often idle loops look for rows recorded by other processes
    # A lease is short and kept alive by a heartbeat (conversations/leases.py): a killed worker's event is taken
    # over after one lease; a hung turn after inbox_max_turn_s.
    inbox_lease_s: float = 15.0
    inbox_max_turn_s: float = 120.0
    shutdown_grace_s: float = 10.0  # SIGTERM: running turns may finish this long, then their events are given back
    outbox_lease_s: float = 60.0
    voice_wait_s: float = 1.5  # how long a Twilio request waits for its turn before holding the caller
    voice_max_hold_polls: int = 12  # ≈ 12 × (wait + pause) ≈ 65 s before apologising and transferring
    smtp_inbound_enabled: bool = True
    smtp_inbound_host: str = "127.0.0.1"
    smtp_inbound_port: int = 8025  # 0 = any free port (tests)
    imap_poll_interval_s: float = 60.0


class TurnWaiters:
    """Lets an async request wait for the turn of one inbound event (by id) that a worker thread of this process
    runs: the worker's `finished(id)` resolves the request's future on its own event loop (no polling)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, list[tuple[asyncio.AbstractEventLoop, asyncio.Future]]] = {}

    def register(self, inbound_id: int) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._waiting.setdefault(inbound_id, []).append((loop, future))
        return future

    def release(self, inbound_id: int, future: asyncio.Future) -> None:
        with self._lock:
            waiting = [w for w in self._waiting.get(inbound_id, []) if w[1] is not future]
            if waiting:
                self._waiting[inbound_id] = waiting
            else:
                self._waiting.pop(inbound_id, None)

    def finished(self, inbound_id: int) -> None:
        with self._lock:
            waiting = self._waiting.pop(inbound_id, [])
        for loop, future in waiting:
            loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(True)


@dataclass
class ChannelRuntime:
    settings: ChannelSettings = field(default_factory=ChannelSettings)
    inbox_wakeup: threading.Event = field(default_factory=threading.Event)
    inbox_listening: threading.Event = field(default_factory=threading.Event)  # PostgreSQL LISTEN is active
    outbox_wakeup: threading.Event = field(default_factory=threading.Event)
    turn_waiters: TurnWaiters = field(default_factory=TurnWaiters)
    leases: LeaseKeeper = field(default_factory=LeaseKeeper)  # the inbox leases this process holds
    email_gateway: Any = None  # conversations.email_gateway.EmailGateway once started (it imports this module)
    # The turn runner, (services, inbound row) -> ProcessedTurn; None = conversations.turns.process_inbound_row.
    # Tests put a stand-in here (a turn that fails once, a slow one).
    process: Callable[[Any, Any], Any] | None = None

    def nudge_worker(self) -> None:
        self.inbox_wakeup.set()

    def nudge_sender(self) -> None:
        self.outbox_wakeup.set()


def poll_until_stopped(stop: threading.Event, wakeup: threading.Event, run_once: Callable[[], int],
                       poll_s: float, label: str) -> None:
    """The loop of a background worker: do a batch, and when there was nothing to do, sleep until nudged or until
    the next poll. A failure (a database hiccup) is logged and the loop goes on."""
    while not stop.is_set():
        wakeup.clear()
        try:
            handled = run_once()
        except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
            logging.getLogger(__name__).exception("%s: claiming failed", label)
            handled = 0
        if not handled:
            wakeup.wait(poll_s)
