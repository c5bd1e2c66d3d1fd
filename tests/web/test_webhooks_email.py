"""E-mail end to end: a real aiosmtpd endpoint (and an IMAP mailbox, and the HTTP route) in, the worker, and the
reply out over SMTP to another aiosmtpd server standing for the resident's provider."""
from __future__ import annotations

import smtplib
from email import policy
from email.parser import BytesParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.email import EmailAdapter, ImapSettings, SmtpSettings
from madoguchi.app import create_app
from storage.schema import inbound_events, messages
from storage.testing import temporary_database
from tests.channels.imap_double import ImapDouble
from tests.channels.test_email import SmtpSink, iso2022jp_mail, utf8_mail
from tests.channels.wiring import (
    count, counts, escalation_rows, make_services, outbox_rows, running_loops, tenant_channels, wait_until,
)

CITY = "soudan@city.example.lg.jp"


@pytest.fixture
def sink():
    with SmtpSink() as running:
        yield running


@pytest.fixture
def db(tmp_path):
    with temporary_database("sqlite", tmp_path) as database:
        yield database


def email_services(db, tmp_path, sink, imap: ImapSettings | None = None):
    adapter = EmailAdapter("tokyo", CITY, SmtpSettings(host="127.0.0.1", port=sink.controller.port),
                           display_name="東京都 相談窓口")
    channels = tenant_channels("tokyo", {"email": adapter})
    channels.imap = imap
    return make_services(db, tmp_path, channels={"tokyo": channels})


def send_to_gateway(services, raw: bytes, mail_from: str = "taro@example.jp") -> None:
    smtp = services.runtime.email_gateway.smtp
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        client.sendmail(mail_from, [CITY], raw)


def replies(sink) -> list:
    return [BytesParser(policy=policy.default).parsebytes(raw) for _, _, raw in sink.received]


class TestSmtpEndpoint:
    def test_iso_2022_jp_question_is_answered_in_the_same_thread(self, db, tmp_path, sink):
        services = email_services(db, tmp_path, sink)
        with running_loops(services):
            send_to_gateway(services, iso2022jp_mail("粗大ごみの出し方を教えてください。".encode("iso2022_jp")))
            wait_until(lambda: sink.received, what="the reply mail")
        (reply,) = replies(sink)
        assert sink.received[0][1] == ["taro@example.jp"]
        assert reply["In-Reply-To"] == "<q1@example.jp>" and reply["Subject"] == "Re: 粗大ごみについて"
        assert reply["Auto-Submitted"] == "auto-replied"
        body = reply.get_content()
        assert "粗大ごみは電話" in body and "> 粗大ごみの出し方を教えてください。" in body
        assert counts(db) == {"inbound": 1, "turns": 1, "outbox": 1, "escalations": 0}

    def test_the_same_message_delivered_twice_is_answered_once(self, db, tmp_path, sink):
        services = email_services(db, tmp_path, sink)
        raw = utf8_mail("資源ごみの日は？", message_id="<twice@example.jp>")
        with running_loops(services):
            send_to_gateway(services, raw)
            send_to_gateway(services, raw)
            wait_until(lambda: sink.received, what="the reply mail")
            wait_until(lambda: outbox_rows(db)[0].status == "sent", what="the outbox row marked sent")
        assert len(sink.received) == 1 and count(db, inbound_events) == 1

    def test_auto_reply_is_stored_for_the_operator_but_never_answered(self, db, tmp_path, sink):
        services = email_services(db, tmp_path, sink)
        raw = utf8_mail("不在にしています。", extra="Auto-Submitted: auto-replied\r\n", message_id="<oof@x.jp>")
        with running_loops(services):
            send_to_gateway(services, raw)
            wait_until(lambda: count(db, inbound_events, inbound_events.c.status == "done"), what="the event done")
        assert sink.received == []
        assert counts(db) == {"inbound": 1, "turns": 0, "outbox": 0, "escalations": 0}
        with db.read() as conn:
            (stored,) = conn.execute(select(messages)).all()
        assert stored.role == "resident" and "不在" in stored.text

    def test_unanswerable_question_is_escalated_with_the_whole_message(self, db, tmp_path, sink):
        services = email_services(db, tmp_path, sink)
        body = "難問です。\n\n経緯は次のとおりです。長い説明……\n\n--\n山田"
        with running_loops(services):
            send_to_gateway(services, utf8_mail(body, message_id="<hard@example.jp>"))
            wait_until(lambda: escalation_rows(db), what="the escalation")
            wait_until(lambda: sink.received, what="the holding reply")
        (escalation,) = escalation_rows(db)
        assert escalation.state == "queued" and escalation.reason == "low_confidence"
        whole = escalation.meta["email"]["body"]
        assert whole.startswith("難問です。") and "長い説明" in whole
        assert escalation.meta["email"]["from"] == "hanako@example.jp"


    def test_an_operator_reply_goes_out_in_the_thread_as_a_person(self, db, tmp_path, sink):
        from conversations.operator_replies import send_operator_reply

        services = email_services(db, tmp_path, sink)
        with running_loops(services):
            send_to_gateway(services, utf8_mail("難問です。", message_id="<hard2@example.jp>"))
            wait_until(lambda: sink.received, what="the holding reply")
            claim = services.queue.claim(["tokyo"], "sato")
            send_operator_reply(services, claim, "担当の佐藤です。確認してご連絡します。")
            wait_until(lambda: len(sink.received) == 2, what="the operator's reply")
        operator_reply = replies(sink)[1]
        assert operator_reply["In-Reply-To"] == "<hard2@example.jp>" and operator_reply["Auto-Submitted"] is None
        assert "担当の佐藤です" in operator_reply.get_content() and sink.received[1][1] == ["hanako@example.jp"]


