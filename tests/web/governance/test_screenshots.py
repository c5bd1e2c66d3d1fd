"""Headless Chromium renders the transparency page and the dashboard with real figures from a seeded run.

Skips when Playwright or /usr/bin/chromium is absent. Screenshots land in the test's tmp_path (or in
$GOVERNANCE_SCREENSHOT_DIR when set, to look at them).
"""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from madoguchi.web.staff_auth import SESSION_COOKIE, SessionSigner
from tests.governance.seeding import seed_run
from tests.governance.web_support import staff_session

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(sqlite_db, tmp_path: Path):
    """The whole app on a loopback port, over a seeded SQLite database."""
    import uvicorn

    from madoguchi.app import create_app
    from tests.governance.seeding import make_services

    services = make_services(sqlite_db, tmp_path)
    run = seed_run(services)
    app = create_app(services, start_background=False)
    app.state.console_signer = SessionSigner(services.settings.secret_key, 3600)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app, services, run
    server.should_exit = True
    thread.join(timeout=10)


def _browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent")
    return sync_api.sync_playwright()


def test_pages_render_real_figures_in_chromium(live_server, tmp_path: Path) -> None:
    base, app, services, run = live_server
    shots = Path(os.environ.get("GOVERNANCE_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    cookie, _ = staff_session(app, services, "shot-admin", "admin", ["tokyo"])
    with _browser() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="ja-JP")
            page.goto(f"{base}/t/tokyo/transparency?turn={run.turns['answered-0']}")
            assert "この回答について" in page.inner_text(f"#turn-{run.turns['answered-0']}")
            assert page.locator("#sources table tr").count() == 1 + len(services.tenants["tokyo"].sources)
            page.screenshot(path=str(shots / "transparency.png"), full_page=True)
            page.screenshot(path=str(shots / "transparency-top.png"))

            page.context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": base}])
            page.goto(f"{base}/t/tokyo/insight?days=7")
            assert page.inner_text("#total-turns") == "23"
            assert page.inner_text("#handover-rate") == "21.7%"
            assert page.locator("#per-day svg rect").count() >= 4
            assert page.locator("tr.topic").count() == 2
            body = page.inner_text("body")
            assert not [secret for secret in run.secrets if secret in body]
            page.screenshot(path=str(shots / "insight.png"), full_page=True)
        finally:
            browser.close()
    assert (shots / "transparency.png").stat().st_size > 10_000 and (shots / "insight.png").stat().st_size > 10_000
