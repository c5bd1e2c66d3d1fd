"""Issue 10 blocker 3: a My Number or card number never reaches a table or a log line, through every channel (the web
chat and its feedback, a signed LINE webhook, e-mail through the real aiosmtpd endpoint, a signed Twilio voice
webhook), on SQLite and PostgreSQL. The resident is told at once, in their language, and the rest of the message is
still answered. The tenant keeps a call-back phone number (tokyo: `pii: {keep: [phone]}`), which operators see
masked; an e-mail address is replaced, and an address keeps its town and 丁目.

The tables are enumerated from the schema and every column of every row is searched (as in
tests/governance/test_erasure_coverage.py), so a new table or column is covered without touching this test.
"""
from __future__ import annotations

import io
import json
import logging
import smtplib
import time
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from channels.email import EmailAdapter, SmtpSettings
from channels.line import LineAdapter
from channels.voice import CallScript, VoiceAdapter
from governance.logging import configure_logging
from madoguchi.app import create_app
from storage.schema import escalations, messages
from tests.channels.fakes import FakeLineApi, line_signature
from tests.channels.wiring import (
    LINE_SECRET, LINE_TOKEN, PUBLIC_BASE, TWILIO_AUTH, TWILIO_SID, make_services, provider_fakes, running_loops,
    tenant_channels, wait_until,
)
from tests.escalation.console_support import make_operator, sign_in
from tests.storage.every_column import where_found

MY_NUMBER = "1234 5678 9018"  # valid check digit
MY_NUMBER_BARE = "987654321093"  # valid check digit, written without any cue
CARD = "4111 1111 1111 1111"  # passes Luhn
PHONE = "090-1234-5678"
EMAIL = "hanako.suzuki@example.jp"
ADDRESS = "世田谷区太子堂2丁目3番4号"
NEVER = (MY_NUMBER, MY_NUMBER.replace(" ", ""), MY_NUMBER_BARE, CARD, CARD.replace(" ", ""))
QUESTION_JA = f"マイナンバーは{MY_NUMBER}です。住所は{ADDRESS}、電話は{PHONE}、メールは{EMAIL}。粗大ごみの出し方は？"
QUESTION_EN = f"My card is {CARD}. How do I pay my resident tax?"
NOTICE = {"ja": "マイナンバー（個人番号）やクレジットカードなどの番号は、ここには送らないでください",
          "en": "Please do not send your My Number (Individual Number) or card details here"}
CITY_MAIL = "soudan@city.example.lg.jp"
CALL = "CA" + "5" * 32




