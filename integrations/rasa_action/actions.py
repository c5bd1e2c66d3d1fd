"""A Rasa custom action that asks madoguchi: `action_ask_madoguchi`.

A Rasa assistant that keeps its own stories for small talk and forms can hand every real question to madoguchi:
point a fallback rule (or an FAQ intent) at this action. It sends the resident's latest message to madoguchi's Rasa
REST endpoint with the Rasa sender id, so the conversation is madoguchi's too (recorded, audited, handed over to
an operator when needed), and utters madoguchi's reply: the answer with its source, clarification buttons, or the
hand-over message. It sets the slots `madoguchi_outcome` (answered, clarify, escalated, with_operator, …) and
`madoguchi_handover` (true when a person takes over), so stories can branch on them.

Settings (environment of the action server):
    MADOGUCHI_URL      e.g. https://madoguchi.city.example.lg.jp   (default http://127.0.0.1:8000)
    MADOGUCHI_TENANT   e.g. tokyo                                   (default tokyo)
    MADOGUCHI_TIMEOUT  seconds to wait for an answer                (default 20)

Run: `rasa run actions` (or `python -m rasa_sdk --actions actions`) in this folder, with rasa-sdk installed.
It uses only the standard library besides rasa-sdk, so it fits any action server image.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

log = logging.getLogger(__name__)
FALLBACK_TEXT = ("申し訳ありません。ただいま回答を用意できません。"
                 "時間をおいてもう一度お試しいただくか、窓口までお問い合わせください。")


def ask_madoguchi(sender: str, text: str, message_id: str | None) -> list[dict[str, Any]]:
    """madoguchi's Rasa REST endpoint, with the details element requested."""
    base = os.environ.get("MADOGUCHI_URL", "http://127.0.0.1:8000").rstrip("/")
    tenant = os.environ.get("MADOGUCHI_TENANT", "tokyo")
    metadata: dict[str, Any] = {"madoguchi": True}
    if message_id:
        metadata["message_id"] = message_id  # a retried action call is answered once
    request = urllib.request.Request(
        f"{base}/t/{tenant}/webhooks/rest/webhook", method="POST",
        data=json.dumps({"sender": sender, "message": text, "metadata": metadata}).encode("utf-8"),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=float(os.environ.get("MADOGUCHI_TIMEOUT", "20"))) as response:
        return json.loads(response.read().decode("utf-8"))


class ActionAskMadoguchi(Action):
    def name(self) -> str:
        return "action_ask_madoguchi"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        latest = tracker.latest_message or {}
        text = (latest.get("text") or "").strip()
        if not text:
            return []
        try:
            messages = ask_madoguchi(tracker.sender_id, text, latest.get("message_id"))
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            log.warning("madoguchi unreachable: %s", exc)
            dispatcher.utter_message(text=FALLBACK_TEXT)
            return [SlotSet("madoguchi_outcome", "unavailable")]
        details: dict[str, Any] = {}
        for message in messages:
            if "custom" in message:
                details = (message["custom"] or {}).get("madoguchi") or details
                continue
            dispatcher.utter_message(text=message.get("text"), buttons=message.get("buttons") or [])
        return [SlotSet("madoguchi_outcome", details.get("outcome")),
                SlotSet("madoguchi_handover", bool(details.get("escalated")))]
