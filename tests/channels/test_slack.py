"""SlackAdapter against a fake Slack Web API on loopback, through the real slack-sdk WebClient."""
from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.errors import SlackApiError

from channels.base import PayloadError, SignatureError
from core.messages import OutboundMessage
from channels.slack import CLAIM_ACTION_ID, SlackAdapter
from tests.channels.fakes import FakeSlackApi, slack_signature

SECRET = "slack-signing-secret"
TOKEN = "xoxb-test"


@pytest.fixture
def slack_api():
    with FakeSlackApi(TOKEN) as fake:
        yield fake


@pytest.fixture
def adapter(slack_api):
    return SlackAdapter("tokyo", SECRET, TOKEN, "C-ALERTS", base_url=slack_api.url + "/api/")


def signed(body: bytes, secret: str = SECRET, age_s: int = 0) -> dict[str, str]:
    timestamp = int(time.time()) - age_s
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": slack_signature(secret, timestamp, body)}


def claim_press(escalation_id: str = "esc-17", user: str = "U0OPER") -> bytes:
    payload = {"type": "block_actions", "trigger_id": "13345224609.738474920.8088930838d88f008e0",
               "user": {"id": user, "username": "tanaka"}, "team": {"id": "T1"},
               "container": {"type": "message", "message_ts": "1700000001.000100", "channel_id": "C-ALERTS"},
               "channel": {"id": "C-ALERTS"}, "response_url": "https://hooks.slack.com/actions/x",
               "actions": [{"action_id": CLAIM_ACTION_ID, "block_id": f"escalation:{escalation_id}",
                            "value": escalation_id, "type": "button", "action_ts": "1700000002.1"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


class TestSlackSignature:
    body = claim_press()

    def test_valid_signature_passes(self, adapter):
        adapter.verify(self.body, signed(self.body))

    def test_one_tampered_byte_fails(self, adapter):
        headers = signed(self.body)
        tampered = bytearray(self.body)
        tampered[30] ^= 0x01
        with pytest.raises(SignatureError):
            adapter.verify(bytes(tampered), headers)

    def test_wrong_secret_fails(self, adapter):
        with pytest.raises(SignatureError):
            adapter.verify(self.body, signed(self.body, secret="other"))

    @pytest.mark.parametrize("drop", ["X-Slack-Signature", "X-Slack-Request-Timestamp"])
    def test_missing_header_fails(self, adapter, drop):
        headers = signed(self.body)
        del headers[drop]
        with pytest.raises(SignatureError):
            adapter.verify(self.body, headers)

    def test_stale_timestamp_fails_even_when_correctly_signed(self, adapter):
        with pytest.raises(SignatureError):
            adapter.verify(self.body, signed(self.body, age_s=6 * 60))

    def test_four_minutes_old_is_still_accepted(self, adapter):
        adapter.verify(self.body, signed(self.body, age_s=4 * 60))

    def test_non_numeric_timestamp_fails(self, adapter):
        with pytest.raises(SignatureError):
            adapter.verify(self.body, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"})

    def test_non_utf8_body_fails_closed(self, adapter):
        body = b"\xff\xfe" + self.body
        with pytest.raises(SignatureError):
            adapter.verify(body, signed(self.body))


class TestSlackParse:
    def test_claim_button_press(self, adapter):
        [event] = adapter.parse(claim_press("esc-17", "U0OPER"), {})
        assert (event.channel, event.kind, event.sender) == ("slack", "claim", "U0OPER")
        assert event.meta["escalation_id"] == "esc-17"
        assert event.meta["message_ts"] == "1700000001.000100"
        assert event.meta["channel_id"] == "C-ALERTS"
        assert event.external_id == "13345224609.738474920.8088930838d88f008e0"

    def test_url_verification(self, adapter):
        [event] = adapter.parse(b'{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",'
                                b'"type":"url_verification"}', {})
        assert event.kind == "url_verification"
        assert event.text.startswith("3eZbrw1a")

    def test_events_api_callback_keeps_event_id(self, adapter):
        body = json.dumps({"type": "event_callback", "event_id": "Ev123",
                           "event": {"type": "app_mention", "user": "U1", "text": "hi"}}).encode()
        [event] = adapter.parse(body, {"X-Slack-Retry-Num": "1"})
        assert (event.external_id, event.meta["retry_num"]) == ("Ev123", "1")

    def test_other_buttons_and_interactions_are_ignored(self, adapter):
        other = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U"},
                                                  "actions": [{"action_id": "something_else"}]})}).encode()
        modal = urlencode({"payload": json.dumps({"type": "view_submission"})}).encode()
        assert adapter.parse(other, {}) == [] and adapter.parse(modal, {}) == []

    @pytest.mark.parametrize("raw, reason", [
        (b"payload=%7Bnot-json", "not JSON"),
        (b"payload=x&&junk", "not a form"),
        (b"{}", "unknown Slack payload type"),
        (b'{"type":"url_verification"}', "challenge"),
        (urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U"},
                                           "actions": [{"action_id": CLAIM_ACTION_ID}]})}).encode(),
         "escalation id"),
    ])
    def test_malformed_payloads_raise_with_a_reason(self, adapter, raw, reason):
        with pytest.raises(PayloadError, match=reason):
            adapter.parse(raw, {})


