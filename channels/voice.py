"""Phone adapter (twilio 9.x): request signatures, call events, TwiML for each moment of a call, SMS of links.

A call is a conversation of webhooks: Twilio posts, we answer with TwiML within 2 s (Twilio gives up at 15 s).
verify() recomputes Twilio's signature over the *public* URL (configured base URL + the path and query the app
saw), so it stays correct behind a proxy or load balancer. parse() turns a webhook into an InboundEvent whose
external_id is CallSid + the step number we put in every action URL, so a retried webhook is recognised and two
answers in one call are not. The CallScript builds the TwiML: greeting + question, reading an answer written for the
ear, "did that solve it?", transfer to a person (<Dial> or <Enqueue>), holding while an answer is prepared, goodbye.
send() delivers an SMS (the link the caller agreed to receive) through the Twilio REST client.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from channels.base import Channel, MissingSignature, PayloadError, SignatureError
from channels.common import RecentKeys, header
from channels.config import ChannelConfig
from channels.speech import MAX_SPOKEN_CHARS, Spoken, for_the_ear
from config.settings import Settings
from core.messages import InboundEvent, OutboundMessage

try:  # twilio >= 9.10 can sign with HMAC-SHA256 when the account opts in
    from twilio.request_validator import get_signature_algorithm
except ImportError:  # pragma: no cover - older twilio 9.x: SHA-1 only
    def get_signature_algorithm(_header: str | None) -> None:
        return None

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
LANGUAGE = "ja-JP"


class VoiceAdapter(Channel):
    name: ClassVar[str] = "voice"
    # Twilio hears its answer in the response (TwiML): the call routes live in madoguchi/web/webhooks.py.
    takes_webhooks: ClassVar[bool] = False
    secret_keys: ClassVar[frozenset[str]] = frozenset({"auth_token"})

    def __init__(self, tenant: str, account_sid: str, auth_token: str, *, public_base_url: str,
                 sms_from: str | None = None, script: CallScript | None = None,
                 api_base_url: str | None = None, timeout_s: float = 10.0) -> None:
        if not account_sid or not auth_token or not public_base_url:
            raise ValueError("Twilio voice needs an account SID, an auth token and the public base URL")
        self.tenant = tenant
        self.public_base_url = public_base_url.rstrip("/")
        self.sms_from = sms_from
        self.script = script or CallScript()
        self._validator = RequestValidator(auth_token)
        self._client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout_s))
        if api_base_url:  # a fake Twilio API in tests, a regional edge in production
            self._client.api.base_url = api_base_url.rstrip("/")
        self._delivered = RecentKeys()

    @classmethod
    def from_config(cls, config: ChannelConfig, settings: Settings) -> VoiceAdapter:
        sid, token = config.require("account_sid", "auth_token")
        contact = config.tenant.contact or {}
        number = config.get("operator_number") or (to_e164(str(contact["phone"])) if contact.get("phone") else None)
        script = CallScript(office=contact.get("office") or config.tenant.display_name, operator_number=number,
                            operator_queue=config.get("operator_queue"), voice=config.get("voice"),
                            hours=str(contact.get("hours") or ""))
        return cls(config.tenant.id, sid, token,
                   public_base_url=config.get("public_base_url", settings.public_base_url),
                   sms_from=config.get("sms_from"), script=script, api_base_url=config.get("api_base_url"))

    @classmethod
    def needs_provider(cls, message: OutboundMessage) -> bool:
        """The spoken reply is heard in the TwiML; only links the caller asked for go out, by SMS."""
        return message.meta.get("deliver") == "sms"

    def public_url(self, path_and_query: str) -> str:
        """The URL Twilio used: our public base URL + the path and query the app received (or built)."""
        parts = urlsplit(path_and_query)
        path = parts.path if parts.path.startswith("/") else "/" + parts.path
        return self.public_base_url + path + (f"?{parts.query}" if parts.query else "")

    # -- inbound ---------------------------------------------------------------------------------------------

    def verify(self, raw: bytes, headers: Mapping[str, str], *, url: str | None = None) -> None:
        """`url`: the path and query of the request as the app received it (a full URL's host is ignored)."""
        signature = header(headers, SIGNATURE_HEADER)
        if not signature:
            raise MissingSignature("missing X-Twilio-Signature")
        if url is None:
            raise SignatureError("the request URL is needed to check a Twilio signature")
        try:
            params = _FormParams.from_body(raw)
            algorithm = get_signature_algorithm(header(headers, SIGNATURE_SETTINGS_HEADER))
            valid = self._validator.validate(self.public_url(url), params, signature, algorithm)
        except (UnicodeDecodeError, ValueError):
            valid = False
        if not valid:
            raise SignatureError("X-Twilio-Signature does not match the URL and parameters")

    def parse(self, raw: bytes, headers: Mapping[str, str] | None = None, *,
              url: str | None = None) -> list[InboundEvent]:
        form = _form(raw)
        call_sid = form.get("CallSid")
        if not call_sid:
            raise PayloadError("Twilio voice webhook without CallSid")
        caller = form.get("From") or form.get("Caller")
        if not caller:
            raise PayloadError("Twilio voice webhook without From")
        query, kind = _query(url), _kind(form)
        step = _step(query, kind)
        return [InboundEvent(channel=self.name, external_id=f"{call_sid}:{step}", tenant=self.tenant,
                             sender=caller, kind=kind, text=form.get("SpeechResult", "").strip(),
                             meta={**_call_meta(form, query), "step": step})]

    # -- outbound: SMS -----------------------------------------------------------------------------------------

    def send(self, message: OutboundMessage) -> None:
        """Send `message.text` by SMS to the caller (only after the caller agreed)."""
        if not self.sms_from:
            raise RuntimeError(f"tenant {self.tenant}: no SMS sender number configured for the voice channel")
        if message.idempotency_key in self._delivered:
            return
        self._client.messages.create(to=message.recipient, from_=self.sms_from, body=message.text)
        self._delivered.add(message.idempotency_key)


class _FormParams(dict):
    """Form parameters as Twilio's validator wants them, keeping repeated keys (getall, like Flask's MultiDict)."""

    @classmethod
    def from_body(cls, raw: bytes) -> _FormParams:
        return cls(parse_qs(raw.decode("utf-8"), keep_blank_values=True))

    def getall(self, name: str) -> list[str]:
        return self[name]


def _form(raw: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw)))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"Twilio webhook is not a form: {exc}") from None