@pytest.fixture
def captured_logs():
    """The production log set-up (JSON lines, the redacting filter and formatter) at DEBUG, into a buffer."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    handler = configure_logging("DEBUG", "json")
    buffer = io.StringIO()
    handler.setStream(buffer)
    yield buffer
    root.handlers[:], _ = saved[0], root.setLevel(saved[1])


@pytest.fixture
def fakes():
    with provider_fakes() as apis:
        yield apis


@pytest.fixture
def services(db, tmp_path, fakes):
    line_api, twilio_api, sink = fakes
    adapters = {
        "line": LineAdapter("tokyo", LINE_SECRET, LINE_TOKEN, api_host=line_api.url),
        "voice": VoiceAdapter("tokyo", TWILIO_SID, TWILIO_AUTH, public_base_url=PUBLIC_BASE,
                              script=CallScript(office="東京都", operator_number="+81353207725"),
                              api_base_url=twilio_api.url),
        "email": EmailAdapter("tokyo", CITY_MAIL, SmtpSettings(host="127.0.0.1", port=sink.controller.port)),
    }
    return make_services(db, tmp_path, channels={"tokyo": tenant_channels("tokyo", adapters)})


@pytest.fixture
def client(services, captured_logs):
    # On the public https URL: staff cookies are Secure there.
    with TestClient(create_app(services, start_background=False), base_url=PUBLIC_BASE) as test_client, \
            running_loops(services):
        yield test_client


# -- one resident per channel ---------------------------------------------------------------------------------------

def web_chat(client: TestClient) -> list[dict]:
    """A question with a My Number, one in English with a card, feedback whose comment carries a My Number, a
    hand-over, and a message the operator is to answer. Returns the replies, then the transcript."""
    start = client.post("/api/v1/t/tokyo/conversations").json()
    url = f"/api/v1/t/tokyo/conversations/{start['conversation_id']}"
    headers = {"X-Resident-Token": start["resident_token"]}

    def send(text: str) -> dict:
        response = client.post(f"{url}/messages", headers=headers,
                               json={"text": text, "client_message_id": uuid.uuid4().hex})
        assert response.status_code == 200, response.text
        return response.json()

    replies = [send(QUESTION_JA), send(QUESTION_EN)]
    feedback = client.post(f"{url}/feedback", headers=headers, json={
        "turn_id": replies[0]["turn_id"], "rating": "unhelpful", "comment": f"番号 {MY_NUMBER_BARE} を消して"})
    assert feedback.status_code == 201, feedback.text
    replies.append(send(f"担当者と話したい。カードは{CARD}です"))
    replies.append(send(f"追加です。マイナンバーは{MY_NUMBER}です"))  # the operator's to answer: no turn
    transcript = client.get(f"{url}/messages", headers=headers).json()["messages"]
    replies.append({"transcript": [m["text"] for m in transcript]})
    return replies


def line_message(client: TestClient, line_api: FakeLineApi) -> None:
    event = {"type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
             "webhookEventId": uuid.uuid4().hex, "deliveryContext": {"isRedelivery": False},
             "replyToken": line_api.issue_reply_token(), "source": {"type": "user", "userId": "U-pii-1"},
             "message": {"type": "text", "id": "4687895778", "text": QUESTION_JA}}
    body = json.dumps({"destination": "Ubot", "events": [event]}, ensure_ascii=False).encode()
    response = client.post("/webhooks/line/tokyo", content=body, headers={
        "X-Line-Signature": line_signature(LINE_SECRET, body), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text


def email_message(services: Any) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"] = f"鈴木花子 <{EMAIL}>", CITY_MAIL
    mail["Subject"], mail["Message-ID"] = f"カード {CARD} の件", "<pii-mail-1@example.jp>"
    mail.set_content(f"{QUESTION_JA}\n個人番号 {MY_NUMBER_BARE}\n")
    smtp = services.runtime.email_gateway.smtp
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as connection:
        connection.sendmail(EMAIL, [CITY_MAIL], mail.as_bytes())


def phone_call(client: TestClient) -> str:
    """The caller says their My Number; returns what the TwiML says."""
    params = {"CallSid": CALL, "AccountSid": TWILIO_SID, "From": "+819011112222", "To": "+81353207725",
              "CallStatus": "in-progress", "Direction": "inbound", "SpeechResult": QUESTION_JA, "Confidence": "0.9"}
    path = "/webhooks/twilio/voice/tokyo/gather?step=1"
    signature = RequestValidator(TWILIO_AUTH).compute_signature(PUBLIC_BASE + path, params)
    response = client.post(path, content=urlencode(params).encode(), headers={
        "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text
    return response.text


def test_no_my_number_or_card_number_reaches_any_table_or_log_line(client, services, fakes, captured_logs, db):
    line_api, _twilio_api, sink = fakes
    replies = web_chat(client)
    line_message(client, line_api)
    email_message(services)
    spoken = phone_call(client)
    wait_until(lambda: line_api.delivered and sink.received, what="the LINE and e-mail replies")

    # The resident is told at once, in their language, and the rest of the message is answered.
    assert replies[0]["answer"].startswith(NOTICE["ja"]) and "粗大ごみの出し方" in replies[0]["answer"]
    assert replies[1]["answer"].startswith(NOTICE["en"])
    assert NOTICE["ja"] in json.dumps(line_api.delivered, ensure_ascii=False)
    mail = BytesParser(policy=policy.default).parsebytes(sink.received[0][2])
    assert NOTICE["ja"] in mail.get_body(("plain",)).get_content()
    assert replies[3]["outcome"] == "with_operator"
    assert replies[4]["transcript"][-1].startswith(NOTICE["ja"]), "told although no turn answers the message"
    assert "ここには送らないでください" in spoken

    found = where_found(services.db, NEVER)
    assert found == {}, f"a My Number or card number was stored: {found}"
    logged = captured_logs.getvalue()
    assert logged.count("\n") > 10, "the scenario wrote almost no log lines: the check would prove nothing"
    assert not [needle for needle in NEVER if needle in logged]


def test_other_personal_data_follows_the_tenant_policy_and_operators_see_it_masked(client, services, db):
    replies = web_chat(client)
    with services.db.read() as conn:
        stored = [row.text for row in conn.execute(select(messages).where(messages.c.role == "resident"))]
    first = stored[0]
    assert PHONE in first, "tokyo keeps a call-back number as written"
    assert EMAIL not in first and "〔メール〕" in first
    assert "世田谷区太子堂2丁目〔番地〕" in first and ADDRESS not in first
    assert "〔個人番号〕" in first and "〔カード番号〕" in stored[1]
    assert where_found(services.db, (EMAIL, ADDRESS)) == {}

    make_operator(services.db, "sato", ["tokyo"])
    sign_in(client, "sato")
    with services.db.read() as conn:
        escalation_id = conn.execute(select(escalations.c.id)).scalar_one()
    page = client.get(f"/console/escalations/{escalation_id}").text
    assert "090-****-5678" in page  # (the scripted assistant echoes the question: assistant text is shown as sent)
    polled = client.get(f"/console/escalations/{escalation_id}/messages").json()["messages"]
    resident_texts = " ".join(m["text"] for m in polled if m["role"] == "resident")
    assert "090-****-5678" in resident_texts and PHONE not in resident_texts
    assert replies[2]["outcome"] == "escalated"
