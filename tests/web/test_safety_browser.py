"""Issue 10's blockers in headless Chromium against a live uvicorn (the scripted engine with the real risk policy;
the real durable path): an emergency left unclaimed past its two minutes gets, in the open chat, the holding message
with 119 / 110 / #7119 as tel: links (the SLA watcher's clock is moved, nothing waits); a resident who sends their
My Number is warned at once, and the operator's console shows it redacted (and the kept call-back number masked)."""
from __future__ import annotations

import pytest
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from madoguchi.app import create_app
from madoguchi.background import sla_watcher
from storage.schema import escalations
from storage.testing import temporary_database
from tests.escalation.console_support import (
    PASSWORD, LiveServer, browser_unavailable, launched_chromium, make_operator, make_services,
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
    with launched_chromium() as chromium:
        yield chromium


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


def test_an_unclaimed_emergency_sees_the_numbers_again_as_tel_links(services, browser):
    with LiveServer(create_app(services, start_background=False)) as server:
        chat = browser.new_page()
        chat.set_default_timeout(15_000)
        chat.goto(server.url + "/t/tokyo")
        ask(chat, "父が急に胸を押さえて苦しんでいます")
        chat.wait_for_selector("#log .message.assistant >> text=緊急通報ではありません")
        assert chat.locator("#log >> text=待たずに今すぐお電話ください").count() == 0  # not before its deadline

        moved = datetime.now(timezone.utc) + timedelta(minutes=3)
        assert sla_watcher(services, clock=lambda: moved).sweep().alerted  # past the emergency's two minutes
        holding = chat.wait_for_selector("#log .message.assistant >> text=待たずに今すぐお電話ください")
        links = [a.get_attribute("href") for a in holding.query_selector_all("a")]
        text = holding.text_content()
        chat.screenshot(path="/tmp/madoguchi-emergency-holding.png", full_page=True)
    assert {"tel:119", "tel:110", "tel:%237119"} <= set(links), links
    assert "都民の声総合窓口" not in text and "平日" not in text
