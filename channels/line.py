"""LINE Messaging API adapter (line-bot-sdk 3.x).

verify: HMAC-SHA256 of the raw body with the channel secret, base64, compared in constant time with
X-Line-Signature (fails closed: no header, no secret, no entry). parse: text messages, follow/unfollow and postbacks
become InboundEvents keyed by webhookEventId; the console's verification request (no events) is valid and yields [].
send: reply with the reply token while it is fresh, otherwise push with X-Line-Retry-Key derived from our
idempotency key, so LINE itself refuses a second delivery (409). Clarification choices become quick-reply buttons
whose postback data carries the choice back to us.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, UTC
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from channels.base import Channel, MissingSignature, PayloadError, SignatureError
from channels.common import header, uuid_for_key
from channels.config import ChannelConfig
from config.settings import Settings
from core.messages import InboundEvent, OutboundMessage

if TYPE_CHECKING:
    from linebot.v3.messaging import PostbackAction, QuickReply, TextMessage

log = logging.getLogger(__name__)

LINE_API_HOST = "https://api.line.me"
SIGNATURE_HEADER = "X-Line-Signature"
# LINE documents reply tokens as short-lived (about a minute); past this age we push instead of risking a 400.
REPLY_TOKEN_MAX_AGE_S = 50.0
TEXT_LIMIT = 5000  # characters per text message
MESSAGES_PER_REQUEST = 5
QUICK_REPLY_LIMIT = 13
LABEL_LIMIT = 20
POSTBACK_DATA_LIMIT = 300


def line_sdk() -> ModuleType:
    """line-bot-sdk's messaging API, imported where a message is sent or composed: ~40 MB and 600 modules that an
    instance whose tenants do not use LINE never needs (verifying and parsing a webhook need none of it)."""
    import linebot.v3.messaging

    return linebot.v3.messaging


class LineAdapter(Channel):
    name: ClassVar[str] = "line"
    replies_in_context: ClassVar[bool] = True
    secret_keys: ClassVar[frozenset[str]] = frozenset({"channel_secret", "channel_access_token"})

    def __init__(self, tenant: str, channel_secret: str, channel_access_token: str, *,
                 api_host: str = LINE_API_HOST, reply_token_max_age_s: float = REPLY_TOKEN_MAX_AGE_S,
                 clock: Callable[[], float] = time.time) -> None:
        if not channel_secret or not channel_access_token:
            raise ValueError("LINE needs a channel secret and a channel access token")
        self.tenant = tenant
        self._secret = channel_secret.encode()
        self._reply_token_max_age_s = reply_token_max_age_s
        self._clock = clock
        sdk = line_sdk()
        self._api = sdk.MessagingApi(sdk.ApiClient(sdk.Configuration(host=api_host, access_token=channel_access_token)))

    @classmethod
    def from_config(cls, config: ChannelConfig, settings: Settings) -> LineAdapter:
        secret, token = config.require("channel_secret", "channel_access_token")
        return cls(config.tenant.id, secret, token, api_host=config.get("api_host", LINE_API_HOST),
                   reply_token_max_age_s=float(config.get("reply_token_max_age_s", 50)))

    @classmethod
    def with_reply_context(cls, message: OutboundMessage, event: Mapping[str, Any]) -> OutboundMessage:
        """The reply token of the event it answers, and when LINE received it (a stale token means push)."""
        meta = {**message.meta}
        meta.setdefault("received_at", event.get("received_at"))
        return replace(message, reply_token=message.reply_token or event.get("reply_token"), meta=meta)

    # -- inbound ---------------------------------------------------------------------------------------------

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> None:
        signature = header(headers, SIGNATURE_HEADER)
        if not signature:
            raise MissingSignature("missing X-Line-Signature")
        expected = base64.b64encode(hmac.new(self._secret, raw, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature.strip().encode("ascii", "replace")):
            raise SignatureError("X-Line-Signature does not match the body")

    def parse(self, raw: bytes, headers: Mapping[str, str] | None = None) -> list[InboundEvent]:
        payload = _json_object(raw)
        events = payload.get("events")
        if not isinstance(events, list):
            raise PayloadError("LINE payload has no 'events' list")
        parsed = (self._event(e) for e in events)
        return [e for e in parsed if e is not None]

    def _event(self, event: Any) -> InboundEvent | None:
        if not isinstance(event, dict):
            raise PayloadError("LINE event is not an object")
        event_id = event.get("webhookEventId")
        if not event_id:
            raise PayloadError("LINE event without webhookEventId")
        kind_text_meta = _interpret(event)
        if kind_text_meta is None:
            log.info("LINE event type %r ignored", event.get("type"))
            return None
        kind, text, meta = kind_text_meta
        return InboundEvent(
            channel=self.name, external_id=str(event_id), tenant=self.tenant, sender=_sender(event),
            kind=kind, text=text, reply_token=_reply_token(event), received_at=_timestamp(event),
            meta={**_common_meta(event), **meta},
        )

    # -- outbound --------------------------------------------------------------------------------------------

    def send(self, message: OutboundMessage) -> None:
        messages = build_messages(message)
        if message.reply_token and self._reply_token_fresh(message):
            if self._reply(message.reply_token, messages):
                return
        self._push(message.recipient, messages, uuid_for_key(message.idempotency_key))

    def _reply_token_fresh(self, message: OutboundMessage) -> bool:
        received = _epoch(message.meta.get("received_at"))
        # Without a receipt time we try the token; LINE's 400 on an expired token sends us to push anyway.
        return received is None or self._clock() - received <= self._reply_token_max_age_s

    def _reply(self, reply_token: str, messages: list[TextMessage]) -> bool:
        try:
            self._api.reply_message(line_sdk().ReplyMessageRequest(replyToken=reply_token, messages=messages))
            return True
        except line_sdk().ApiException as exc:
            if exc.status != 400:
                raise
            # An expired or used token. Falling back to push means a crash between a successful reply and the
            # outbox recording it can deliver twice; losing the answer would be worse.
            log.info("LINE reply token rejected (%s); pushing instead", exc.reason)
            return False

    def _push(self, to: str, messages: list[TextMessage], retry_key: str) -> None:
        try:
            self._api.push_message(line_sdk().PushMessageRequest(to=to, messages=messages), x_line_retry_key=retry_key)
        except line_sdk().ApiException as exc:
            if exc.status != 409:
                raise
            # 409: LINE already accepted a request with this retry key, i.e. this message was delivered.
            log.info("LINE push already accepted for retry key %s", retry_key)


# -- payload interpretation (pure) ---------------------------------------------------------------------------

def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"LINE payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadError("LINE payload is not a JSON object")
    return payload


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object of the event ({} when absent): anything else is a malformed event, said so (400)."""
    value = parent.get(key) or {}
    if not isinstance(value, dict):
        raise PayloadError(f"LINE event's {key!r} is not an object")
    return value


