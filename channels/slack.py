"""Slack adapter for operator alerts (slack-sdk 3.x).

An escalation is announced in the tenant's alert channel with a 「対応する」 button; pressing it arrives as an
interactive `block_actions` payload that parse() turns into a `claim` event (who, which escalation, which message);
once the queue has granted the claim, mark_claimed() edits the alert to show who took it. verify() uses Slack's
signing secret and refuses timestamps older than five minutes (replays).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qs

from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from channels.base import Channel, MissingSignature, PayloadError, SignatureError
from channels.common import RecentKeys, header
from channels.config import ChannelConfig
from config.settings import Settings
from core.messages import InboundEvent, OutboundMessage

log = logging.getLogger(__name__)

CLAIM_ACTION_ID = "claim_escalation"
CLAIM_BUTTON_LABEL = "対応する"


class SlackAdapter(Channel):
    name: ClassVar[str] = "slack"
    # Button presses arrive at /slack/interactions (madoguchi/web/slack.py), which answers in the response.
    takes_webhooks: ClassVar[bool] = False
    secret_keys: ClassVar[frozenset[str]] = frozenset({"signing_secret", "bot_token"})

    def __init__(self, tenant: str, signing_secret: str, bot_token: str, alert_channel: str, *,
                 base_url: str = WebClient.BASE_URL, verifier: SignatureVerifier | None = None,
                 supervisor_channel: str | None = None) -> None:
        if not signing_secret or not bot_token or not alert_channel:
            raise ValueError("Slack needs a signing secret, a bot token and an alert channel")
        self.tenant = tenant
        self.alert_channel = alert_channel
        # Where an emergency or crisis left unclaimed past its deadline is raised (else the alert channel).
        self.supervisor_channel = supervisor_channel or alert_channel
        self._verifier = verifier or SignatureVerifier(signing_secret)
        self._client = WebClient(token=bot_token, base_url=base_url)
        self._delivered = RecentKeys()

    @classmethod
    def from_config(cls, config: ChannelConfig, settings: Settings) -> SlackAdapter:
        secret, token, channel = config.require("signing_secret", "bot_token", "alert_channel")
        return cls(config.tenant.id, secret, token, channel,
                   base_url=config.get("api_base_url", "https://slack.com/api/"),
                   supervisor_channel=config.get("supervisor_channel"))

    # -- inbound ---------------------------------------------------------------------------------------------

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> None:
        timestamp = header(headers, "X-Slack-Request-Timestamp")
        signature = header(headers, "X-Slack-Signature")
        if not timestamp or not signature:
            raise MissingSignature("missing X-Slack-Signature or X-Slack-Request-Timestamp")
        try:
            valid = self._verifier.is_valid(raw, timestamp, signature)
        except (ValueError, UnicodeDecodeError):  # a non-numeric timestamp or a body that is not UTF-8
            valid = False
        if not valid:
            raise SignatureError("Slack signature invalid or timestamp older than 5 minutes")

    def parse(self, raw: bytes, headers: Mapping[str, str] | None = None) -> list[InboundEvent]:
        if raw.startswith(b"payload="):
            return self._interaction(_form_payload(raw))
        return self._events_api(_json_object(raw), headers)

    def _interaction(self, payload: dict[str, Any]) -> list[InboundEvent]:
        if payload.get("type") != "block_actions":
            return []  # view submissions, shortcuts …: not ours
        actions = payload.get("actions")
        if not isinstance(actions, list):
            raise PayloadError("block_actions without actions")
        return [self._claim(payload, a) for a in actions if isinstance(a, dict) and
                a.get("action_id") == CLAIM_ACTION_ID]

    def _claim(self, payload: dict[str, Any], action: dict[str, Any]) -> InboundEvent:
        user = payload.get("user") or {}
        escalation_id = action.get("value")
        if not user.get("id") or not escalation_id:
            raise PayloadError("claim button press without user or escalation id")
        container = payload.get("container") or {}
        message = payload.get("message") or {}
        channel = payload.get("channel") or {}
        action_ts = action.get("action_ts") or payload.get("action_ts") or ""
        return InboundEvent(
            channel=self.name, tenant=self.tenant, kind="claim", sender=str(user["id"]),
            # trigger_id is unique per press: a double click is two presses, the queue's claim decides.
            external_id=str(payload.get("trigger_id") or f"{user['id']}:{action_ts}"),
            meta={"escalation_id": str(escalation_id),
                  "message_ts": container.get("message_ts") or message.get("ts"),
                  "channel_id": container.get("channel_id") or channel.get("id"),
                  "user_name": user.get("username") or user.get("name"),
                  "team_id": (payload.get("team") or {}).get("id"),
                  "response_url": payload.get("response_url"), "action_ts": action_ts},
        )

    def _events_api(self, payload: dict[str, Any], headers: Mapping[str, str] | None) -> list[InboundEvent]:
        kind = payload.get("type")
        if kind == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str):
                raise PayloadError("url_verification without challenge")
            # The route answers with the challenge text; there is nothing to record.
            return [InboundEvent(channel=self.name, tenant=self.tenant, kind="url_verification",
                                 external_id=f"url_verification:{challenge}", sender="slack", text=challenge)]
        if kind == "event_callback":
            if not payload.get("event_id"):
                raise PayloadError("event_callback without event_id")
            event = payload.get("event") or {}
            return [InboundEvent(channel=self.name, tenant=self.tenant, kind="slack_event",
                                 external_id=str(payload["event_id"]), sender=str(event.get("user") or ""),
                                 text=str(event.get("text") or ""),
                                 meta={"event": event, "retry_num": header(headers, "X-Slack-Retry-Num")})]
        raise PayloadError(f"unknown Slack payload type {kind!r}")

    # -- outbound --------------------------------------------------------------------------------------------

    def send(self, message: OutboundMessage) -> None:
        """Post an alert; with meta['escalation_id'] it carries the claim button."""
        if message.idempotency_key in self._delivered:
            return
        self.post_alert(message.text, message.meta.get("escalation_id"), channel=message.recipient or None)
        self._delivered.add(message.idempotency_key)

    def post_alert(self, text: str, escalation_id: str | None = None, *, channel: str | None = None) -> str:
        """chat.postMessage to the alert channel; returns the message ts (keep it to mark the claim later)."""
        response = self._client.chat_postMessage(channel=channel or self.alert_channel, text=text,
                                                 blocks=alert_blocks(text, escalation_id))
        return str(response["ts"])

    def mark_claimed(self, channel: str, ts: str, text: str, user_id: str) -> None:
        """chat.update: replace the button with who is handling it (a mention of `user_id`), so nobody else
        presses it."""
        self._client.chat_update(channel=channel, ts=ts, text=f"{text}（<@{user_id}> さんが対応中）",
                                 blocks=claimed_blocks(text, user_id))


# -- payload helpers (pure) ------------------------------------------------------------------------------------

def _form_payload(raw: bytes) -> dict[str, Any]:
    try:
        fields = parse_qs(raw.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"Slack interaction is not a form: {exc}") from None
    values = fields.get("payload")
    if not values:
        raise PayloadError("Slack interaction without payload")
    return _json_object(values[0].encode())


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"Slack payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadError("Slack payload is not a JSON object")
    return payload


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alert_blocks(text: str, escalation_id: str | None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(text)}}]
    if escalation_id:
        blocks.append({"type": "actions", "block_id": f"escalation:{escalation_id}", "elements": [{
            "type": "button", "style": "primary", "action_id": CLAIM_ACTION_ID, "value": str(escalation_id),
            "text": {"type": "plain_text", "text": CLAIM_BUTTON_LABEL}}]})
    return blocks


def claimed_blocks(text: str, user_id: str) -> list[dict[str, Any]]:
    mention = f"<@{escape_mrkdwn(user_id)}>"  # Slack renders the mention as the operator's display name
    return [{"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(text)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f":white_check_mark: {mention} さんが対応中"}]}]
