"""LineAdapter against a fake LINE Messaging API on loopback, through the real line-bot-sdk client."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from channels.base import PayloadError, SignatureError
from core.messages import OutboundMessage
from channels.common import uuid_for_key
from channels.line import LineAdapter, choice_postback, decode_postback, feedback_postback
from tests.channels.fakes import FakeLineApi, line_signature

SECRET = "line-channel-secret"
TOKEN = "line-token"


@pytest.fixture
def line_api():
    with FakeLineApi(TOKEN) as fake:
        yield fake


@pytest.fixture
def adapter(line_api):
    return LineAdapter("tokyo", SECRET, TOKEN, api_host=line_api.url)


def webhook(*events: dict) -> bytes:
    return json.dumps({"destination": "Ubot", "events": list(events)}, ensure_ascii=False).encode()


def text_event(text: str, event_id: str = "01HEVENT0001", reply_token: str = "rt-1") -> dict:
    return {"type": "message", "mode": "active", "timestamp": 1_700_000_000_000, "webhookEventId": event_id,
            "deliveryContext": {"isRedelivery": False}, "replyToken": reply_token,
            "source": {"type": "user", "userId": "U123"},
            "message": {"type": "text", "id": "468789577898262530", "text": text}}


def postback_event(data: str, event_id: str = "01HEVENT0002") -> dict:
    return {"type": "postback", "mode": "active", "timestamp": 1_700_000_000_500, "webhookEventId": event_id,
            "deliveryContext": {"isRedelivery": True}, "replyToken": "rt-2",
            "source": {"type": "user", "userId": "U123"}, "postback": {"data": data}}


class TestLineSignature:
    body = webhook(text_event("粗大ごみの出し方を教えて"))

    def test_valid_signature_passes(self, adapter):
        adapter.verify(self.body, {"X-Line-Signature": line_signature(SECRET, self.body)})

    def test_lower_case_header_name_passes(self, adapter):
        adapter.verify(self.body, {"x-line-signature": line_signature(SECRET, self.body)})

    def test_one_tampered_byte_fails(self, adapter):
        signature = line_signature(SECRET, self.body)
        tampered = bytearray(self.body)
        tampered[20] ^= 0x01
        with pytest.raises(SignatureError):
            adapter.verify(bytes(tampered), {"X-Line-Signature": signature})

    def test_wrong_secret_fails(self, adapter):
        with pytest.raises(SignatureError):
            adapter.verify(self.body, {"X-Line-Signature": line_signature("other-secret", self.body)})

    def test_missing_header_fails(self, adapter):
        with pytest.raises(SignatureError):
            adapter.verify(self.body, {})

    def test_garbage_signature_fails(self, adapter):
        with pytest.raises(SignatureError):
            adapter.verify(self.body, {"X-Line-Signature": "ありえない"})

    def test_adapter_refuses_to_exist_without_credentials(self):
        with pytest.raises(ValueError):
            LineAdapter("tokyo", "", TOKEN)


class TestLineParse:
    def test_text_message(self, adapter):
        [event] = adapter.parse(webhook(text_event("粗大ごみの出し方を教えて")), {})
        assert (event.channel, event.tenant, event.kind) == ("line", "tokyo", "message")
        assert event.external_id == "01HEVENT0001"
        assert event.sender == "U123"
        assert event.text == "粗大ごみの出し方を教えて"
        assert event.reply_token == "rt-1"
        assert event.received_at is not None and event.received_at.year == 2023
        assert event.meta["redelivery"] is False

    def test_verification_request_without_events_is_valid(self, adapter):
        assert adapter.parse(b'{"destination":"Ubot","events":[]}', {}) == []

    def test_follow_and_unfollow(self, adapter):
        follow = {"type": "follow", "webhookEventId": "E-f", "timestamp": 1, "replyToken": "rt",
                  "source": {"type": "user", "userId": "U9"}}
        unfollow = {"type": "unfollow", "webhookEventId": "E-u", "timestamp": 2,
                    "source": {"type": "user", "userId": "U9"}}
        events = adapter.parse(webhook(follow, unfollow), {})
        assert [(e.kind, e.external_id, e.sender) for e in events] == [("follow", "E-f", "U9"),
                                                                       ("unfollow", "E-u", "U9")]

    def test_choice_postback_carries_the_choice_text(self, adapter):
        [event] = adapter.parse(webhook(postback_event(choice_postback(1, "粗大ごみの申込み"))), {})
        assert event.kind == "postback"
        assert event.text == "粗大ごみの申込み"
        assert event.meta["choice_index"] == 1
        assert event.meta["redelivery"] is True

    def test_feedback_postback(self, adapter):
        [event] = adapter.parse(webhook(postback_event(feedback_postback(False, "turn-42"))), {})
        assert (event.kind, event.meta["helpful"], event.meta["ref"]) == ("feedback", False, "turn-42")

    def test_unknown_events_are_ignored_and_stickers_kept_without_text(self, adapter):
        join = {"type": "join", "webhookEventId": "E-j", "source": {"type": "group", "groupId": "G1"}}
        sticker = {**text_event("x", "E-s"), "message": {"type": "sticker", "id": "1"}}
        [event] = adapter.parse(webhook(join, sticker), {})
        assert (event.external_id, event.text, event.meta["message_type"]) == ("E-s", "", "sticker")

    @pytest.mark.parametrize("raw, reason", [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"destination": "U"}', "no 'events'"),
        (webhook({"type": "message", "source": {"userId": "U"}}), "webhookEventId"),
        (webhook({"type": "follow", "webhookEventId": "E"}), "source"),
        (webhook({**text_event("x"), "message": {"type": "text"}}), "without text"),
        (webhook({**text_event("x"), "source": [{"userId": "U"}]}), "'source' is not an object"),
        (webhook({**text_event("x"), "message": 1}), "'message' is not an object"),
        (webhook({**text_event("x"), "type": "postback", "postback": "data"}), "'postback' is not an object"),
    ])
    def test_malformed_payloads_raise_with_a_reason(self, adapter, raw, reason):
        with pytest.raises(PayloadError, match=reason):
            adapter.parse(raw, {})

    def test_long_choice_text_fits_the_postback_limit(self):
        data = choice_postback(3, "長" * 400)
        assert len(data) <= 300
        assert decode_postback(data)["index"] == 3


def outbound(text: str = "粗大ごみは事前申込制です。", key: str = "turn-1:reply", **kw) -> OutboundMessage:
    return OutboundMessage(channel="line", tenant="tokyo", recipient="U123", text=text, idempotency_key=key, **kw)


class TestLineSend:
    def test_fresh_reply_token_replies(self, adapter, line_api):
        token = line_api.issue_reply_token()
        adapter.send(outbound(reply_token=token, meta={"received_at": time.time()}))
        [call] = line_api.calls
        assert call.path == "/v2/bot/message/reply"
        assert call.json()["messages"][0]["text"] == "粗大ごみは事前申込制です。"

    def test_stale_reply_token_pushes_with_retry_key(self, adapter, line_api):
        token = line_api.issue_reply_token()
        adapter.send(outbound(reply_token=token, meta={"received_at": time.time() - 120}))
        [call] = line_api.calls
        assert call.path == "/v2/bot/message/push"
        assert call.json()["to"] == "U123"
        assert call.headers["x-line-retry-key"] == uuid_for_key("turn-1:reply")
        assert uuid.UUID(call.headers["x-line-retry-key"]).version == 5

    def test_rejected_reply_token_falls_back_to_push(self, adapter, line_api):
        adapter.send(outbound(reply_token="never-issued"))
        assert [c.path for c in line_api.calls] == ["/v2/bot/message/reply", "/v2/bot/message/push"]
        assert [c.status for c in line_api.calls] == [400, 200]
        assert len(line_api.delivered) == 1

    def test_same_idempotency_key_is_delivered_once_by_line(self, adapter, line_api):
        adapter.send(outbound())
        adapter.send(outbound())  # a retry after a crash: LINE answers 409, the adapter treats it as done
        assert [c.status for c in line_api.calls] == [200, 409]
        assert len(line_api.delivered) == 1

    def test_fifty_concurrent_retries_deliver_once(self, adapter, line_api):
        """Workers racing on the same outbox row: LINE's retry-key check lets exactly one through."""
        errors: list[BaseException] = []

        def send() -> None:
            try:
                adapter.send(outbound(key="turn-99:reply"))
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        workers = [threading.Thread(target=send) for _ in range(50)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == []
        assert len(line_api.delivered) == 1
        assert sorted(c.status for c in line_api.calls) == [200] + [409] * 49

    def test_a_second_process_derives_the_same_retry_key(self, line_api):
        first = LineAdapter("tokyo", SECRET, TOKEN, api_host=line_api.url)
        second = LineAdapter("tokyo", SECRET, TOKEN, api_host=line_api.url)
        first.send(outbound(key="k"))
        second.send(outbound(key="k"))
        assert len(line_api.delivered) == 1

    def test_wrong_access_token_raises(self, line_api):
        from linebot.v3.messaging import ApiException
        with pytest.raises(ApiException):
            LineAdapter("tokyo", SECRET, "wrong", api_host=line_api.url).send(outbound())

    def test_choices_become_quick_reply_postbacks(self, adapter, line_api):
        adapter.send(outbound("どちらについてですか。", choices=("粗大ごみの申込み", "家庭ごみの収集日")))
        message = line_api.delivered[0]["messages"][-1]
        items = message["quickReply"]["items"]
        assert [i["action"]["label"] for i in items] == ["粗大ごみの申込み", "家庭ごみの収集日"]
        assert decode_postback(items[1]["action"]["data"]) == {"action": "choice", "index": 1,
                                                               "text": "家庭ごみの収集日"}

    def test_feedback_buttons_when_asked(self, adapter, line_api):
        adapter.send(outbound(meta={"feedback_ref": "turn-7"}))
        items = line_api.delivered[0]["messages"][-1]["quickReply"]["items"]
        assert [decode_postback(i["action"]["data"])["helpful"] for i in items] == [True, False]

    def test_long_text_is_split_within_limits(self, adapter, line_api):
        adapter.send(outbound("あ" * 4000 + "。\n" + "い" * 4000))
        texts = [m["text"] for m in line_api.delivered[0]["messages"]]
        assert len(texts) == 2 and all(len(t) <= 5000 for t in texts)


def test_end_to_end_webhook_to_reply_and_choice_round_trip(adapter, line_api):
    """Signed webhook → events → clarification with buttons → the resident taps one → the tap parses back."""
    token = line_api.issue_reply_token()
    body = webhook(text_event("ごみ", reply_token=token))
    adapter.verify(body, {"X-Line-Signature": line_signature(SECRET, body)})
    [event] = adapter.parse(body, {})
    adapter.send(OutboundMessage(channel="line", tenant=event.tenant, recipient=event.sender,
                                 text="どちらについてですか。", idempotency_key=f"{event.external_id}:1",
                                 choices=("粗大ごみ", "資源ごみ"), reply_token=event.reply_token,
                                 meta={"received_at": time.time()}))
    [call] = line_api.calls
    assert call.json()["replyToken"] == token
    tapped = call.json()["messages"][0]["quickReply"]["items"][1]["action"]["data"]
    tap = webhook(postback_event(tapped, event_id="01HEVENT0003"))
    adapter.verify(tap, {"X-Line-Signature": line_signature(SECRET, tap)})
    [choice] = adapter.parse(tap, {})
    assert (choice.kind, choice.text, choice.external_id) == ("postback", "資源ごみ", "01HEVENT0003")


def test_the_sdk_is_loaded_only_where_a_message_is_sent_or_composed():
    """An instance whose tenants do not use LINE never loads line-bot-sdk (~40 MB): verifying and parsing a
    webhook need none of it. A fresh interpreter, so other tests' imports do not count."""
    script = ("import sys\nimport madoguchi.app\nfrom channels.line import LineAdapter\n"
              "assert 'linebot' not in sys.modules, 'loaded with the app'\n"
              "LineAdapter('tokyo', 'secret', 'token')\n"
              "assert 'linebot.v3.messaging' in sys.modules, 'not loaded for an adapter'\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
