"""A scripted dialogue engine for the channel tests, and the turn runner they use.

`ScriptedEngine` implements `run_turn(tenant, text, memory=None, channel="web") -> TurnResult` with canned
outcomes chosen by words in the question and an optional delay (a slow engine for the hold and load tests).
`process_row` is `dialogue.conversation.process_inbound_row` when that module exists; until then a stand-in that
follows the contract in /work/notes/CONTRACTS.md (one transaction: conversation, resident message, turn, assistant
message, escalation, outbox reply "reply:<inbound id>", inbound done; a retried event whose turn exists is replayed).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from channels.base import OutboundMessage
from dialogue.turn import EscalationReason, Outcome, Source, TurnResult
from madoguchi.storage import (
    append_message, enqueue_outbox, inbound_event_from_row, mark_inbound_done, open_conversation, record_turn,
    turn_for_inbound,
)

ANSWER_URL = "https://www.city.example.jp/kurashi/gomi/sodai.html"


class ScriptedEngine:
    """Answers by keyword: 担当者 → escalated (requested), 難問 → escalated (low confidence), 選択 → clarify,
    anything else → answered with a citation URL. `delay_s` makes every turn slow."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls: list[str] = []
        self._lock = threading.Lock()

    @property
    def kb(self) -> Any:
        return _NoIndex()

    def greet(self, tenant: Any, language: str = "ja") -> TurnResult:
        return TurnResult(Outcome.SMALLTALK, "友だち追加ありがとうございます。ご質問をどうぞ。", language=language)

    def run_turn(self, tenant: Any, text: str, memory: Any = None, channel: str = "web") -> TurnResult:
        with self._lock:
            self.calls.append(text)
        if self.delay_s:
            time.sleep(self.delay_s)
        return scripted_result(text)


class _NoIndex:
    def has_index(self, tenant: str) -> bool:
        return False


def scripted_result(text: str) -> TurnResult:
    if "担当者" in text:
        return TurnResult(Outcome.ESCALATED, "担当者におつなぎします。", reason=EscalationReason.REQUESTED)
    if "難問" in text:
        return TurnResult(Outcome.ESCALATED, "担当者が確認してご連絡します。", confidence=0.1,
                          reason=EscalationReason.LOW_CONFIDENCE)
    if "選択" in text:
        return TurnResult(Outcome.CLARIFY, "どちらについてですか。", confidence=0.5,
                          choices=[{"n": 1, "doc_id": "d1", "title": "粗大ごみ"}, {"n": 2, "doc_id": "d2",
                                                                                 "title": "資源ごみ"}])
    source = Source(doc_id="gomi-1", title="粗大ごみの出し方", url=ANSWER_URL, score=0.9)
    answer = f"「{text}」について: 粗大ごみは電話03-1234-5678で予約してください。詳しくは {ANSWER_URL} をご覧ください。"
    return TurnResult(Outcome.ANSWERED, answer, confidence=0.9, sources=[source])


@dataclass
class ProcessedTurn:
    conversation_id: str | None
    inbound_event_id: int
    turn_id: str | None
    result: TurnResult | None
    escalation_id: str | None
    reply_message_id: int | None
    replayed: bool


class LeaseLost(Exception):
    """Another worker took the event over: roll this turn back."""


def standin_process_inbound_row(services: Any, row: Any) -> ProcessedTurn:
    event = inbound_event_from_row(row)
    with services.db.read() as conn:
        if turn_for_inbound(conn, row.id) is not None:
            return _replayed(services, row)
    # The turn is pure: run it before the write transaction so webhooks never wait on a slow turn (SQLite).
    result = services.engine.run_turn(event.tenant, event.text, None, channel=event.channel)
    with services.db.transaction() as conn:
        conversation = open_conversation(conn, tenant=event.tenant, channel=event.channel,
                                         resident_address=event.sender)
        append_message(conn, conversation_id=conversation.id, tenant=event.tenant, role="resident", text=event.text,
                       meta={"inbound_event_id": row.id})
        if conversation.state == "with_operator":
            services.queue.resident_replied(conn, conversation.id)
            _finish(conn, row)
            return ProcessedTurn(conversation.id, row.id, None, None, None, None, False)
        turn_id = record_turn(conn, tenant=event.tenant, conversation_id=conversation.id, outcome=result.outcome,
                              inbound_event_id=row.id, reason=result.reason, confidence=result.confidence)
        choices = [c["title"] for c in result.choices]
        message_id = append_message(conn, conversation_id=conversation.id, tenant=event.tenant, role="assistant",
                                    text=result.answer, turn_id=turn_id,
                                    meta={"outcome": result.outcome.value, "choices": result.choices})
        escalation_id = None
        if result.outcome == Outcome.ESCALATED:
            escalation_id = services.queue.enqueue(conn, tenant=event.tenant, conversation_id=conversation.id,
                                                   reason=result.reason, turn_id=turn_id)
        if event.channel != "web":
            enqueue_outbox(conn, OutboundMessage(channel=event.channel, tenant=event.tenant, recipient=event.sender,
                                                 text=result.answer, idempotency_key=f"reply:{row.id}",
                                                 choices=tuple(choices)), conversation_id=conversation.id)
        _finish(conn, row)
    return ProcessedTurn(conversation.id, row.id, turn_id, result, escalation_id, message_id, False)


def _finish(conn: Any, row: Any) -> None:
    if not mark_inbound_done(conn, row):
        raise LeaseLost(f"inbound event {row.id} was taken over by another worker")


def _replayed(services: Any, row: Any) -> ProcessedTurn:
    with services.db.transaction() as conn:
        _finish(conn, row)
    return ProcessedTurn(None, row.id, None, None, None, None, True)


def process_row_function() -> Any:
    try:
        from dialogue.conversation import process_inbound_row
    except ImportError:
        return standin_process_inbound_row
    return process_inbound_row