def _interpret(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    kind = event.get("type")
    if kind == "message":
        return _message(_object(event, "message"))
    if kind in ("follow", "unfollow"):
        return kind, "", {}
    if kind == "postback":
        return _postback(_object(event, "postback"))
    return None  # join, leave, unsend, beacon …: nothing to answer


def _message(message: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    message_type = message.get("type")
    meta = {"message_type": message_type, "message_id": message.get("id")}
    if message_type == "text":
        text = message.get("text")
        if not isinstance(text, str):
            raise PayloadError("LINE text message without text")
        return "message", text, meta
    return "message", "", meta  # a sticker or photo: the dialogue asks for words


def _postback(postback: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    data = postback.get("data")
    if not isinstance(data, str):
        raise PayloadError("LINE postback without data")
    decoded = decode_postback(data)
    meta: dict[str, Any] = {"postback": decoded, "postback_params": _object(postback, "params")}
    if decoded.get("action") == "feedback":
        return "feedback", "", {**meta, "helpful": bool(decoded.get("helpful")), "ref": decoded.get("ref")}
    if decoded.get("action") == "choice":
        return "postback", str(decoded.get("text", "")), {**meta, "choice_index": decoded.get("index")}
    return "postback", "", meta


def _sender(event: dict[str, Any]) -> str:
    source = _object(event, "source")
    sender = source.get("userId") or source.get("groupId") or source.get("roomId")
    if not sender:
        raise PayloadError("LINE event without a source")
    return str(sender)


def _common_meta(event: dict[str, Any]) -> dict[str, Any]:
    source, delivery = _object(event, "source"), _object(event, "deliveryContext")
    return {"source_type": source.get("type"), "mode": event.get("mode"),
            "redelivery": bool(delivery.get("isRedelivery"))}


def _reply_token(event: dict[str, Any]) -> str | None:
    token = event.get("replyToken")
    return token if isinstance(token, str) and token else None


def _timestamp(event: dict[str, Any]) -> datetime | None:
    millis = event.get("timestamp")
    if not isinstance(millis, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):  # a year the calendar does not have: no time rather than a 500
        return None


def _epoch(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


# -- postback data: what a button press carries back to us ---------------------------------------------------

def choice_postback(index: int, text: str) -> str:
    """Postback data for clarification choice `index`; the text travels along so the turn needs no lookup."""
    return _fit({"action": "choice", "index": index, "text": text}, "text")


def feedback_postback(helpful: bool, ref: str) -> str:
    """Postback data for a "did that solve it?" button about the turn `ref`."""
    return _fit({"action": "feedback", "helpful": helpful, "ref": ref}, "ref")


def decode_postback(data: str) -> dict[str, Any]:
    try:
        decoded = json.loads(data)
    except ValueError:
        return {"raw": data}
    return decoded if isinstance(decoded, dict) else {"raw": data}


def _fit(payload: dict[str, Any], shrinkable: str) -> str:
    """Compact JSON within LINE's 300-character postback limit, shortening one field if needed."""
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    overflow = len(encoded) - POSTBACK_DATA_LIMIT
    if overflow > 0:
        payload = {**payload, shrinkable: str(payload[shrinkable])[:-overflow]}
        encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return encoded


# -- outbound message building (pure) ------------------------------------------------------------------------

def build_messages(message: OutboundMessage) -> list[TextMessage]:
    """The LINE messages for an OutboundMessage: text split at LINE's limits, buttons on the last message."""
    chunks = _split(message.text or " ", TEXT_LIMIT)[:MESSAGES_PER_REQUEST]
    text_message = line_sdk().TextMessage
    messages = [text_message(text=chunk) for chunk in chunks]
    quick_reply = _quick_reply(message)
    if quick_reply is not None:
        messages[-1] = text_message(text=chunks[-1], quickReply=quick_reply)
    return messages


def _quick_reply(message: OutboundMessage) -> QuickReply | None:
    if message.choices:
        actions = [_button(choice, choice_postback(i, choice), choice)
                   for i, choice in enumerate(message.choices[:QUICK_REPLY_LIMIT])]
    elif message.meta.get("feedback_ref"):
        ref = str(message.meta["feedback_ref"])
        actions = [_button("解決した", feedback_postback(True, ref), "解決した"),
                   _button("解決しない", feedback_postback(False, ref), "解決しない")]
    else:
        return None
    sdk = line_sdk()
    return sdk.QuickReply(items=[sdk.QuickReplyItem(action=a) for a in actions])


def _button(label: str, data: str, display_text: str) -> PostbackAction:
    short = label if len(label) <= LABEL_LIMIT else label[: LABEL_LIMIT - 1] + "…"
    return line_sdk().PostbackAction(label=short, data=data, displayText=display_text[:300])


def _split(text: str, limit: int) -> list[str]:
    """Split at paragraph or line breaks where possible so no message exceeds `limit` characters."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind("。", 0, limit) + 1)
        cut = cut if cut > limit // 2 else limit
        chunks.append(text[:cut].rstrip("\n"))
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks
