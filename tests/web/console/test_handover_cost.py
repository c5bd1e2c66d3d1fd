"""What one hand-over costs an operator, measured in headless Chromium against a live server: clicks, text fields
typed in and full page loads, from the queue to a resolved conversation with the reply delivered. Before this
console's rework it took 3 clicks, 2 text fields (the reply and a resolution reason) and 3 full page loads (claim,
send, resolve). The browser counts for itself (an init script in every document), so the figures are the page's,
not the test's bookkeeping. Screenshots of the queue and of an emergency conversation go to var/screenshots/."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from config.settings import PROJECT_ROOT
from madoguchi.app import create_app
from storage import list_messages
from storage.schema import escalations
from storage.testing import temporary_database
from tests.escalation.console_support import (
    DRAFT, PASSWORD, LiveServer, browser_unavailable, launched_chromium, make_escalation, make_operator,
    make_services,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(browser_unavailable()), reason=browser_unavailable() or "")]
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
BEFORE = {"clicks": 3, "text_fields": 2, "page_loads": 3}
# Counted in the page: every click on a control, every distinct field typed in, every document loaded (kept in
# sessionStorage across loads).
COUNTER = """
(() => {
  const bump = (key) => sessionStorage.setItem(key, String(Number(sessionStorage.getItem(key) || 0) + 1));
  if (sessionStorage.getItem('counting')) bump('loads');
  document.addEventListener('click', (e) => {
    if (sessionStorage.getItem('counting') && e.target.closest('button, a, input[type=submit]')) bump('clicks');
  }, true);
  document.addEventListener('input', (e) => {
    if (!sessionStorage.getItem('counting')) return;
    const fields = new Set(JSON.parse(sessionStorage.getItem('fields') || '[]'));
    fields.add(e.target.id || e.target.name);
    sessionStorage.setItem('fields', JSON.stringify([...fields]));
  }, true);
})();
"""


@pytest.fixture
def site(tmp_path) -> Iterator[tuple[Any, str]]:
    with temporary_database("sqlite", tmp_path) as db:
        services = make_services(db, tmp_path)
        make_operator(db, "sato", ["tokyo"])
        with LiveServer(create_app(services, start_background=False)) as server:
            yield services, server.url


@pytest.fixture
def page() -> Iterator[Any]:
    with launched_chromium() as browser:
        context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
        context.add_init_script(COUNTER)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page


def signed_in_queue(page: Any, url: str) -> None:
    page.goto(url + "/console/login")
    page.fill("input[name=username]", "sato")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/console")


def start_counting(page: Any) -> None:
    page.evaluate("sessionStorage.clear(); sessionStorage.setItem('counting', '1')")


def cost(page: Any) -> dict[str, int]:
    counted = page.evaluate("""() => ({clicks: Number(sessionStorage.getItem('clicks') || 0),
        text_fields: JSON.parse(sessionStorage.getItem('fields') || '[]').length,
        page_loads: Number(sessionStorage.getItem('loads') || 0)})""")
    print(f"\nhand-over cost: {counted} (before: {BEFORE})")
    return counted


def assert_resolved_with_reply(services: Any, escalation_id: str, conversation_id: str, text: str) -> None:
    with services.db.read() as conn:
        row = conn.execute(select(escalations).where(escalations.c.id == escalation_id)).one()
        transcript = list_messages(conn, conversation_id)
    assert row.state == "resolved" and row.first_response_at is not None
    assert any(m.role == "operator" and m.text == text for m in transcript)
    assert (transcript[-1].meta or {}).get("kind") == "satisfaction"


def test_a_typed_reply_sent_and_resolved_costs_two_clicks_one_field_one_load(site, page):
    services, url = site
    escalation_id, conversation_id = make_escalation(services, address="typed")
    signed_in_queue(page, url)
    start_counting(page)
    page.click(f"tr[data-id='{escalation_id}'] button.claim")
    page.wait_for_selector("#reply-text")
    page.fill("#reply-text", "粗大ごみ受付センター（電話 03-5715-1133）でお申し込みください。")
    page.click("#send-resolve")
    page.wait_for_selector("#after-resolve:not([hidden])")
    spent = cost(page)
    assert spent == {"clicks": 2, "text_fields": 1, "page_loads": 1}
    assert all(spent[k] < BEFORE[k] for k in BEFORE)
    assert_resolved_with_reply(services, escalation_id, conversation_id,
                               "粗大ごみ受付センター（電話 03-5715-1133）でお申し込みください。")


def test_the_draft_chosen_sent_and_resolved_costs_three_clicks_and_no_typing(site, page):
    services, url = site
    escalation_id, conversation_id = make_escalation(services, address="draft")
    signed_in_queue(page, url)
    start_counting(page)
    page.click(f"tr[data-id='{escalation_id}'] button.claim")
    page.click("#use-draft")
    page.click("#send-resolve")
    page.wait_for_selector("#after-resolve:not([hidden])")
    assert cost(page) == {"clicks": 3, "text_fields": 0, "page_loads": 1}
    assert_resolved_with_reply(services, escalation_id, conversation_id, DRAFT)


def test_by_keyboard_alone(site, page):
    """n claims, Ctrl+Shift+Enter sends and resolves: the one click counted is the one the n shortcut makes."""
    services, url = site
    first, first_conversation = make_escalation(services, address="keys-1")
    second, _ = make_escalation(services, address="keys-2")
    signed_in_queue(page, url)
    start_counting(page)
    page.keyboard.press("n")  # claim the most urgent
    page.wait_for_selector("#reply-text")
    page.focus("#reply-text")
    page.keyboard.insert_text("ご案内します。")
    page.keyboard.press("Control+Shift+Enter")  # send and resolve
    page.wait_for_selector("#after-resolve:not([hidden])")
    spent = cost(page)
    assert (spent["text_fields"], spent["page_loads"]) == (1, 1)
    assert_resolved_with_reply(services, first, first_conversation, "ご案内します。")
    page.keyboard.press("n")  # the next one straight from here: no trip back to the queue
    page.wait_for_url(f"{url}/console/escalations/{second}")


def test_screenshots_of_the_queue_and_an_emergency_conversation(site, page):
    services, url = site
    make_escalation(services, address="routine", question="粗大ごみの出し方を教えてください", reason="low_confidence")
    make_escalation(services, address="health", question="薬を飲み忘れたらどうすればいいですか", reason="risk",
                    risk="health")
    urgent, _ = make_escalation(services, address="urgent", question="父が急に胸を押さえて苦しんでいます",
                                reason="risk", risk="emergency")
    signed_in_queue(page, url)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert page.locator("tbody tr").first.get_attribute("data-id") == urgent  # most urgent first
    page.screenshot(path=str(SCREENSHOTS / "console-queue.png"), full_page=True)
    page.click(f"tr[data-id='{urgent}'] button.claim")
    page.wait_for_selector("#urgent a[href='tel:119']")
    page.screenshot(path=str(SCREENSHOTS / "console-conversation-emergency.png"), full_page=True)
