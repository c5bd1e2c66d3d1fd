"""What a resident can do to a staff member's screen, and what a staff member must not miss (issue 14 item 15),
on SQLite and PostgreSQL: bidi controls are shown, not obeyed; a reply that keeps failing is surfaced in the
console and counted in the metrics."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from conversations.operator_replies import send_operator_reply
from conversations.outbox_sender import OutboxSender
from madoguchi.app import create_app
from madoguchi.web.staff_auth import SessionSigner
from storage import append_message, utcnow
from storage.schema import outbox
from tests.channels.wiring import tenant_channels
from tests.escalation.console_support import make_escalation, make_operator, make_services, sign_in

RLO = "\u202e"
SPOOF = f"請求書の添付を見てください: 請求書{RLO}fdp.exe"  # reads as 「請求書exe.pdf」 with the override obeyed
BIDI_SAMPLES = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
                "\u200f", "\u061c"]


class BrokenLine:
    """A LINE adapter whose provider is down: every send fails (a timeout, a 500)."""
    name = "line"

    def send(self, message):
        raise TimeoutError("LINE did not answer")


@pytest.fixture
def services(db, tmp_path):
    services = make_services(db, tmp_path, channels={"tokyo": tenant_channels("tokyo", {"line": BrokenLine()})})
    make_operator(db, "sato", ["tokyo"])
    return services


@pytest.fixture
def client(services):
    app = create_app(services, start_background=False)
    app.state.console_signer = SessionSigner(services.settings.secret_key, 3600)
    with TestClient(app) as client:
        yield client


def test_a_right_to_left_override_reaches_no_staff_view_raw(client, services):
    escalation_id, conversation_id = make_escalation(services, question=SPOOF)
    with services.db.transaction() as conn:
        append_message(conn, conversation_id=conversation_id, tenant="tokyo", role="resident",
                       text="".join(f"{c}x" for c in BIDI_SAMPLES))
    sign_in(client, "sato")
    page = client.get(f"/console/escalations/{escalation_id}").text
    polled = client.get(f"/console/escalations/{escalation_id}/messages").json()["messages"]
    shown = page + "".join(m["text"] for m in polled)
    assert not any(control in shown for control in BIDI_SAMPLES)
    assert "⟦U+202E RLO⟧fdp.exe" in page and "⟦U+202E RLO⟧fdp.exe" in polled[0]["text"]
    assert sum(f"⟦U+{ord(c):04X}" in polled[-1]["text"] for c in BIDI_SAMPLES) == len(BIDI_SAMPLES)


def test_a_reply_that_fails_six_times_is_shown_in_the_console_and_counted(client, services, db):
    escalation_id, conversation_id = make_escalation(services, channel="line", address="U-line-1")
    claim = services.queue.claim(["tokyo"], "sato")
    send_operator_reply(services, claim, "担当の佐藤です。お電話ください。")
    sender = OutboxSender(services, "test-sender")
    attempts = 0
    while attempts < 10 and sender.run_once():  # each failure backs off: make it due again at once
        attempts += 1
        with db.transaction() as conn:
            conn.execute(update(outbox).values(next_attempt_at=utcnow()))
    assert attempts == 6
    sign_in(client, "sato")
    page = client.get(f"/console/escalations/{escalation_id}").text
    assert "住民に届いていない返信があります" in page and "6回失敗" in page and "送信を断念" in page
    assert "LINE did not answer" in page
    assert client.get("/console/api/queue").json()["entries"][0]["undelivered"] is True
    assert "返信未達" in client.get("/console").text
    metrics = client.get("/metrics").text
    failed = [line for line in metrics.splitlines()
              if line.startswith("madoguchi_outbox_backlog{") and 'status="failed"' in line]
    assert failed and failed[0].endswith(" 1.0") and 'channel="line"' in failed[0]


def test_a_reply_still_retrying_is_shown_as_retrying(client, services, db):
    escalation_id, _ = make_escalation(services, channel="line", address="U-line-2")
    claim = services.queue.claim(["tokyo"], "sato")
    send_operator_reply(services, claim, "折り返します。")
    OutboxSender(services, "test-sender").run_once()
    sign_in(client, "sato")
    page = client.get(f"/console/escalations/{escalation_id}").text
    assert "1回失敗" in page and "再送中" in page
    assert client.get("/console/api/queue").json()["entries"][0]["undelivered"] is False  # not given up yet
