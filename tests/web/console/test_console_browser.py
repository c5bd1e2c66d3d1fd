"""The console in headless Chromium against a live uvicorn: sign in, claim, heartbeat, new messages without
reloading, the draft and a canned reply inserted at the cursor, the reply sent without a page load and reaching the
transcript."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from madoguchi.app import create_app
from storage import append_message, list_messages
from storage.schema import escalations
from tests.escalation.console_support import (
    DRAFT, PASSWORD, LiveServer, browser_unavailable, launched_chromium, make_escalation, make_operator,
    make_services,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(browser_unavailable()), reason=browser_unavailable() or "")]


@pytest.fixture
def services(tmp_path):
    from storage.testing import temporary_database

    with temporary_database("sqlite", tmp_path) as db:
        yield make_services(db, tmp_path)


@pytest.fixture
def page():
    with launched_chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(15_000)
        yield page


def test_operator_claims_sees_live_messages_and_replies(services, page):
    make_operator(services.db, "sato", ["tokyo"])
    escalation_id, conversation_id = make_escalation(services)
    with LiveServer(create_app(services, start_background=False)) as server:
        page.goto(server.url + "/console")
        page.fill("input[name=username]", "sato")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(server.url + "/console")
        assert "残り" in page.text_content(f"tr[data-id='{escalation_id}'] .countdown")

        with page.expect_response(lambda r: r.url.endswith("/heartbeat")) as beat:
            page.click(f"tr[data-id='{escalation_id}'] button")
        assert beat.value.json() == {"ok": True}
        assert page.input_value("#reply-text") == ""  # the draft waits beside the box until chosen
        assert "粗大ごみの出し方を教えてください" in page.text_content("#transcript")

        with services.db.transaction() as conn:
            append_message(conn, conversation_id=conversation_id, tenant="tokyo", role="resident",
                           text="追加で質問です")
        page.wait_for_selector("#transcript .msg.resident >> text=追加で質問です")

        page.fill("#reply-text", "佐藤です。")
        page.click("button.canned >> nth=0")  # at the cursor (the end): what was typed stays
        canned = services.tenants["tokyo"].get("canned_replies")[0]["text"]
        assert page.input_value("#reply-text") == "佐藤です。" + canned
        page.click("#use-draft")
        assert page.input_value("#reply-text") == "佐藤です。" + canned + DRAFT
        page.fill("#reply-text", "お待たせしました。申込先は粗大ごみ受付センターです。")
        loads = []
        page.on("load", lambda: loads.append(page.url))
        page.click("#send-reply")
        page.wait_for_selector("#reply-status >> text=返信を送りました。")
        page.wait_for_selector("#transcript .msg.operator >> text=お待たせしました。申込先は粗大ごみ受付センターです。")
        assert loads == [] and page.input_value("#reply-text") == ""

    with services.db.read() as conn:
        last = list_messages(conn, conversation_id)[-1]
        row = conn.execute(select(escalations).where(escalations.c.id == escalation_id)).one()
    assert (last.role, last.text) == ("operator", "お待たせしました。申込先は粗大ごみ受付センターです。")
    assert row.claimed_by == "sato" and row.first_response_at is not None
