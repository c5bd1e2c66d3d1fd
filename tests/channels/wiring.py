"""Shared parts of the channel wiring tests: services on a real database, the channel loops, a live uvicorn.

    services = make_services(db, tmp_path, engine=ScriptedEngine(), channels={"tokyo": tokyo_channels(...)})
    with running_loops(services): ...          # inbox workers + outbox senders (+ SMTP endpoint) until the block ends
    with LiveServer(create_app(services, start_background=False)) as server: server.url
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import func, select

from channels.registry import ChannelStatus, TenantChannels
from conversations.runtime import ChannelRuntime, ChannelSettings
from madoguchi.background import start_channel_loops
from config.settings import Settings
from madoguchi.composition import Services, build_services
from storage.schema import escalations, inbound_events, outbox, turns
from tests.channels.fakes import FakeLineApi, FakeTwilioApi
from tests.channels.standins import ScriptedEngine
from tests.channels.test_email import SmtpSink

LINE_SECRET = "line-channel-secret"
LINE_TOKEN = "line-token"
TWILIO_SID = "AC" + "0" * 32
TWILIO_AUTH = "twilio-token"
PUBLIC_BASE = "https://madoguchi.city.example.jp"
SECRET_KEY = "channel-tests-secret-key-of-enough-length-0123456789"


@contextmanager
def provider_fakes() -> Iterator[tuple[FakeLineApi, FakeTwilioApi, SmtpSink]]:
    """The fake LINE and Twilio APIs (this module's credentials) and a real SMTP sink, on loopback."""
    with FakeLineApi(LINE_TOKEN) as line_api, FakeTwilioApi(TWILIO_SID, TWILIO_AUTH) as twilio_api, \
            SmtpSink() as sink:
        yield line_api, twilio_api, sink


def loop_settings(**overrides: Any) -> ChannelSettings:
    values = {"inbox_workers": 2, "outbox_senders": 1, "worker_poll_s": 0.1, "smtp_inbound_port": 0,
              "imap_poll_interval_s": 0.2, **overrides}
    return ChannelSettings(**values)


def make_services(db: Any, tmp_path: Path, *, engine: Any = None, channels: dict[str, TenantChannels] | None = None,
                  settings: ChannelSettings | None = None, knowledge: Any = None) -> Services:
    app_settings = Settings(data_dir=tmp_path / "var", public_base_url=PUBLIC_BASE, secret_key=SECRET_KEY)
    return build_services(app_settings, db=db, knowledge=knowledge, engine=engine or ScriptedEngine(),
                          channels=channels or {},
                          runtime=ChannelRuntime(settings=settings or loop_settings()))


def tenant_channels(tenant: str, adapters: dict[str, Any]) -> TenantChannels:
    statuses = [ChannelStatus(tenant, c, c in adapters, "" if c in adapters else "missing test credentials")
                for c in ("line", "voice", "email", "slack")]
    return TenantChannels(tenant, adapters=dict(adapters), statuses=statuses)


@contextmanager
def running_loops(services: Services) -> Iterator[list[threading.Thread]]:
    stop = threading.Event()
    threads = start_channel_loops(services, stop)
    try:
        yield threads
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def wait_until(predicate: Callable[[], Any], timeout_s: float = 15.0, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy; a bound against hanging, not a timing assertion."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def count(db: Any, table: Any, *where: Any) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def counts(db: Any) -> dict[str, int]:
    return {"inbound": count(db, inbound_events), "turns": count(db, turns), "outbox": count(db, outbox),
            "escalations": count(db, escalations)}


def outbox_rows(db: Any) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)))


def escalation_rows(db: Any) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(escalations)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The FastAPI app under a real uvicorn on a loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                backlog=2048)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_until(lambda: self.server.started, 20, "uvicorn to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
