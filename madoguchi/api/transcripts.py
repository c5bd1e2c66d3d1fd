"""Replies and transcripts rebuilt from what the dialogue stored (turn row + assistant message), never from memory,
so the first answer to a message and its replay are the same by construction."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from madoguchi.api.i18n import interface_language, reply_strings
from madoguchi.api.schemas import MessageOut, ReplyOut, TranscriptOut
from storage import Connection, Row, assistant_message_of_turn, resident_message_of_inbound, turn_for_inbound

ESCALATED = "escalated"
WITH_OPERATOR = "with_operator"
PUBLIC_FIELDS = ("outcome", "reason", "answer", "confidence", "sources", "risk", "language", "choices", "intent",
                 "timings_ms")
# A resident message is matched to its inbound event among the conversation's latest few.
RECENT_RESIDENT_MESSAGES = 50


def public_fields(result: dict[str, Any]) -> dict[str, Any]:
    return {key: result[key] for key in PUBLIC_FIELDS if key in result}


def stored_reply(conn: Connection, inbound_id: int, conversation_id: str,
                 resident_message_id: int | None = None) -> ReplyOut:
    """The reply to one inbound event. `conversation_id` is where to look when there was no turn (an operator
    holds the conversation, so the assistant stayed silent). `resident_message_id`: the event's message, when the
    caller has just stored it (else it is looked for among the conversation's latest)."""
    turn = turn_for_inbound(conn, inbound_id)
    if turn is None:
        return ReplyOut(conversation_id=conversation_id, outcome=WITH_OPERATOR, ui=reply_strings("ja"),
                        resident_message_id=resident_message_id or _resident_message_id(conn, conversation_id,
                                                                                        inbound_id))
    message = assistant_message_of_turn(conn, turn.id)
    meta = (message.meta if message is not None else None) or {}
    language = turn.language or meta.get("language") or "ja"
    return ReplyOut(
        conversation_id=turn.conversation_id, turn_id=turn.id, outcome=turn.outcome, reason=turn.reason,
        answer=message.text if message is not None else "", confidence=turn.confidence,
        sources=meta.get("sources") or turn.sources or [], risk=turn.risk, language=language,
        choices=meta.get("choices") or [],
        resident_message_id=resident_message_id or _resident_message_id(conn, turn.conversation_id, inbound_id),
        reply_message_id=message.id if message is not None else None, escalated=turn.outcome == ESCALATED,
        ui=reply_strings(language),
    )


def _resident_message_id(conn: Connection, conversation_id: str, inbound_id: int) -> int | None:
    resident = resident_message_of_inbound(conn, conversation_id, inbound_id, recent=RECENT_RESIDENT_MESSAGES)
    return resident.id if resident is not None else None


def message_out(row: Row, default_language: str) -> MessageOut:
    meta = row.meta or {}
    return MessageOut(
        id=row.id, role=row.role, text=row.text, created_at=row.created_at, turn_id=row.turn_id,
        outcome=meta.get("outcome"), language=meta.get("language") or default_language,
        sources=meta.get("sources") or [], choices=meta.get("choices") or [],
        kind=meta.get("kind") if meta.get("kind") == "satisfaction" else None,
        escalation_id=_escalation_of_ref(meta.get("feedback_ref")),
    )


def _escalation_of_ref(ref: object) -> str | None:
    return ref.removeprefix("escalation:") if isinstance(ref, str) and ref.startswith("escalation:") else None


def transcript(conversation: Row, rows: Iterable[Row], after: int, handover: str | None = None) -> TranscriptOut:
    shown = [message_out(row, conversation.language) for row in rows]
    languages = {interface_language(m.language) for m in shown} | {interface_language(conversation.language)}
    return TranscriptOut(
        conversation_id=conversation.id, state=conversation.state, handover=handover, messages=shown,
        last_id=shown[-1].id if shown else after, ui={lang: reply_strings(lang) for lang in sorted(languages)},
    )
