"""Shared pieces of the console, reply, SLA and Slack tests: services on a real database, operators, escalations,
and a signed-in TestClient."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from config.settings import PROJECT_ROOT, Settings
from escalation.accounts import hash_password
from madoguchi.composition import Services, build_services
from storage import Database, append_message, create_operator, open_conversation
from tests.channels.standins import ScriptedEngine

PASSWORD = "correct horse battery"
SOURCES = [{"doc_id": "setagaya-garbage-12", "title": "粗大ごみの出し方",
            "url": "https://www.city.setagaya.lg.jp/sodai", "score": 0.71, "as_of": "2014",
            "source": "世田谷区 ごみ分別辞典", "citation": "粗大ごみ 第2項"}]
DRAFT = "粗大ごみは事前申込制です。粗大ごみ受付センターにお申し込みください。"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@lru_cache
def password_hash(password: str = PASSWORD) -> str:
    return hash_password(password)  # scrypt is slow on purpose: hash once per test run


def make_services(db: Database, tmp_path: Path, channels: dict[str, Any] | None = None) -> Services:
    settings = Settings(secret_key="test-secret-key", public_base_url="http://testserver", data_dir=tmp_path,
                        tenants_dir=PROJECT_ROOT / "config" / "tenants")
    return build_services(settings, db=db, engine=ScriptedEngine(), channels=channels or {})


def make_operator(db: Database, username: str, tenants: list[str], role: str = "operator",
                  slack_user_id: str | None = None, password: str = PASSWORD) -> int:
    with db.transaction() as conn:
        return create_operator(conn, username=username, password_hash=password_hash(password),
                               display_name=f"{username}さん", role=role, tenants=tenants,
                               slack_user_id=slack_user_id)


def make_escalation(services: Services, tenant: str = "tokyo", *, channel: str = "web", address: str = "resident-1",
                    question: str = "粗大ごみの出し方を教えてください", reason: str = "requested", risk: str | None = None,
                    sla: dict[str, float] | None = None, meta: dict[str, Any] | None = None) -> tuple[str, str]:
    """A conversation with a resident's question and the assistant's hand-over; returns (escalation id,
    conversation id)."""
    with services.db.transaction() as conn:
        conversation = open_conversation(conn, tenant=tenant, channel=channel, resident_address=address)
        append_message(conn, conversation_id=conversation.id, tenant=tenant, role="resident", text=question)
        append_message(conn, conversation_id=conversation.id, tenant=tenant, role="assistant",
                       text="担当者におつなぎします。", meta={"outcome": "escalated", "sources": SOURCES})
        escalation_id = services.queue.enqueue(
            conn, tenant=tenant, conversation_id=conversation.id, reason=reason, risk=risk,
            sla=sla if sla is not None else {"first_response_minutes": 15, "resolution_minutes": 1440},
            draft_answer=DRAFT, draft_confidence=0.42, draft_sources=SOURCES, meta=meta)
    return escalation_id, conversation.id


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the real form; returns the session's CSRF token (from the page the sign-in lands on)."""
    form = client.get("/console/login")
    response = client.post("/console/login", data={"username": username, "password": password,
                                                   "csrf_token": csrf_token(form.text)})
    assert response.status_code == 200 and response.url.path == "/console", response.text[:300]
    return csrf_token(response.text)


# -- a live server and a headless browser (browser tests) ----------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def browser_unavailable() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """Headless Chromium through playwright (imported here: only browser tests need it), closed after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class LiveServer:
    """The app under a real uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        import time

        self.thread.start()
        for _ in range(400):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
