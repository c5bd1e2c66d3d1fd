"""The chat in headless Chromium against a real uvicorn server, the real dialogue engine and the real amagasaki index:
ask, see the cited answer, rate it, pick a clarification choice, ask for a person, read the operator's reply
without reloading, and find the transcript again after a reload. Screenshots go to /tmp for a human look."""
from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from config.tenancy import get_tenant
from madoguchi.app import create_app
from madoguchi.composition import build_services
from storage.schema import feedback
from storage.testing import temporary_database
from tests.escalation.console_support import browser_unavailable, launched_chromium
from tests.localgovfaq import dev_queries, faq_questions

pytestmark = [pytest.mark.browser]

SCREENSHOTS = {"desktop": Path("/tmp/madoguchi-chat-desktop.png"), "phone": Path("/tmp/madoguchi-chat-phone.png")}
TENANT = "amagasaki"
# Real questions whose outcome depends on the calibrated engine: the test takes the first that gives what it needs.
# They are read from ../shared by id (LocalgovFAQ is evaluation-only and never copied into the repository).
ANSWERED_FAQ_IDS = ("10", "9", "19", "1")  # corpus entries asked with their own question
CLARIFY_DEV_IDS = ("140", "166", "50", "20")  # dev-split queries with several close entries
STEP_TIMEOUT_MS = 30_000  # the engine's first turns load models; the machine may be busy


@dataclass
class LiveServer:
    services: Any
    base_url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _question_with_outcome(engine: Any, outcome: str, candidates: tuple[str, ...]) -> str:
    for question in candidates:
        if engine.run_turn(get_tenant(TENANT), question).outcome.value == outcome:
            return question
    pytest.fail(f"none of {candidates} gets outcome {outcome!r} from the real engine: is {TENANT} calibrated?")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if reason := browser_unavailable():
        pytest.skip(f"{reason}: `make chromium` installs it")
    with launched_chromium() as chromium:
        yield chromium


def _serve(services: Any) -> Iterator[LiveServer]:
    """A real uvicorn server on a free loopback port (background loops off: the web path is inline)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(services, start_background=False), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield LiveServer(services, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def fake_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The page against the small fake engine: its behaviour, independent of the index and its calibration."""
    from config.settings import Settings
    from tests.api.fakes import FakeEngine

    tmp = tmp_path_factory.mktemp("browser-fake")
    with temporary_database("sqlite", tmp) as db:
        settings = Settings(data_dir=tmp / "data", default_tenant=TENANT)
        yield from _serve(build_services(settings, db=db, engine=FakeEngine(), channels={}))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, knowledge_settings: Any, dialogue_engine: Any) -> Iterator[Any]:
    """The real engine on the real amagasaki index."""
    with temporary_database("sqlite", tmp_path_factory.mktemp("browser-db")) as db:
        yield from _serve(build_services(knowledge_settings, db=db, engine=dialogue_engine, channels={}))


@pytest.fixture(scope="module")
def questions(dialogue_engine: Any, localgovfaq_dir: Path) -> dict[str, str]:
    answered = faq_questions(localgovfaq_dir, ANSWERED_FAQ_IDS)
    clarify = dev_queries(localgovfaq_dir, CLARIFY_DEV_IDS)
    return {"answered": _question_with_outcome(dialogue_engine, "answered", answered),
            "clarify": _question_with_outcome(dialogue_engine, "clarify", clarify)}


def _ask(page: Any, text: str) -> None:
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")


def _feedback_rows(services: Any) -> int:
    with services.db.read() as conn:
        return conn.execute(select(func.count()).select_from(feedback)).scalar_one()


def _resident_journey(page: Any, live: LiveServer, answered: str, clarify: str, screenshot: Path) -> None:
    """Keyboard to the question box, a cited answer rated helpful, a clarification choice, a request for a person,
    the operator's reply arriving by polling, and the transcript back after a reload."""
    from playwright.sync_api import expect

    from conversations.operator_replies import send_operator_reply

    page.goto(f"{live.base_url}/t/{TENANT}/")
    answers = page.locator(".message.assistant[data-outcome='answered']")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "message-input"
    page.keyboard.insert_text(answered)
    page.keyboard.press("Enter")
    expect(answers).to_have_count(1)
    first = answers.first
    expect(first.locator(".sources h3")).to_have_text("出典")
    expect(first.locator(".sources li")).to_have_count(1)
    expect(first.locator(".sources .as-of")).to_contain_text("時点の情報")
    expect(first.locator("a.about-answer")).to_have_text("この回答について")
    expect(first.locator("a.about-answer")).to_have_attribute("href", re.compile(r"/t/amagasaki/transparency\?turn="))
    expect(page.locator("#message-input")).to_be_focused()

    first.locator(".feedback-button.helpful").click()
    expect(first.locator(".feedback-thanks")).to_have_text("ご意見ありがとうございます。")
    assert _feedback_rows(live.services) == 1

    _ask(page, clarify)
    choices = page.locator(".message.assistant[data-outcome='clarify'] .choice")
    expect(choices.first).to_be_visible()
    assert choices.count() >= 2
    chosen_title = choices.first.inner_text()
    choices.first.click()
    expect(answers).to_have_count(2)
    expect(page.locator(".message.resident .text").last).to_have_text(chosen_title)

    page.click("#person-button")
    expect(page.locator(".message.assistant[data-outcome='escalated']")).to_have_count(1)
    expect(page.locator("#status")).to_contain_text("担当者におつなぎしています")

    claim = live.services.queue.claim([TENANT], "sato")
    send_operator_reply(live.services, claim, "担当の佐藤です。ご用件を詳しくお聞かせください。")
    expect(page.locator(".message.operator")).to_contain_text("担当の佐藤です", timeout=STEP_TIMEOUT_MS)
    page.wait_for_timeout(600)  # let the smooth scroll to the new message finish before the picture
    page.screenshot(path=str(screenshot))

    shown = page.locator("#log .message:not(.welcome) .text").all_inner_texts()
    page.reload()
    expect(page.locator("#log .message:not(.welcome) .text")).to_have_text(shown)
    expect(page.locator(".message.operator")).to_have_count(1)


