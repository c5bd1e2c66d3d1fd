"""VoiceAdapter: Twilio signatures behind a proxy, call events, the TwiML of a call, SMS through a fake Twilio API."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from channels.base import PayloadError, SignatureError
from core.messages import InboundEvent, OutboundMessage
from channels.speech import for_the_ear
from channels.voice import CallScript, VoiceAdapter, caller_reply, link_sms_text, to_e164, with_step
from tests.channels.fakes import FakeTwilioApi

SID = "AC" + "0" * 32
AUTH = "twilio-token"
PUBLIC = "https://madoguchi.city.example.jp/app"  # behind a proxy: the app itself listens on 127.0.0.1:8000
CALL = "CA" + "1" * 32


@pytest.fixture
def twilio_api():
    with FakeTwilioApi(SID, AUTH) as fake:
        yield fake


@pytest.fixture
def adapter(twilio_api):
    script = CallScript(office="東京都", operator_number="+81353207725", hours="平日 9:00〜17:00")
    return VoiceAdapter("tokyo", SID, AUTH, public_base_url=PUBLIC, sms_from="+815012345678", script=script,
                        api_base_url=twilio_api.url)


def twilio_post(path: str, params: dict[str, str], token: str = AUTH, base: str = PUBLIC) -> tuple[bytes, dict]:
    """What Twilio sends: a form body signed over the full public URL it called."""
    signature = RequestValidator(token).compute_signature(base + path, params)
    return urlencode(params).encode(), {"X-Twilio-Signature": signature,
                                        "Content-Type": "application/x-www-form-urlencoded"}


def call_params(**extra: str) -> dict[str, str]:
    return {"CallSid": CALL, "AccountSid": SID, "From": "+819012345678", "To": "+81353207725",
            "CallStatus": "in-progress", "Direction": "inbound", **extra}


def twiml(document: str) -> ET.Element:
    root = ET.fromstring(document)
    assert root.tag == "Response"
    return root


class TestVoiceSignature:
    path = "/voice/tokyo/gather?step=2"

    def test_valid_signature_over_the_public_url_passes(self, adapter):
        body, headers = twilio_post(self.path, call_params(SpeechResult="粗大ごみ"))
        adapter.verify(body, headers, url=self.path)

    def test_full_internal_url_is_mapped_to_the_public_one(self, adapter):
        body, headers = twilio_post(self.path, call_params())
        adapter.verify(body, headers, url="http://127.0.0.1:8000" + self.path)

    def test_signature_over_the_internal_url_is_refused(self, adapter):
        body, headers = twilio_post(self.path, call_params(), base="http://127.0.0.1:8000")
        with pytest.raises(SignatureError):
            adapter.verify(body, headers, url=self.path)

    def test_one_tampered_byte_fails(self, adapter):
        body, headers = twilio_post(self.path, call_params(SpeechResult="粗大ごみ"))
        tampered = bytearray(body)
        tampered[-1] ^= 0x01
        with pytest.raises(SignatureError):
            adapter.verify(bytes(tampered), headers, url=self.path)

    def test_changed_query_fails(self, adapter):
        body, headers = twilio_post(self.path, call_params())
        with pytest.raises(SignatureError):
            adapter.verify(body, headers, url="/voice/tokyo/gather?step=3")

    def test_wrong_auth_token_fails(self, adapter):
        body, headers = twilio_post(self.path, call_params(), token="other-token")
        with pytest.raises(SignatureError):
            adapter.verify(body, headers, url=self.path)

    def test_missing_header_fails(self, adapter):
        body, _ = twilio_post(self.path, call_params())
        with pytest.raises(SignatureError):
            adapter.verify(body, {}, url=self.path)

    def test_without_the_request_url_it_fails_closed(self, adapter):
        body, headers = twilio_post(self.path, call_params())
        with pytest.raises(SignatureError):
            adapter.verify(body, headers)

    def test_sha256_signature_when_the_account_opts_in(self, adapter):
        params = call_params()
        signature = RequestValidator(AUTH).compute_signature(PUBLIC + self.path, params, "HMAC_SHA256")
        headers = {"X-Twilio-Signature": signature,
                   "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_x,algorithm=HMAC_SHA256"}
        adapter.verify(urlencode(params).encode(), headers, url=self.path)


class TestVoiceParse:
    def test_incoming_call(self, adapter):
        body, _ = twilio_post("/voice/tokyo/incoming", call_params(CallStatus="ringing"))
        [event] = adapter.parse(body, {}, url="/voice/tokyo/incoming")
        assert (event.channel, event.kind, event.external_id) == ("voice", "call", f"{CALL}:0")
        assert event.sender == "+819012345678"

    def test_speech_result_with_step(self, adapter):
        body, _ = twilio_post("/x", call_params(SpeechResult="粗大ごみの出し方", Confidence="0.91"))
        [event] = adapter.parse(body, {}, url="/voice/tokyo/gather?step=2&stage=question")
        assert (event.kind, event.text, event.external_id) == ("message", "粗大ごみの出し方", f"{CALL}:2")
        assert event.meta["speech_confidence"] == pytest.approx(0.91)
        assert event.meta["stage"] == "question"

    def test_same_step_is_the_same_event_and_next_step_is_not(self, adapter):
        body, _ = twilio_post("/x", call_params(SpeechResult="はい"))
        first = adapter.parse(body, {}, url="/g?step=4")[0].external_id
        assert first == adapter.parse(body, {}, url="/g?step=4")[0].external_id  # Twilio retried the webhook
        assert first != adapter.parse(body, {}, url="/g?step=5")[0].external_id  # the caller said はい again

    def test_keypad_and_hangup(self, adapter):
        body, _ = twilio_post("/x", call_params(Digits="0"))
        assert adapter.parse(body, {}, url="/g?step=1")[0].meta["digits"] == "0"
        body, _ = twilio_post("/x", call_params(CallStatus="completed"))
        [hangup] = adapter.parse(body, {}, url="/voice/tokyo/status")
        assert (hangup.kind, hangup.external_id) == ("hangup", f"{CALL}:end")  # not the call's start (:0)

    @pytest.mark.parametrize("raw, url, reason", [
        (b"From=%2B81", "/g", "CallSid"),
        (urlencode({"CallSid": CALL}).encode(), "/g", "From"),
        (urlencode(call_params()).encode(), "/g?step=abc", "step"),
        (urlencode(call_params(SpeechResult="はい")).encode(), "/g", "without a step"),
        (b"\xff\xfe", "/g", "not a form"),
    ])
    def test_malformed_webhooks_raise_with_a_reason(self, adapter, raw, url, reason):
        with pytest.raises(PayloadError, match=reason):
            adapter.parse(raw, {}, url=url)


def reply_event(text: str = "", digits: str | None = None) -> InboundEvent:
    return InboundEvent(channel="voice", external_id="c:1", tenant="t", sender="+81", text=text,
                        meta={"digits": digits})


@pytest.mark.parametrize("text, digits, meaning", [
    ("", "0", "operator"), ("", "1", "yes"), ("", "2", "no"), ("", "3", "sms"), ("", None, "none"),
    ("はい", None, "yes"), ("解決しました", None, "yes"), ("いいえ", None, "no"), ("解決していない", None, "no"),
    ("担当者につないでください", None, "operator"), ("オペレーター", None, "operator"),
    ("送ってください", None, "sms"), ("もう一度", None, "repeat"),
    ("はい、それと国民健康保険の手続きについて教えてください", None, "speech"),
])
def test_caller_reply(text, digits, meaning):
    assert caller_reply(reply_event(text, digits)) == meaning


class TestCallScript:
    script = CallScript(office="東京都", operator_number="+81353207725", hours="平日 9:00〜17:00")

    def test_greeting_gathers_speech_and_keypad_in_japanese(self):
        root = twiml(self.script.greeting(PUBLIC + "/g?step=1", PUBLIC + "/none?step=1"))
        gather = root.find("Gather")
        assert gather.get("input") == "speech dtmf"
        assert gather.get("language") == "ja-JP"
        assert gather.get("speechTimeout") == "auto"
        assert gather.get("action") == PUBLIC + "/g?step=1"
        assert "0を押して" in gather.find("Say").text
        assert root.find("Redirect").text == PUBLIC + "/none?step=1"  # silence: on to the keypad fallback

    def test_keypad_fallback(self):
        root = twiml(self.script.keypad_fallback("/g?step=2", "/bye"))
        assert root.find("Gather").get("input") == "dtmf speech"
        assert "0" in root.find("Gather/Say").text

    def test_answer_is_read_for_the_ear_then_asks_whether_it_solved_it(self):
        answer = ("粗大ごみは事前申込制です。受付センター（03-1234-5678）、受付時間 9:00〜17:00。"
                  "詳しくは https://www.city.example.lg.jp/sodai をご覧ください[1]。")
        root = twiml(self.script.answer(answer, "/g?step=3", "/none?step=3"))
        spoken = "".join(s.text for s in root.findall("Say"))
        assert "http" not in spoken and "[1]" not in spoken
        assert "ゼロサンの、イチニーサンヨンの、ゴーロクナナハチ" in spoken
        assert "9時から17時" in spoken
        prompt = root.find("Gather/Say").text
        assert "解決しましたか" in prompt and "3を押して" in prompt  # there was a link: SMS offered

    def test_no_sms_offer_without_links(self):
        root = twiml(self.script.answer("粗大ごみは事前申込制です。", "/g", "/n"))
        assert "3を押して" not in root.find("Gather/Say").text

    def test_transfer_dials_the_operator(self):
        root = twiml(self.script.transfer())
        assert root.find("Dial").text == "+81353207725"
        assert root.find("Hangup") is not None

    def test_transfer_enqueues_when_only_a_queue_is_configured(self):
        root = twiml(CallScript(operator_queue="tokyo-operators").transfer())
        assert root.find("Enqueue").text == "tokyo-operators" and root.find("Dial") is None

    def test_transfer_without_anyone_says_when_to_call_back(self):
        root = twiml(CallScript(hours="平日 9:00〜17:00").transfer())
        assert "9時から17時" in root.find("Say").text and root.find("Hangup") is not None

    def test_hold_says_pauses_and_comes_back(self):
        root = twiml(self.script.hold(PUBLIC + "/poll?step=3", pause_s=4))
        assert [child.tag for child in root] == ["Say", "Pause", "Redirect"]
        assert root.find("Pause").get("length") == "4"
        assert root.find("Redirect").text == PUBLIC + "/poll?step=3"

    def test_voice_name_is_used_when_configured(self):
        root = twiml(CallScript(voice="Polly.Mizuki").goodbye())
        assert root.find("Say").get("voice") == "Polly.Mizuki"

    def test_clarify_reads_numbered_choices(self):
        root = twiml(self.script.clarify("どちらですか。", ("粗大ごみ", "資源ごみ"), "/g", "/n"))
        assert "1番、粗大ごみ。2番、資源ごみ。" in root.find("Gather/Say").text


def test_helpers():
    assert to_e164("03-5320-7725") == "+81353207725"
    assert to_e164("+81 3 5320 7725") == "+81353207725"
    assert with_step("/voice/tokyo/gather?stage=feedback", 4) == "/voice/tokyo/gather?stage=feedback&step=4"


class TestSms:
    def test_sms_goes_through_the_twilio_rest_client(self, adapter, twilio_api):
        adapter.send(OutboundMessage(channel="voice", tenant="tokyo", recipient="+819012345678",
                                     text="リンク https://x.jp", idempotency_key="CA1:3:sms"))
        [message] = twilio_api.messages
        assert message == {"To": "+819012345678", "From": "+815012345678", "Body": "リンク https://x.jp"}

    def test_same_key_sends_once(self, adapter, twilio_api):
        message = OutboundMessage(channel="voice", tenant="tokyo", recipient="+81", text="x", idempotency_key="k")
        adapter.send(message)
        adapter.send(message)
        assert len(twilio_api.messages) == 1

    def test_without_a_sender_number_it_refuses(self, twilio_api):
        adapter = VoiceAdapter("tokyo", SID, AUTH, public_base_url=PUBLIC, api_base_url=twilio_api.url)
        with pytest.raises(RuntimeError):
            adapter.send(OutboundMessage(channel="voice", tenant="tokyo", recipient="+81", text="x",
                                         idempotency_key="k"))
        assert twilio_api.calls == []


def test_end_to_end_call_question_answer_sms_and_transfer(adapter, twilio_api):
    """Call in → greeting → spoken question → answer read aloud → caller presses 3 → SMS with the link;
    then asks for a person → <Dial>. Every webhook is signed by 'Twilio' over the public URL."""
    incoming = "/voice/tokyo/incoming"
    body, headers = twilio_post(incoming, call_params(CallStatus="ringing"))
    adapter.verify(body, headers, url=incoming)
    [call] = adapter.parse(body, headers, url=incoming)
    greeting = twiml(adapter.script.greeting(adapter.public_url(with_step("/voice/tokyo/gather", 1)),
                                             adapter.public_url(with_step("/voice/tokyo/none", 1))))
    action = greeting.find("Gather").get("action")
    path = action[len(PUBLIC):]

    body, headers = twilio_post(path, call_params(SpeechResult="粗大ごみの申し込み方法"))
    adapter.verify(body, headers, url=path)
    [question] = adapter.parse(body, headers, url=path)
    assert (question.external_id, question.text) == (f"{CALL}:1", "粗大ごみの申し込み方法")
    answer_text = "粗大ごみは事前申込制です。詳しくは https://www.city.example.lg.jp/sodai をご覧ください。"
    answer = twiml(adapter.script.answer(answer_text, adapter.public_url(with_step("/voice/tokyo/gather", 2)),
                                         adapter.public_url(with_step("/voice/tokyo/none", 2))))
    path = answer.find("Gather").get("action")[len(PUBLIC):]

    body, headers = twilio_post(path, call_params(Digits="3"))
    adapter.verify(body, headers, url=path)
    [reply] = adapter.parse(body, headers, url=path)
    assert caller_reply(reply) == "sms"
    links = for_the_ear(answer_text).links
    adapter.send(OutboundMessage(channel="voice", tenant="tokyo", recipient=reply.sender,
                                 text=link_sms_text(links, "東京都"), idempotency_key=f"{reply.external_id}:sms"))
    assert "https://www.city.example.lg.jp/sodai" in twilio_api.messages[0]["Body"]
    assert twilio_api.messages[0]["To"] == call.sender

    body, headers = twilio_post("/voice/tokyo/gather?step=3", call_params(SpeechResult="担当者と話したい"))
    adapter.verify(body, headers, url="/voice/tokyo/gather?step=3")
    [ask] = adapter.parse(body, headers, url="/voice/tokyo/gather?step=3")
    assert caller_reply(ask) == "operator"
    assert twiml(adapter.script.transfer()).find("Dial").text == "+81353207725"
