"""Issue 10's blockers in headless Chromium against a live uvicorn (the scripted engine; the real durable path):
a resident sends their My Number in the web chat and is warned at once, and the operator's console shows it
redacted (and the kept call-back number masked)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from madoguchi.app import create_app
from storage.schema import escalations
from storage.testing import temporary_database
from tests.escalation.console_support import (
    CHROMIUM, CHROMIUM_ARGS, PASSWORD, LiveServer, browser_unavailable, make_operator, make_services,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(browser_unavailable()), reason=browser_unavailable() or "")]

MY_NUMBER = "1234 5678 9018"
PHONE = "090-1234-5678"


@pytest.fixture
def services(tmp_path):
    with temporary_database("sqlite", tmp_path) as db:
        yield make_services(db, tmp_path)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def ask(page, text: str) -> None:
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/console")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/console")


def test_my_number_in_the_chat_is_warned_about_and_redacted_in_the_console(services, browser):
    make_operator(services.db, "sato", ["tokyo"])
    with LiveServer(create_app(services, start_background=False)) as server:
        chat = browser.new_page()
        chat.set_default_timeout(15_000)
        chat.goto(server.url + "/t/tokyo")
        ask(chat, f"担当者と話したい。マイナンバーは{MY_NUMBER}です。折り返しは{PHONE}へ")
        warning = chat.wait_for_selector("#log .message.assistant >> text=ここには送らないでください")
        assert "記録していません" in warning.text_content()

        console = browser.new_page()
        console.set_default_timeout(15_000)
        sign_in(console, server.url, "sato")
        with services.db.read() as conn:
            escalation_id = conn.execute(select(escalations.c.id)).scalar_one()
        console.goto(f"{server.url}/console/escalations/{escalation_id}")
        transcript = console.text_content("#transcript")
        chat.screenshot(path="/tmp/madoguchi-pii-chat.png", full_page=True)
        console.screenshot(path="/tmp/madoguchi-pii-console.png", full_page=True)
    assert "〔個人番号〕" in transcript and MY_NUMBER not in transcript
    assert "090-****-5678" in transcript and PHONE not in transcript
