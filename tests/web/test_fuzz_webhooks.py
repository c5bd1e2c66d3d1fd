"""Hostile bodies with valid signatures, on the parsers behind the signature check: LINE webhooks, Twilio voice
callbacks, inbound mail over HTTP, and the Rasa REST channel, on SQLite and PostgreSQL.

A signed body is what an attacker with a leaked secret, or a provider with a bug, can send: the answer is a
refusal with a reason (400, 413, 422) or an acknowledgement, never a 5xx, and the app keeps answering after it.
Bounded for CI: a fixed number of examples per test, derandomised. Each test records how many bodies it tried
(`attacks`, read by bench/hostile.py).
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from channels.email import EmailAdapter, SmtpSettings
from channels.line import LineAdapter
from channels.voice import VoiceAdapter
from madoguchi.app import create_app
from tests.api.fakes import FakeEngine
from tests.channels.fakes import line_signature
from tests.channels.wiring import (
    LINE_SECRET, LINE_TOKEN, PUBLIC_BASE, TWILIO_AUTH, TWILIO_SID, make_services, tenant_channels,
)

EXAMPLES = 40
MAIL_TOKEN = "inbound-mail-token-for-the-fuzz-test"
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

# Text as hostile as JSON and forms can carry: NUL and other controls, lone surrogates, bidi overrides, tags, long runs.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec=None, categories=("Cc", "Cs", "Cf", "Co", "Zl", "Zp")), max_size=20),
    st.sampled_from(["\x00", "\ud800", "\udfff\ud800", "\u202egpj.exe", "=00", "A" * 6000, "住民票\x00\u202e",
                     "'; DROP TABLE turns; --", "<script>alert(1)</script>", "{{7*7}}", "%00", "\r\n\r\n"]),
)
# A form body is bytes in UTF-8: no lone surrogate survives it (a mail or JSON body can still carry one).
form_text = hostile_text.map(lambda text: text.encode("utf-8", "replace").decode())
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text)
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    hostile_text, inner, max_size=3), max_leaves=8)


@pytest.fixture
def client(db, tmp_path):
    adapters = {
        "line": LineAdapter("tokyo", LINE_SECRET, LINE_TOKEN, api_host="http://127.0.0.1:9"),
        "voice": VoiceAdapter("tokyo", TWILIO_SID, TWILIO_AUTH, public_base_url=PUBLIC_BASE),
        "email": EmailAdapter("tokyo", "soudan@city.example.lg.jp", SmtpSettings(host="127.0.0.1", port=9),
                              inbound_token=lambda: MAIL_TOKEN),
    }
    channels = {"tokyo": tenant_channels("tokyo", adapters)}
    services = make_services(db, tmp_path, engine=FakeEngine(), channels=channels)
    with TestClient(create_app(services, start_background=False), raise_server_exceptions=False) as test_client:
        yield test_client


def line_event(text, kind, user, event_id, extra):
    event = {"type": kind, "mode": "active", "timestamp": 1_700_000_000_000, "webhookEventId": event_id,
             "replyToken": "rt", "source": {"type": "user", "userId": user},
             "message": {"type": "text", "id": "1", "text": text}, "postback": {"data": text}}
    return {**event, **extra}


line_bodies = st.one_of(
    st.builds(lambda events: json.dumps({"destination": "U", "events": events}).encode(), st.lists(st.builds(
        line_event, hostile_text, st.sampled_from(["message", "postback", "follow", "unfollow", "nonsense"]),
        hostile_text, hostile_text, st.dictionaries(st.sampled_from(["message", "source", "timestamp", "type"]),
                                                    json_value, max_size=2)), max_size=4)),
    st.builds(lambda value: json.dumps(value).encode(), json_value),
    st.binary(max_size=200),
)


def refused_or_taken(response, *allowed: int) -> None:
    """An acknowledgement or a refusal with a reason; the failure names the request (hypothesis shows it shrunk)."""
    sent = response.request.content[:500]
    assert response.status_code < 500, f"{response.status_code} for {sent!r}: {response.text[:300]}"
    assert response.status_code in allowed, f"{response.status_code} for {sent!r}: {response.text[:300]}"


class TestSignedHostileBodies:
    def test_line(self, client, record_property):
        tried = []

        @FUZZ
        @given(line_bodies)
        def signed_line_body(body):
            tried.append(body)
            response = client.post("/webhooks/line/tokyo", content=body, headers={
                "X-Line-Signature": line_signature(LINE_SECRET, body), "Content-Type": "application/json"})
            refused_or_taken(response, 200, 400, 413)

        signed_line_body()
        record_property("attacks", len(tried))
        assert client.get("/healthz").status_code == 200

    def test_twilio_voice(self, client, record_property):
        tried = []

        @FUZZ
        @given(st.sampled_from(["", "/gather", "/poll?hold=2", "/noinput?again=1", "/status"]),
               st.dictionaries(st.sampled_from(["CallSid", "From", "To", "SpeechResult", "Digits", "CallStatus",
                                                "AccountSid", "Confidence"]), form_text, max_size=6))
        def signed_twilio_callback(route, params):
            tried.append(route)
            path = f"/webhooks/twilio/voice/tokyo{route}"
            signature = RequestValidator(TWILIO_AUTH).compute_signature(PUBLIC_BASE + path, params)
            body = urlencode(params).encode()
            response = client.post(path, content=body, headers={
                "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
            refused_or_taken(response, 200, 400, 403, 413)
            if response.status_code == 200:
                assert response.headers["content-type"].startswith("application/xml")

        signed_twilio_callback()
        record_property("attacks", len(tried))

    def test_inbound_mail(self, client, record_property):
        headers = st.lists(st.tuples(st.sampled_from(["From", "Reply-To", "Subject", "Message-ID", "To",
                                                      "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted"]),
                                     hostile_text), max_size=6)
        tried = []

        @FUZZ
        @given(headers, st.one_of(hostile_text, st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
        def authorised_mail(header_lines, body):
            tried.append(body)
            raw = "".join(f"{name}: {value}\r\n" for name, value in header_lines) + "\r\n" + body
            response = client.post("/webhooks/email/tokyo", content=raw.encode("utf-8", "surrogatepass"), headers={
                "Authorization": f"Bearer {MAIL_TOKEN}", "Content-Type": "message/rfc822"})
            refused_or_taken(response, 200, 400, 413)

        authorised_mail()
        record_property("attacks", len(tried))

    def test_rasa_rest(self, client, record_property):
        tried = []

        @FUZZ
        @given(st.one_of(st.fixed_dictionaries({"sender": hostile_text, "message": hostile_text},
                                               optional={"metadata": json_value}), json_value))
        def rasa_message(body):
            tried.append(body)
            response = client.post("/t/tokyo/webhooks/rest/webhook", content=json.dumps(body).encode(),
                                   headers={"Content-Type": "application/json"})
            refused_or_taken(response, 200, 400, 413, 422, 429)

        rasa_message()
        record_property("attacks", len(tried))
