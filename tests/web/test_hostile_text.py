"""Text no database can store, and text too long to keep, on every channel and both databases.

NUL (PostgreSQL refuses it in text and jsonb) and lone surrogates (UTF-8 cannot encode them, so SQLite refuses them
too) used to cost a 500 on the web chat, both events of a signed LINE batch, and a 451 on every try of a mail with
=00. A 333,333-character LINE message was kept and embedded whole. Now each field is made storable before storage
and a long message is cut to MAX_MESSAGE_CHARS, with a reply that says so.
"""
from __future__ import annotations

import json
import smtplib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.email import EmailAdapter, SmtpSettings
from channels.line import LineAdapter
from core.text import MAX_MESSAGE_CHARS
from madoguchi.app import create_app
from storage import append_message, open_conversation
from storage.schema import inbound_events, messages
from tests.channels.fakes import FakeLineApi
from tests.channels.test_email import SmtpSink, utf8_mail
from tests.channels.wiring import (
    LINE_SECRET, LINE_TOKEN, count, make_services, outbox_rows, running_loops, tenant_channels, wait_until,
)
from tests.web.test_webhooks_line import PATH as LINE_PATH
from tests.web.test_webhooks_line import signed, text_event, webhook

CITY = "soudan@city.example.lg.jp"
CUT_NOTE = f"最初の{MAX_MESSAGE_CHARS:,}文字までを受け付けて"


@pytest.fixture
def line_api():
    with FakeLineApi(LINE_TOKEN) as fake:
        yield fake


@pytest.fixture
def sink():
    with SmtpSink() as running:
        yield running


@pytest.fixture
def services(db, tmp_path, line_api, sink):
    adapters = {"line": LineAdapter("tokyo", LINE_SECRET, LINE_TOKEN, api_host=line_api.url),
                "email": EmailAdapter("tokyo", CITY, SmtpSettings(host="127.0.0.1", port=sink.controller.port))}
    return make_services(db, tmp_path, channels={"tokyo": tenant_channels("tokyo", adapters)})


@pytest.fixture
def client(services):
    with TestClient(create_app(services, start_background=False)) as test_client:
        yield test_client


def resident_texts(db) -> list[str]:
    with db.read() as conn:
        return [row.text for row in conn.execute(
            select(messages.c.text).where(messages.c.role == "resident").order_by(messages.c.id))]


def payload_texts(db) -> list[str]:
    with db.read() as conn:
        return [row.payload["text"] for row in conn.execute(select(inbound_events).order_by(inbound_events.c.id))]


class TestWebChat:
    def post(self, client, escaped: str):
        started = client.post("/api/v1/t/tokyo/conversations").json()
        body = f'{{"text": "{escaped}", "client_message_id": "message-0001"}}'.encode()
        return client.post(f"/api/v1/t/tokyo/conversations/{started['conversation_id']}/messages", content=body,
                           headers={"X-Resident-Token": started["resident_token"], "Content-Type": "application/json"})

    @pytest.mark.parametrize("escaped, stored", [
        ("粗大ごみ\\u0000の日", "粗大ごみの日"),
        ("\\u0000粗大ごみ\\ud83d\\ude00\\u0000", "粗大ごみ\U0001f600"),  # a valid pair stays one emoji
    ])
    def test_nul_is_answered_and_stored_without_it(self, client, db, escaped, stored):
        response = self.post(client, escaped)
        assert response.status_code == 200, response.text
        assert response.json()["answer"]
        assert resident_texts(db) == [stored]

    @pytest.mark.parametrize("escaped", ["粗大ごみ\\ud800の日", "\\udfff", "ごみ\\ude00\\ud83d"])
    def test_a_lone_surrogate_is_refused_naming_the_field_and_nothing_is_stored(self, client, db, escaped):
        response = self.post(client, escaped)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("text: ")
        assert count(db, inbound_events) == 0 and resident_texts(db) == []