def _query(url: str | None) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query)) if url else {}


def _step(query: dict[str, str], kind: str) -> str:
    """The redelivery key within a call: our step counter from the action URL; the call's start is step 0 and
    its end (status callback) is "end", so neither collides with an answer."""
    step = query.get("step")
    if step is None:
        if kind == "message":
            raise PayloadError("gather result without a step: build action URLs with with_step()")
        return "0" if kind == "call" else "end"
    if not step.isdigit():
        raise PayloadError(f"step must be a number, got {step!r}")
    return step


def _kind(form: dict[str, str]) -> str:
    if form.get("SpeechResult") or form.get("Digits"):
        return "message"
    if form.get("CallStatus") in ("completed", "busy", "failed", "no-answer", "canceled"):
        return "hangup"
    return "call"


def _call_meta(form: dict[str, str], query: dict[str, str]) -> dict[str, Any]:
    confidence = form.get("Confidence")
    return {"call_sid": form["CallSid"], "to": form.get("To"), "call_status": form.get("CallStatus"),
            "digits": form.get("Digits") or None, "speech_confidence": float(confidence) if confidence else None,
            "stage": query.get("stage")}


# -- what the caller meant (pure) -----------------------------------------------------------------------------

OPERATOR_WORDS = ("オペレーター", "担当者", "人と話", "人間", "職員", "窓口の人", "つないで", "繋いで")
YES_WORDS = ("はい", "解決", "わかりました", "分かりました", "大丈夫", "ありがとう", "ええ", "うん")
NO_WORDS = ("いいえ", "いや", "解決しない", "解決していない", "わからない", "分からない", "違う", "だめ", "ダメ")
SMS_WORDS = ("送って", "ショートメール", "SMS", "メッセージ")
REPEAT_WORDS = ("もう一度", "もう1度", "繰り返", "聞き取れ")
DIGIT_MEANINGS = {"0": "operator", "1": "yes", "2": "no", "3": "sms", "9": "repeat", "*": "repeat"}