@pytest.mark.shared
@pytest.mark.slow
def test_a_resident_is_answered_chooses_asks_for_a_person_and_hears_back(browser, live, questions):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page.set_default_timeout(STEP_TIMEOUT_MS)
    _resident_journey(page, live, questions["answered"], questions["clarify"], SCREENSHOTS["desktop"])
    page.close()


@pytest.mark.shared
@pytest.mark.slow
def test_the_chat_fits_a_phone(browser, live, questions):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(f"{live.base_url}/t/{TENANT}/")
    _ask(page, questions["answered"])
    expect(page.locator(".message.assistant[data-outcome='answered']")).to_have_count(1)
    _assert_fits_a_phone(page)
    page.wait_for_timeout(600)  # let the smooth scroll finish before the picture
    page.screenshot(path=str(SCREENSHOTS["phone"]))
    context.close()


def _assert_fits_a_phone(page: Any) -> None:
    # Nothing wider than the screen (no sideways scrolling), and touch targets of a comfortable size.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("#send-button").bounding_box()["height"] >= 44
    assert page.locator("#person-button").bounding_box()["height"] >= 44


class TestPageBehaviour:
    """The same journey against the fake engine, plus what the real engine cannot be made to do on demand."""

    def test_the_journey(self, browser, fake_live):
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        _resident_journey(page, fake_live, "児童手当はどうやって申請すればいいですか", "ごみの出し方",
                          Path("/tmp/madoguchi-chat-fake-desktop.png"))
        page.close()

    def test_an_english_reply_brings_english_buttons(self, browser, fake_live):
        from playwright.sync_api import expect

        page = browser.new_page()
        page.goto(f"{fake_live.base_url}/t/{TENANT}/")
        _ask(page, "How do I apply for child allowance?")
        reply = page.locator(".message.assistant[data-outcome='answered']")
        expect(reply.locator(".feedback-button.helpful")).to_have_text("Helpful")
        expect(reply).to_have_attribute("lang", "en")
        page.close()

    def test_a_server_error_is_told_politely_and_the_text_is_kept(self, browser, fake_live):
        from playwright.sync_api import expect

        page = browser.new_page()
        page.goto(f"{fake_live.base_url}/t/{TENANT}/")
        _ask(page, "故障してますか")
        expect(page.locator("#status")).to_contain_text("申し訳ありません")
        expect(page.locator("#message-input")).to_have_value("故障してますか")
        expect(page.locator(".message.resident.failed")).to_have_count(1)
        page.close()

    def test_an_empty_question_is_not_sent(self, browser, fake_live):
        from playwright.sync_api import expect

        page = browser.new_page()
        page.goto(f"{fake_live.base_url}/t/{TENANT}/")
        page.click("#send-button")
        expect(page.locator("#status")).to_have_text("ご質問を入力してください。")
        expect(page.locator(".message.resident")).to_have_count(0)
        page.close()

    def test_a_new_conversation_starts_afresh(self, browser, fake_live):
        from playwright.sync_api import expect

        page = browser.new_page()
        page.goto(f"{fake_live.base_url}/t/{TENANT}/")
        _ask(page, "児童手当")
        expect(page.locator(".message.assistant[data-outcome='answered']")).to_have_count(1)
        before = page.evaluate(f"JSON.parse(localStorage.getItem('madoguchi:{TENANT}')).conversationId")
        page.click("#reset-button")
        expect(page.locator("#log .message:not(.welcome)")).to_have_count(0)
        _ask(page, "児童手当")
        expect(page.locator(".message.assistant[data-outcome='answered']")).to_have_count(1)
        after = page.evaluate(f"JSON.parse(localStorage.getItem('madoguchi:{TENANT}')).conversationId")
        assert after and after != before
        page.close()

    def test_erasing_the_conversation_removes_its_texts(self, browser, fake_live):
        from playwright.sync_api import expect

        from storage import get_conversation

        page = browser.new_page()
        page.goto(f"{fake_live.base_url}/t/{TENANT}/")
        _ask(page, "児童手当")
        expect(page.locator(".message.assistant[data-outcome='answered']")).to_have_count(1)
        conversation_id = page.evaluate(f"JSON.parse(localStorage.getItem('madoguchi:{TENANT}')).conversationId")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#erase-button")
        expect(page.locator("#status")).to_have_text("会話の記録を消去しました。")
        expect(page.locator("#log .message:not(.welcome)")).to_have_count(0)
        with fake_live.services.db.read() as conn:
            assert get_conversation(conn, conversation_id).deleted
        page.close()

    def test_the_phone_layout(self, browser, fake_live):
        from playwright.sync_api import expect

        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(f"{fake_live.base_url}/t/{TENANT}/")
        _ask(page, "ごみ")
        expect(page.locator(".choice")).to_have_count(2)
        _assert_fits_a_phone(page)
        page.screenshot(path="/tmp/madoguchi-chat-fake-phone.png")
        context.close()