class TestLineBatch:
    def test_an_event_with_nul_costs_its_batch_mate_nothing(self, client, services, line_api, db):
        good = text_event("粗大ごみの出し方", user="Ugood", reply_token=line_api.issue_reply_token())
        bad = text_event("資源ごみ\x00の日\ud800", user="Ubad", reply_token=line_api.issue_reply_token())
        # \u0000 and \ud800 escaped, as LINE sends them
        body = json.dumps({"destination": "Ubot", "events": [good, bad]}).encode()
        response = client.post(LINE_PATH, content=body, headers=signed(body))
        assert response.status_code == 200 and response.json() == {"received": 2, "new": 2}
        assert payload_texts(db) == ["粗大ごみの出し方", "資源ごみの日\ufffd"]
        with running_loops(services):
            wait_until(lambda: len(line_api.delivered) == 2, what="both replies")
        assert sorted(resident_texts(db)) == sorted(["粗大ごみの出し方", "資源ごみの日\ufffd"])

    def test_a_long_message_is_cut_and_the_reply_says_so(self, client, services, line_api, db):
        body = webhook(text_event("粗大ごみの出し方" + "あ" * 333_325, reply_token=line_api.issue_reply_token()))
        assert client.post(LINE_PATH, content=body, headers=signed(body)).status_code == 200
        with running_loops(services):
            wait_until(lambda: line_api.delivered, what="the reply")
        (kept,) = resident_texts(db)
        assert len(kept) == MAX_MESSAGE_CHARS and kept.startswith("粗大ごみの出し方")
        with db.read() as conn:
            (event,) = conn.execute(select(inbound_events)).all()
            (stored,) = conn.execute(select(messages.c.meta).where(messages.c.role == "resident")).all()
        assert len(event.payload["text"]) == MAX_MESSAGE_CHARS
        assert event.payload["meta"]["cut_from_chars"] == stored.meta["cut_from_chars"] == 333_333
        reply = line_api.delivered[0]["messages"][0]["text"]
        assert reply.startswith("メッセージが長いため") and CUT_NOTE in reply


class TestMail:
    def send(self, services, raw: bytes) -> None:
        smtp = services.runtime.email_gateway.smtp
        with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
            client.sendmail("hanako@example.jp", [CITY], raw)  # raises on any refusal (451, 554 …)

    def test_a_mail_with_an_encoded_nul_is_accepted_stored_and_answered(self, services, sink, db):
        raw = utf8_mail("資源ごみ\x00の日は？", message_id="<nul@example.jp>")
        assert b"=00" in raw
        with running_loops(services):
            self.send(services, raw)
            wait_until(lambda: sink.received, what="the reply mail")
        assert resident_texts(db) == ["資源ごみの日は？"]

    def test_a_long_mail_keeps_its_first_characters_and_is_told(self, services, sink, db):
        raw = utf8_mail("資源ごみの日は？" + "い" * 10_000, message_id="<long@example.jp>")
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # SMTP lines end in CRLF (and are short)
        with running_loops(services):
            self.send(services, raw)
            wait_until(lambda: outbox_rows(db) and outbox_rows(db)[0].status == "sent", what="the reply sent")
        (kept,) = resident_texts(db)
        assert len(kept) == MAX_MESSAGE_CHARS and kept.startswith("資源ごみの日は？")
        assert CUT_NOTE in outbox_rows(db)[0].payload["text"]


class TestStorageBackstop:
    """Text no caller cleaned (an operator's typed reply, a sign-in name) is made storable by the database handle."""

    def test_any_bound_string_and_json_document(self, db):
        with db.transaction() as conn:
            conversation = open_conversation(conn, tenant="tokyo", channel="web", resident_address="s\x00ess")
            append_message(conn, conversation_id=conversation.id, tenant="tokyo", role="operator",
                           text="お待たせ\x00しました\udc80", meta={"note\x00": ["a\x00", "\ud800"]})
        with db.read() as conn:
            (row,) = conn.execute(select(messages)).all()
        assert row.text == "お待たせしました\ufffd" and row.meta == {"note": ["a", "\ufffd"]}
        assert count(db, messages) == 1