def caller_reply(event: InboundEvent) -> str:
    """What a gather result means: operator | yes | no | sms | repeat | none | speech (free text: a question).

    Keys first (unambiguous), then a person asked for by voice (always honoured), then the short answers.
    """
    digits = event.meta.get("digits")
    if digits:
        return DIGIT_MEANINGS.get(digits[:1], "none")
    text = event.text
    if not text:
        return "none"
    if any(w in text for w in OPERATOR_WORDS):
        return "operator"
    short = len(text) <= 15  # a long utterance is a new question, even if it contains はい
    for meaning, words in (("no", NO_WORDS), ("repeat", REPEAT_WORDS), ("sms", SMS_WORDS), ("yes", YES_WORDS)):
        if short and any(w in text for w in words):
            return meaning
    return "speech"


def to_e164(number: str, country_code: str = "81") -> str:
    """03-5320-7725 → +81353207725 (Twilio dials E.164)."""
    digits = re.sub(r"[^\d+]", "", number)
    if digits.startswith("+"):
        return digits
    if digits.startswith("0"):
        return f"+{country_code}{digits[1:]}"
    raise ValueError(f"not a domestic or E.164 number: {number!r}")


def with_step(path: str, step: int, **query: str) -> str:
    """An action URL carrying the call step (the redelivery key) and any stage marker."""
    base, _, existing = path.partition("?")
    params = {**dict(parse_qsl(existing)), **query, "step": str(step)}
    return f"{base}?{urlencode(params)}"


# -- TwiML for each moment of a call (pure) --------------------------------------------------------------------

