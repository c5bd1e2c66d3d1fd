"""A phone call end to end: signed Twilio webhooks → TwiML, turns through the inbox worker, SMS to a fake Twilio."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from channels.voice import CallScript, VoiceAdapter
from madoguchi.app import create_app
from storage.schema import inbound_events
from storage.testing import temporary_database
from tests.channels.fakes import FakeTwilioApi
from tests.channels.standins import ANSWER_URL, ScriptedEngine
from tests.channels.wiring import (
    PUBLIC_BASE, TWILIO_AUTH, TWILIO_SID, count, counts, escalation_rows, make_services, outbox_rows, running_loops,
    tenant_channels, loop_settings, wait_until,
)

BASE = "/webhooks/twilio/voice/tokyo"
CALL = "CA" + "7" * 32
CALLER = "+819012345678"
OPERATOR = "+81353207725"


def call_params(**extra: str) -> dict[str, str]:
    return {"CallSid": CALL, "AccountSid": TWILIO_SID, "From": CALLER, "To": OPERATOR,
            "CallStatus": "in-progress", "Direction": "inbound", **extra}


def signed(url: str, params: dict[str, str], token: str = TWILIO_AUTH) -> tuple[str, bytes, dict[str, str]]:
    """What Twilio sends to an absolute public URL: (the path the app sees, the form body, headers)."""
    full = url if url.startswith("http") else PUBLIC_BASE + url
    signature = RequestValidator(token).compute_signature(full, params)
    parts = urlsplit(full)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path, urlencode(params).encode(), {"X-Twilio-Signature": signature,
                                              "Content-Type": "application/x-www-form-urlencoded"}


def post(client: TestClient, url: str, **params: str) -> ET.Element:
    path, body, headers = signed(url, call_params(**params))
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.text)


def said(root: ET.Element) -> str:
    return "".join(e.text or "" for e in root.iter("Say"))


def gather_action(root: ET.Element) -> str:
    return root.find("Gather").get("action")


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


@pytest.fixture
def twilio_api():
    with FakeTwilioApi(TWILIO_SID, TWILIO_AUTH) as fake:
        yield fake


@pytest.fixture
def engine():
    return ScriptedEngine()


@pytest.fixture
def services(tmp_path, twilio_api, engine, request):
    wait = getattr(request, "param", 1.5)
    script = CallScript(office="東京都", operator_number=OPERATOR, hours="平日 9:00〜17:00")
    adapter = VoiceAdapter("tokyo", TWILIO_SID, TWILIO_AUTH, public_base_url=PUBLIC_BASE, sms_from="+815012345678",
                           script=script, api_base_url=twilio_api.url)
    with temporary_database("sqlite", tmp_path) as db:
        channels = {"tokyo": tenant_channels("tokyo", {"voice": adapter})}
        yield make_services(db, tmp_path, engine=engine, channels=channels, settings=loop_settings(voice_wait_s=wait))


@pytest.fixture
def client(services):
    with TestClient(create_app(services, start_background=False)) as test_client, running_loops(services):
        yield test_client


def ask(client: TestClient, text: str, step: int = 1) -> ET.Element:
    return post(client, f"{BASE}/gather?step={step}", SpeechResult=text, Confidence="0.9")


class TestCallFlow:
    def test_call_start_greets_and_gathers_speech_on_the_public_url(self, client):
        root = post(client, BASE)
        assert "自動案内" in said(root)
        gather = root.find("Gather")
        assert gather.get("input") == "speech dtmf" and gather.get("language") == "ja-JP"
        assert gather.get("action") == f"{PUBLIC_BASE}{BASE}/gather?step=1"

    def test_question_is_answered_for_the_ear_and_asks_whether_it_helped(self, client, services, twilio_api):
        root = ask(client, "粗大ごみの出し方")
        speech = said(root)
        assert "粗大ごみは電話" in speech and "http" not in speech and "03-1234" not in speech
        assert "解決しましたか" in speech and "3を押して" in speech  # the link can go by SMS
        action = query_of(gather_action(root))
        assert action["step"] == "2" and action["stage"] == "answer"
        (row,) = outbox_rows(services.db)
        assert action["ref"] == row.idempotency_key.split(":")[1]
        wait_until(lambda: outbox_rows(services.db)[0].status == "sent", what="the spoken reply marked sent")
        assert twilio_api.messages == []  # the answer was heard, not texted

    def test_a_redelivered_question_gets_the_same_answer_and_one_turn(self, client, services, engine):
        first, second = ask(client, "粗大ごみの出し方"), ask(client, "粗大ごみの出し方")
        assert said(first) == said(second)
        assert counts(services.db)["turns"] == 1 and len(engine.calls) == 1

    def test_pressing_zero_transfers_the_call_with_the_escalation_recorded(self, client, services):
        root = post(client, f"{BASE}/gather?step=1", Digits="0")
        assert root.find("Dial").text == OPERATOR
        (escalation,) = escalation_rows(services.db)
        assert escalation.reason == "requested" and escalation.state == "queued"

    def test_asking_for_a_person_in_words_transfers_too(self, client, services):
        root = ask(client, "担当者につないでください")
        assert root.find("Dial") is not None and len(escalation_rows(services.db)) == 1

    def test_pressing_three_sends_the_link_by_sms_once(self, client, twilio_api):
        answer = ask(client, "粗大ごみの出し方")
        for _ in range(2):  # Twilio retries the same webhook: still one SMS
            root = post(client, gather_action(answer), Digits="3")
            assert "ショートメッセージでリンクをお送りしました" in said(root)
        wait_until(lambda: twilio_api.messages, what="the SMS")
        (sms,) = twilio_api.messages
        assert sms["To"] == CALLER and ANSWER_URL in sms["Body"]

    def test_pressing_one_says_goodbye(self, client):
        answer = ask(client, "粗大ごみの出し方")
        root = post(client, gather_action(answer), Digits="1")
        assert root.find("Hangup") is not None and "ありがとうございました" in said(root)

    def test_pressing_nine_repeats_the_answer(self, client):
        answer = ask(client, "粗大ごみの出し方")
        again = post(client, gather_action(answer), Digits="9")
        assert "粗大ごみは電話" in said(again)

    def test_clarification_reads_numbered_choices_and_takes_a_key(self, client, engine):
        root = ask(client, "ごみの選択")
        assert "1番、粗大ごみ" in said(root) and "2番、資源ごみ" in said(root)
        assert query_of(gather_action(root))["stage"] == "clarify"
        post(client, gather_action(root), Digits="2")
        assert engine.calls[-1] == "2"  # the dialogue maps the number to the choice with its memory

    def test_silence_falls_back_to_the_keypad_then_says_goodbye(self, client):
        first = post(client, f"{BASE}/noinput?step=1")
        assert first.find("Gather").get("input") == "dtmf speech"
        redirect = first.find("Redirect").text
        last = post(client, redirect)
        assert last.find("Hangup") is not None

    def test_a_failure_after_verification_transfers_instead_of_an_error(self, client, services, monkeypatch):
        def broken(*args, **kwargs):
            raise RuntimeError("database unreachable")

        monkeypatch.setattr("conversations.call_flow.VoiceFlow._record", broken)
        root = ask(client, "粗大ごみの出し方")
        assert root.find("Dial").text == OPERATOR

    def test_status_callback_is_acknowledged_with_empty_twiml(self, client, services):
        root = post(client, f"{BASE}/status", CallStatus="completed")
        assert list(root) == []
        assert count(services.db, inbound_events) == 0


@pytest.mark.parametrize("services", [0.3], indirect=True)
@pytest.mark.parametrize("engine", [ScriptedEngine(delay_s=1.0)])
def test_a_slow_answer_holds_the_caller_then_reads_the_answer(client):
    root = ask(client, "粗大ごみの出し方")
    assert root.find("Pause") is not None and "お調べしています" in said(root)
    poll = root.find("Redirect").text
    assert query_of(poll) == {"step": "1", "hold": "1"}
    for _ in range(20):  # each poll waits up to voice_wait_s; the slow turn finishes within a few
        root = post(client, poll)
        if root.find("Gather") is not None:
            break
        poll = root.find("Redirect").text
    assert "粗大ごみは電話" in said(root)


class TestVoiceRejections:
    @pytest.mark.parametrize("case", ["tampered", "wrong_token", "missing", "internal_url"])
    def test_bad_signature_is_refused_and_nothing_stored(self, client, services, case):
        path, body, headers = signed(f"{BASE}/gather?step=1", call_params(SpeechResult="粗大ごみ"),
                                     token="other-token" if case == "wrong_token" else TWILIO_AUTH)
        if case == "tampered":
            body = body.replace(b"CallStatus=in-progress", b"CallStatus=in-progresS")
        elif case == "missing":
            del headers["X-Twilio-Signature"]
        elif case == "internal_url":
            internal = RequestValidator(TWILIO_AUTH).compute_signature(
                "http://127.0.0.1:8000" + path, call_params(SpeechResult="粗大ごみ"))
            headers["X-Twilio-Signature"] = internal
        response = client.post(path, content=body, headers=headers)
        assert response.status_code == (401 if case == "missing" else 403)
        assert count(services.db, inbound_events) == 0

    def test_voice_off_for_the_tenant_is_404(self, client):
        path, body, headers = signed("/webhooks/twilio/voice/amagasaki", call_params())
        response = client.post(path, content=body, headers=headers)
        assert response.status_code == 404 and "off for amagasaki" in response.json()["detail"]

    def test_gather_without_a_call_sid_is_400(self, client, services):
        params = {"From": CALLER, "SpeechResult": "粗大ごみ"}
        full = f"{PUBLIC_BASE}{BASE}/gather?step=1"
        headers = {"X-Twilio-Signature": RequestValidator(TWILIO_AUTH).compute_signature(full, params),
                   "Content-Type": "application/x-www-form-urlencoded"}
        response = client.post(f"{BASE}/gather?step=1", content=urlencode(params).encode(), headers=headers)
        assert response.status_code == 400 and "CallSid" in response.json()["detail"]