def test_imap_mailbox_is_polled_answered_and_marked_seen(db, tmp_path, sink):
    with ImapDouble() as mailbox:
        uid = mailbox.deliver(utf8_mail("粗大ごみの出し方", message_id="<imap1@example.jp>"))
        imap = ImapSettings(host="127.0.0.1", port=mailbox.port, username=mailbox.username,
                            password=mailbox.password, use_ssl=False)
        services = email_services(db, tmp_path, sink, imap)
        with running_loops(services):
            wait_until(lambda: sink.received, what="the reply to the polled mail")
            wait_until(lambda: "\\Seen" in mailbox.flags_of(uid), what="the mail marked seen")
    (reply,) = replies(sink)
    assert reply["In-Reply-To"] == "<imap1@example.jp>"


class TestHttpInboundMail:
    @pytest.fixture
    def client(self, db, tmp_path, sink, monkeypatch):
        monkeypatch.setenv("MADOGUCHI_TOKYO_EMAIL_INBOUND_TOKEN", "mail-token")
        services = email_services(db, tmp_path, sink)
        with TestClient(create_app(services, start_background=False)) as test_client:
            yield test_client

    def test_provider_post_with_the_token_is_recorded(self, client, db):
        response = client.post("/webhooks/email/tokyo", content=utf8_mail("粗大ごみ"),
                               headers={"Authorization": "Bearer mail-token", "Content-Type": "message/rfc822"})
        assert response.status_code == 200 and response.json() == {"received": 1, "new": 1}
        assert count(db, inbound_events) == 1

    @pytest.mark.parametrize(("authorization", "status"), [(None, 401), ("Bearer wrong", 403)])
    def test_wrong_or_missing_token_stores_nothing(self, client, db, authorization, status):
        headers = {"Authorization": authorization} if authorization else {}
        response = client.post("/webhooks/email/tokyo", content=utf8_mail("粗大ごみ"), headers=headers)
        assert response.status_code == status and count(db, inbound_events) == 0

    def test_route_is_off_without_a_configured_token(self, client, db, monkeypatch):
        monkeypatch.delenv("MADOGUCHI_TOKYO_EMAIL_INBOUND_TOKEN")
        response = client.post("/webhooks/email/tokyo", content=utf8_mail("粗大ごみ"),
                               headers={"Authorization": "Bearer mail-token"})
        assert response.status_code == 404 and count(db, inbound_events) == 0
