"""The signature decision matrix for LINE, Twilio and Slack: every single-byte tampering of a real payload, wrong
secrets, missing headers and stale Slack timestamps are refused; only the authentic request passes."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlencode

import pytest
from twilio.request_validator import RequestValidator

from channels.base import SignatureError
from channels.line import LineAdapter
from channels.slack import SlackAdapter
from channels.voice import VoiceAdapter
from tests.channels.fakes import line_signature, slack_signature

PUBLIC = "https://madoguchi.example.jp"
PATH = "/voice/tokyo/gather?step=1"


def line_case(secret: str = "line-secret"):
    adapter = LineAdapter("t", "line-secret", "token")
    body = json.dumps({"destination": "U", "events": [{"type": "message", "webhookEventId": "E1",
                                                        "source": {"type": "user", "userId": "U1"},
                                                        "message": {"type": "text", "text": "住民票"}}]},
                      ensure_ascii=False).encode()
    return adapter.verify, body, lambda raw: {"X-Line-Signature": line_signature(secret, raw)}


def twilio_case(secret: str = "auth-token"):
    adapter = VoiceAdapter("t", "AC1", "auth-token", public_base_url=PUBLIC)
    params = {"CallSid": "CA1", "AccountSid": "AC1", "From": "+819012345678", "SpeechResult": "粗大ごみ",
              "Digits": "", "To": "+813"}
    body = urlencode(params).encode()

    def headers(raw: bytes) -> dict[str, str]:
        return {"X-Twilio-Signature": RequestValidator(secret).compute_signature(PUBLIC + PATH, params)}

    return (lambda raw, h: adapter.verify(raw, h, url=PATH)), body, headers


def slack_case(secret: str = "slack-secret", age_s: int = 0):
    adapter = SlackAdapter("t", "slack-secret", "xoxb", "C1")
    body = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": [
        {"action_id": "claim_escalation", "value": "esc-1"}]})}).encode()

    def headers(raw: bytes) -> dict[str, str]:
        ts = int(time.time()) - age_s
        return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": slack_signature(secret, ts, raw)}

    return adapter.verify, body, headers


CASES = {"line": line_case, "twilio": twilio_case, "slack": slack_case}


@pytest.mark.parametrize("provider", CASES)
def test_authentic_request_passes(provider):
    verify, body, headers = CASES[provider]()
    verify(body, headers(body))


def same_meaning(provider: str, tampered: bytes, body: bytes) -> bool:
    """Twilio signs the decoded form parameters, so %2B and %2b are the same request: not a tampering."""
    if provider != "twilio":
        return False
    try:
        return parse_qs(tampered.decode(), keep_blank_values=True) == parse_qs(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return False


@pytest.mark.parametrize("provider", CASES)
def test_every_single_byte_tampering_that_changes_the_request_is_refused(provider, record_property):
    verify, body, headers = CASES[provider]()
    signed_headers = headers(body)
    accepted = []
    for position in range(len(body)):
        for flip in (0x01, 0x20, 0x80):
            tampered = bytearray(body)
            tampered[position] ^= flip
            try:
                verify(bytes(tampered), signed_headers)
                if not same_meaning(provider, bytes(tampered), body):
                    accepted.append((position, flip))
            except SignatureError:
                pass
    assert accepted == [], f"{provider}: tampered bodies accepted at {accepted[:5]}"
    assert len(body) > 100  # the matrix covered a realistic payload
    record_property("attacks", len(body) * 3)  # each tampered body is one attack (bench/hostile.py counts them)


@pytest.mark.parametrize("provider", CASES)
def test_wrong_secret_is_refused(provider):
    verify, body, _ = CASES[provider]()
    _, _, wrong_headers = CASES[provider]("not-the-secret")
    with pytest.raises(SignatureError):
        verify(body, wrong_headers(body))


@pytest.mark.parametrize("provider", CASES)
def test_missing_headers_are_refused(provider):
    verify, body, _ = CASES[provider]()
    with pytest.raises(SignatureError):
        verify(body, {})


@pytest.mark.parametrize("age_s, accepted", [(0, True), (299, True), (301, False), (3600, False), (-3600, False)])
def test_slack_timestamp_window(age_s, accepted):
    verify, body, headers = slack_case(age_s=age_s)
    if accepted:
        verify(body, headers(body))
    else:
        with pytest.raises(SignatureError):
            verify(body, headers(body))
