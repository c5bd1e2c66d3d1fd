"""The resident's chat in headless Chromium (fake engine, live server): at 200% text on a phone the answers stay
readable, text over the limit is told and kept (not cut), the page's controls follow the resident's language, after
a hand-over a further message is acknowledged and the status line follows the hand-over (claimed, resolved), and
satisfaction is two buttons. Screenshots go to var/screenshots/."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from config.settings import PROJECT_ROOT, Settings
from conversations.operator_replies import ask_for_satisfaction, send_operator_reply
from madoguchi.app import create_app
from madoguchi.composition import build_services
from madoguchi.api.schemas import MAX_TEXT_CHARS
from storage.schema import feedback
from storage.testing import temporary_database
from tests.api.fakes import FakeEngine
from tests.escalation.console_support import LiveServer, browser_unavailable, launched_chromium

pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(browser_unavailable()), reason=browser_unavailable() or "")]
TENANT = "amagasaki"
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
POLL_TIMEOUT_MS = 20_000  # the page polls every 4 s


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    tmp = tmp_path_factory.mktemp("chat-resident")
    with temporary_database("sqlite", tmp) as db:
        services = build_services(Settings(data_dir=tmp / "data", default_tenant=TENANT), db=db,
                                  engine=FakeEngine(), channels={})
        with LiveServer(create_app(services, start_background=False)) as server:
            yield services, server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


def new_page(browser: Any, **options: Any) -> Any:
    context = browser.new_context(locale="ja-JP", **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def ask(page: Any, text: str) -> None:
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")


def covered_by_composer(page: Any) -> float:
    """How many pixels of the screen the question box covers where answers would be."""
    return page.evaluate("""() => {
        const r = document.getElementById('chat-form').getBoundingClientRect();
        return Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
    }""")


def test_at_200_percent_text_on_a_phone_the_answer_stays_readable(site, browser):
    from playwright.sync_api import expect

    page = new_page(browser, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(site[1] + f"/t/{TENANT}/")
    assert covered_by_composer(page) <= 0.3 * PHONE["height"]  # 100%: the box is compact and stays at hand
    page.evaluate("document.documentElement.style.fontSize = '200%'")  # the browser's text size at 200%
    ask(page, "児童手当はどうやって申請すればいいですか")
    answer = page.locator(".message.assistant[data-outcome='answered']")
    expect(answer).to_have_count(1)
    page.wait_for_timeout(700)  # the smooth scroll to the answer
    covered = covered_by_composer(page)
    assert covered <= 0.3 * PHONE["height"], f"the question box covers {covered:.0f} of {PHONE['height']} px"
    top = answer.bounding_box()["y"]
    assert 0 <= top < PHONE["height"] / 2, "the answer starts in view, from its first line"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "chat-phone-200.png"))
    page.context.close()


def test_text_over_the_limit_is_told_and_kept(site, browser):
    from playwright.sync_api import expect

    page = new_page(browser)
    page.goto(site[1] + f"/t/{TENANT}/")
    long_text = "あ" * (MAX_TEXT_CHARS + 12)
    page.fill("#message-input", long_text)
    expect(page.locator("#char-count")).to_have_text(f"{MAX_TEXT_CHARS + 12} / {MAX_TEXT_CHARS}文字")
    expect(page.locator("#char-count")).to_have_class("char-count over")
    expect(page.locator("#status")).to_contain_text("12文字多すぎます")
    page.press("#message-input", "Enter")
    expect(page.locator("#status")).to_contain_text("まだ送っていません")
    expect(page.locator("#message-input")).to_have_value(long_text)  # nothing cut
    expect(page.locator(".message.resident")).to_have_count(0)
    page.fill("#message-input", "あ" * MAX_TEXT_CHARS)
    expect(page.locator("#status")).to_have_text("")
    page.context.close()


def test_the_controls_follow_the_residents_language(site, browser):
    from playwright.sync_api import expect

    page = new_page(browser)
    page.goto(site[1] + f"/t/{TENANT}/")
    expect(page.locator("#send-button")).to_have_text("送信")
    ask(page, "How do I apply for child allowance?")
    expect(page.locator(".message.assistant[data-outcome='answered']")).to_have_count(1)
    expect(page.locator("#send-button")).to_have_text("Send")
    expect(page.locator("#person-button")).to_have_text("Talk to a person")
    expect(page.locator("#reset-button")).to_have_text("Start a new conversation")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.fill("#message-input", "x" * (MAX_TEXT_CHARS + 1))
    expect(page.locator("#status")).to_contain_text("1 characters too long")
    page.context.close()


def test_after_a_hand_over_messages_are_acknowledged_and_the_status_follows_it(site, browser):
    from playwright.sync_api import expect

    services, url = site
    page = new_page(browser)
    page.goto(url + f"/t/{TENANT}/")
    ask(page, "担当者と話したい")
    expect(page.locator(".message.assistant[data-outcome='escalated']")).to_have_count(1)
    expect(page.locator("#status")).to_have_text("担当者におつなぎしています。返信はこの画面に表示されます。")

    ask(page, "追加で伝えたいことがあります")
    expect(page.locator(".message.ack")).to_have_count(1)
    expect(page.locator(".message.ack")).to_contain_text("担当者にお伝えしました")
    ask(page, "もうひとつあります")
    expect(page.locator(".message.ack")).to_have_count(1)  # one note under the latest, not one per message

    claim = services.queue.claim([TENANT], "sato")
    expect(page.locator("#status")).to_contain_text("担当者が対応しています", timeout=POLL_TIMEOUT_MS)
    send_operator_reply(services, claim, "担当の佐藤です。確認しました。")
    expect(page.locator(".message.operator")).to_contain_text("担当の佐藤です", timeout=POLL_TIMEOUT_MS)
    assert services.queue.resolve(claim, "案内済み")
    ask_for_satisfaction(services, claim.escalation_id)
    expect(page.locator("#status")).to_have_text("担当者の対応が終わりました。ほかにご質問があればどうぞ。",
                                                 timeout=POLL_TIMEOUT_MS)
    buttons = page.locator(".satisfaction button")
    expect(buttons).to_have_text(["解決した", "解決しない"])
    buttons.first.click()
    expect(page.locator(".satisfaction .feedback-thanks")).to_have_count(1)
    with services.db.read() as conn:
        rows = conn.execute(select(feedback.c.rating, feedback.c.turn_id)).all()
    assert ("helpful", None) in [tuple(r) for r in rows]
    page.context.close()
