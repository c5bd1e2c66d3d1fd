"""axe-core on every page, in headless Chromium against a live server: the resident's chat, the console's sign-in,
queue, conversation and supervisor pages, and the review, transparency and insight pages. Each page is shown with
content (an answer, a hand-over, an emergency ticket with its draft, a review item), since an empty page hides
most of what can go wrong. 0 violations."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from madoguchi.app import create_app
from storage.testing import temporary_database
from tests.escalation.console_support import (
    PASSWORD, LiveServer, browser_unavailable, launched_chromium, make_escalation, make_operator, make_services,
)
from tests.web.axe import axe_unavailable, axe_violations, describe

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(bool(browser_unavailable()), reason=browser_unavailable() or ""),
              pytest.mark.skipif(bool(axe_unavailable()), reason=axe_unavailable() or "")]
RESULTS: dict[str, int] = {}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    tmp = tmp_path_factory.mktemp("a11y")
    with temporary_database("sqlite", tmp) as db:
        services = make_services(db, tmp)
        make_operator(db, "boss", ["tokyo"], role="supervisor")
        with LiveServer(create_app(services, start_background=False)) as server:
            yield services, server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(bypass_csp=True, locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def assert_accessible(page: Any, name: str) -> None:
    violations = axe_violations(page)
    RESULTS[name] = len(violations)
    assert not violations, f"{name}: {len(violations)} axe violations\n{describe(violations)}"


def sign_in(page: Any, url: str) -> None:
    page.goto(url + "/console/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/console")


def test_the_chat_with_an_answer_and_a_hand_over(site, page):
    _, url = site
    page.goto(url + "/t/tokyo/")
    assert_accessible(page, "chat (empty)")
    page.fill("#message-input", "粗大ごみの出し方")
    page.press("#message-input", "Enter")
    page.wait_for_selector(".message.assistant[data-outcome='answered'] .feedback-button")
    page.click(".feedback-button.unhelpful")  # makes a review item for the review page
    page.wait_for_selector(".feedback-thanks")
    page.fill("#message-input", "担当者と話したい")
    page.press("#message-input", "Enter")
    page.wait_for_selector(".message.assistant[data-outcome='escalated']")
    assert_accessible(page, "chat")


def test_the_sign_in_page(site, page):
    page.goto(site[1] + "/console/login")
    assert_accessible(page, "login")


def test_the_queue_and_an_emergency_conversation(site, page):
    services, url = site
    escalation_id, _ = make_escalation(services, question="父が急に胸を押さえて苦しんでいます", reason="risk",
                                       risk="emergency", address="a11y-emergency")
    sign_in(page, url)
    page.wait_for_selector(f"tr[data-id='{escalation_id}']")
    assert_accessible(page, "queue")
    page.click(f"tr[data-id='{escalation_id}'] button.claim")
    page.wait_for_selector("#urgent")
    assert_accessible(page, "conversation")


def test_the_supervisor_page(site, page):
    sign_in(page, site[1])
    page.goto(site[1] + "/console/supervisor")
    assert_accessible(page, "supervisor")


def test_the_review_page(site, page):
    sign_in(page, site[1])
    page.goto(site[1] + "/t/tokyo/review")
    assert_accessible(page, "review")


def test_the_transparency_page(site, page):
    page.goto(site[1] + "/t/tokyo/transparency")
    assert_accessible(page, "transparency")


def test_the_insight_page(site, page):
    sign_in(page, site[1])
    page.goto(site[1] + "/t/tokyo/insight")
    assert_accessible(page, "insight")


def test_report(capsys):
    """Prints the count per page for the record (run with -s)."""
    with capsys.disabled():
        print("\naxe violations per page:", RESULTS)
    assert RESULTS, "the pages above ran first"