@dataclass(frozen=True)
class CallScript:
    """The words and routing of a call for one tenant. Every method returns a TwiML document (str)."""

    office: str = "市役所"
    operator_number: str | None = None  # E.164; <Dial> when set
    operator_queue: str | None = None  # <Enqueue> when set and no number (a Twilio TaskRouter/queue)
    voice: str | None = None  # e.g. "Polly.Mizuki" or "Google.ja-JP-Standard-A"; None = Twilio's default ja-JP
    hours: str = ""
    max_spoken_chars: int = MAX_SPOKEN_CHARS

    def greeting(self, action_url: str, no_input_url: str) -> str:
        response = VoiceResponse()
        self._say(response, f"お電話ありがとうございます。{self.office}の自動案内です。")
        prompt = "ご用件を短くお話しください。担当者と話したい場合は、0を押してください。"
        response.append(self._ask(action_url, prompt))
        response.redirect(no_input_url, method="POST")
        return str(response)

    def keypad_fallback(self, action_url: str, no_input_url: str) -> str:
        """When speech was not understood: the keypad still works."""
        response = VoiceResponse()
        gather = Gather(input="dtmf speech", language=LANGUAGE, speech_timeout="auto", num_digits=1,
                        action=action_url, method="POST", timeout=6)
        self._say(gather, "うまく聞き取れませんでした。もう一度お話しいただくか、担当者と話す場合は0、"
                          "最初から聞き直す場合は9を押してください。")
        response.append(gather)
        response.redirect(no_input_url, method="POST")
        return str(response)

    def answer(self, answer_text: str, action_url: str, no_input_url: str, *, offer_sms: bool = True) -> str:
        """Read an answer written for the ear, then ask whether it solved the problem."""
        spoken = for_the_ear(answer_text, max_chars=self.max_spoken_chars)
        response = VoiceResponse()
        for piece in spoken.pieces:
            self._say(response, piece)
        response.append(self._ask(action_url, self._feedback_prompt(spoken, offer_sms)))
        response.redirect(no_input_url, method="POST")
        return str(response)

    def clarify(self, question: str, choices: tuple[str, ...], action_url: str, no_input_url: str) -> str:
        lines = "".join(f"{i}番、{for_the_ear(c, max_chars=40).text}" for i, c in enumerate(choices[:8], start=1))
        response = VoiceResponse()
        gather = Gather(input="speech dtmf", language=LANGUAGE, speech_timeout="auto", num_digits=1,
                        action=action_url, method="POST")
        self._say(gather, for_the_ear(question, max_chars=80).text + lines + "番号を押すか、お話しください。")
        response.append(gather)
        response.redirect(no_input_url, method="POST")
        return str(response)

    def transfer(self) -> str:
        """Hand the call to a person: <Dial> the operator number, or <Enqueue> into the operator queue."""
        response = VoiceResponse()
        if not (self.operator_number or self.operator_queue):
            return self.closed("ただいま担当者におつなぎできません。")
        self._say(response, "担当者におつなぎします。少々お待ちください。")
        if self.operator_number:
            response.dial(self.operator_number, timeout=30)
        else:
            response.enqueue(self.operator_queue)
        # Reached only when nobody answered or the queue was left.
        self._say(response, self._call_back_later())
        response.hangup()
        return str(response)

    def urgent(self, numbers_text: str) -> str:
        """An emergency or crisis: the numbers are read out twice (before anything else can bury them), then the
        call goes to a person where one is configured; without one the call ends after the numbers."""
        spoken = for_the_ear(numbers_text, max_chars=self.max_spoken_chars).text
        response = VoiceResponse()
        self._say(response, spoken)
        self._say(response, "もう一度お伝えします。" + spoken)
        if self.operator_number or self.operator_queue:
            self._say(response, "このまま担当者にもおつなぎします。")
            if self.operator_number:
                response.dial(self.operator_number, timeout=30)
            else:
                response.enqueue(self.operator_queue)
        response.hangup()
        return str(response)

    def hold(self, redirect_url: str, *, first: bool = True, pause_s: int = 4) -> str:
        """Keep the caller company while the answer is prepared; Twilio comes back to `redirect_url`."""
        response = VoiceResponse()
        self._say(response, "ただいまお調べしています。少々お待ちください。" if first else "もう少々お待ちください。")
        response.pause(length=pause_s)
        response.redirect(redirect_url, method="POST")
        return str(response)

    def ask_again(self, action_url: str, no_input_url: str,
                  prompt: str = "別の言い方でもう一度お話しください。担当者と話す場合は0を押してください。") -> str:
        """After "that did not solve it": a new question, or 0 for a person."""
        response = VoiceResponse()
        response.append(self._ask(action_url, prompt))
        response.redirect(no_input_url, method="POST")
        return str(response)

    def sms_sent(self, action_url: str, no_input_url: str) -> str:
        response = VoiceResponse()
        self._say(response, "ショートメッセージでリンクをお送りしました。")
        response.append(self._ask(action_url, "ほかにご用件があればお話しください。なければ、このままお切りください。"))
        response.redirect(no_input_url, method="POST")
        return str(response)

    def goodbye(self, message: str = "お電話ありがとうございました。失礼いたします。") -> str:
        response = VoiceResponse()
        self._say(response, message)
        response.hangup()
        return str(response)

    def closed(self, reason: str) -> str:
        return self.goodbye(reason + self._call_back_later())

    # -- pieces ------------------------------------------------------------------------------------------

    def _ask(self, action_url: str, prompt: str) -> Gather:
        gather = Gather(input="speech dtmf", language=LANGUAGE, speech_timeout="auto", num_digits=1,
                        action=action_url, method="POST", action_on_empty_result=False)
        self._say(gather, prompt)
        return gather

    def _say(self, parent: VoiceResponse | Gather, text: str) -> None:
        parent.say(text, language=LANGUAGE, **({"voice": self.voice} if self.voice else {}))

    @staticmethod
    def _feedback_prompt(spoken: Spoken, offer_sms: bool) -> str:
        prompt = "この案内で解決しましたか。はい、なら1、いいえ、なら2、担当者と話す場合は0を押してください。"
        if spoken.truncated:
            prompt = "続きは担当者またはショートメッセージでご案内できます。" + prompt
        if offer_sms and spoken.links:
            prompt += "詳しいページのリンクをショートメッセージでお送りできます。ご希望の場合は3を押してください。"
        return prompt

    def _call_back_later(self) -> str:
        if not self.hours:
            return "恐れ入りますが、時間をおいておかけ直しください。"
        return f"恐れ入りますが、{for_the_ear(self.hours, max_chars=60).text}におかけ直しください。"


def link_sms_text(links: tuple[str, ...] | list[str], office: str) -> str:
    """The SMS body for links the caller asked for."""
    return f"{office}です。お電話でご案内したページはこちらです。\n" + "\n".join(links[:3])