class TestSlackSend:
    def test_alert_carries_the_claim_button(self, adapter, slack_api):
        adapter.send(OutboundMessage(channel="slack", tenant="tokyo", recipient="", idempotency_key="esc-17:alert",
                                     text="新しいエスカレーション: 生活保護の相談 <要対応>",
                                     meta={"escalation_id": "esc-17"}))
        [call] = slack_api.calls_to("/api/chat.postMessage")
        body = call.json()
        assert body["channel"] == "C-ALERTS"
        [button] = body["blocks"][1]["elements"]
        assert (button["action_id"], button["value"], button["text"]["text"]) == (CLAIM_ACTION_ID, "esc-17", "対応する")
        assert "&lt;要対応&gt;" in body["blocks"][0]["text"]["text"]

    def test_same_key_twice_posts_once(self, adapter, slack_api):
        message = OutboundMessage(channel="slack", tenant="tokyo", recipient="C-OTHER", text="x",
                                  idempotency_key="k1", meta={"escalation_id": "e"})
        adapter.send(message)
        adapter.send(message)
        assert len(slack_api.calls_to("/api/chat.postMessage")) == 1

    def test_wrong_token_raises(self, slack_api):
        bad = SlackAdapter("tokyo", SECRET, "xoxb-wrong", "C", base_url=slack_api.url + "/api/")
        with pytest.raises(SlackApiError):
            bad.post_alert("x", "e")

    def test_adapter_refuses_to_exist_without_credentials(self):
        with pytest.raises(ValueError):
            SlackAdapter("tokyo", SECRET, "", "C")


def test_end_to_end_alert_press_claim_update(adapter, slack_api):
    """Alert posted → operator presses 「対応する」 → signed interaction parses to a claim → message updated."""
    ts = adapter.post_alert("新しいエスカレーション #esc-9", "esc-9")
    alert = slack_api.messages[("C-ALERTS", ts)]
    button = alert["blocks"][1]["elements"][0]
    body = claim_press(button["value"], "U0SATO")
    adapter.verify(body, signed(body))
    [claim] = adapter.parse(body, {})
    assert claim.meta["escalation_id"] == "esc-9"
    adapter.mark_claimed("C-ALERTS", ts, "新しいエスカレーション #esc-9", claim.sender)
    updated = slack_api.messages[("C-ALERTS", ts)]
    assert "<@U0SATO>" in updated["blocks"][1]["elements"][0]["text"]
    assert all(b["type"] != "actions" for b in updated["blocks"])  # the button is gone
