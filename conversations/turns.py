"""The transactional side of a turn, the same for every channel.

A worker (or the web API, inline) takes a recorded inbound event, runs the dialogue outside any transaction, then
stores everything the turn produced in ONE transaction: the resident's message, the turn and its audit row, the
assistant's message, the escalation (if any), the outbound reply in the outbox, and the event marked done. A crash
before that commit leaves the event leased, to be re-claimed and re-run; after it, a retry finds the turn and does
nothing (`replayed`). So a message is never lost and a reply never sent twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from channels.registry import channel_class
from config.tenancy import Tenant
from conversations.metrics import observe_turn
from conversations.ports import ConversationServices
from conversations.switches import SwitchState, switches_in_force
from conversations.tell import REPLY, tell_resident
from core.log_context import log_context
from core.messages import InboundEvent
from core.text import MAX_MESSAGE_CHARS
from core.outcomes import EscalationReason, Outcome, Source, TurnResult
from dialogue.compose import Composer
from dialogue.context import ConversationMemory
from escalation.hours import callback_meta, sla_for
from governance.audit import record_turn_with_audit
from governance.intake import NOT_KEPT_META
from storage import (
    Connection, Row, append_message, attach_inbound_to_conversation, assistant_message_of_turn, find_open_conversation, inbound_by_external_id,
    inbound_event_from_row, latest_messages, lease_inbound_event, mark_inbound_done, open_conversation,
    record_feedback, resident_message_of_inbound, turn_for_inbound,
)

log = logging.getLogger(__name__)

LEASE_SECONDS = 60  # an inline turn's first lease; the process's heartbeat keeps it (conversations/leases.py)
# Events that belong to no conversation: recorded, then completed without one.
NO_CONVERSATION_KINDS = {"unfollow", "hangup", "url_verification", "slack_event", "claim"}
# Events that open the conversation but ask nothing: a call starting (the call script greets), feedback.
NO_TURN_KINDS = NO_CONVERSATION_KINDS | {"call", "feedback"}
MEMORY_MESSAGES = 20
PII_NOTICE = "pii_not_kept"  # the template, message kind and outbox key of the notice after a removed My Number


class LeaseLost(RuntimeError):
    """Another worker re-claimed the event while this one ran the turn: this one's work is rolled back."""


@dataclass
class ProcessedTurn:
    conversation_id: str | None
    inbound_event_id: int
    turn_id: str | None  # None when the assistant stayed silent (with an operator, feedback, unfollow …)
    result: TurnResult | None
    escalation_id: str | None = None
    reply_message_id: int | None = None
    replayed: bool = False
    resident_message_id: int | None = None


# --- entry points ------------------------------------------------------------------------------------------------

def process_event(services: ConversationServices, channel: str, external_id: str, *, tenant: str,
                  worker: str = "inline") -> ProcessedTurn:
    """Process one recorded event now (the web API's path). Idempotent: a done event is replayed, not re-run."""
    with services.db.transaction() as conn:
        row = lease_inbound_event(conn, tenant, channel, external_id, worker, LEASE_SECONDS)
        if row is None:
            existing = inbound_by_external_id(conn, tenant, channel, external_id)
    if row is None:
        if existing is None:
            raise LookupError(f"no inbound event {channel}:{external_id}")
        return replay(services, existing)
    with services.runtime.leases.holding(row):
        return process_inbound_row(services, row)


def process_inbound_row(services: ConversationServices, row: Row) -> ProcessedTurn:
    """Run and store the turn of a leased inbound event (the inbox worker's path, after claim_inbound_batch). Every
    log line written meanwhile carries the event id, tenant and channel; one line says what the turn decided."""
    with log_context(event_id=row.id, tenant=row.tenant, channel=row.channel):
        processed = _run_and_store(services, row)
        result = processed.result
        if result is not None and not processed.replayed:
            log.info("turn %s", result.outcome.value, extra={
                "turn_id": processed.turn_id, "outcome": result.outcome.value,
                "reason": result.reason.value if result.reason else None,
                "ms": round(result.timings_ms.get("total", 0.0), 1)})
        return processed


def _run_and_store(services: ConversationServices, row: Row) -> ProcessedTurn:
    event = inbound_event_from_row(row)
    with services.db.read() as conn:
        if turn_for_inbound(conn, row.id) is not None:
            done = True
        else:
            done = False
            memory, state = _memory_and_state(conn, event)
            switches = switches_in_force(conn, services.tenant(event.tenant), event.channel)
    if done:
        with services.db.transaction() as conn:
            mark_inbound_done(conn, row)
        return replay(services, row)
    result = None
    tenant = services.tenant(event.tenant)
    if event.kind == "follow":  # a resident added the LINE account: greet them
        result = services.engine.greet(tenant, memory.language or "ja")
    elif _needs_turn(event, state):
        result = run_dialogue(services, tenant, event.text, memory, event.channel, switches)
        if event.meta.get("cut_from_chars"):
            result.answer = f"{_cut_note(services, tenant, result.language)}\n\n{result.answer}"
    return _store(services, row, event, result)


def _cut_note(services: ConversationServices, tenant: Tenant, language: str) -> str:
    """The message was longer than what is kept (core.messages.InboundEvent cut it): the reply says so first."""
    composer = Composer(tenant, tenants_dir=services.settings.tenants_dir)
    return composer.render("message_cut", language, kept=f"{MAX_MESSAGE_CHARS:,}")


def run_dialogue(services: ConversationServices, tenant: Tenant, text: str, memory: ConversationMemory | None,
                 channel: str, switches: SwitchState) -> TurnResult:
    """The dialogue's turn, as the kill switches in force allow (read in the caller's transaction), counted."""
    if not switches.channel_open:
        result = services.engine.maintenance_turn(tenant, text, memory, channel=channel)
    elif not switches.answering:
        result = services.engine.hand_over_turn(tenant, text, memory, channel=channel)
    else:
        result = services.engine.run_turn(tenant, text, memory, channel=channel)
    observe_turn(tenant.id, channel, result)
    return result


def replay(services: ConversationServices, row: Row) -> ProcessedTurn:
    """What an already processed event produced (a redelivery or a retried request gets the same answer)."""
    with services.db.read() as conn:
        turn = turn_for_inbound(conn, row.id)
        if turn is None:
            return ProcessedTurn(None, row.id, None, None, replayed=True)
        reply = assistant_message_of_turn(conn, turn.id)
    result = _result_from_message(reply) if reply is not None else None
    return ProcessedTurn(turn.conversation_id, row.id, turn.id, result,
                         reply_message_id=reply.id if reply is not None else None, replayed=True)


# --- reading the conversation --------------------------------------------------------------------------------

def _memory_and_state(conn: Connection, event: InboundEvent) -> tuple[ConversationMemory, str]:
    existing = find_open_conversation(conn, tenant=event.tenant, channel=event.channel,
                                      resident_address=event.sender)
    if existing is None:
        return ConversationMemory(), "assistant"
    return memory_from_messages(latest_messages(conn, existing.id, limit=MEMORY_MESSAGES)), existing.state


def memory_from_messages(messages: list[Row]) -> ConversationMemory:
    """The last assistant turn's outcome, choices and cited document, and the question it searched for."""
    for message in reversed(messages):
        meta = message.meta or {}
        if message.role == "assistant" and meta.get("outcome"):
            sources = meta.get("sources") or []
            answered = meta.get("outcome") == Outcome.ANSWERED.value
            return ConversationMemory(
                last_question=meta.get("query"), last_outcome=meta.get("outcome"),
                last_choices=meta.get("choices") or [], language=meta.get("language"),
                last_doc_id=sources[0]["doc_id"] if answered and sources else None,
            )
    return ConversationMemory()


def _needs_turn(event: InboundEvent, state: str) -> bool:
    if event.kind in NO_TURN_KINDS:
        return False
    if event.meta.get("do_not_answer"):
        return False  # auto-replies and bounces: stored for the record, never answered (no mail loops)
    return state != "with_operator" and bool(event.text.strip())


# --- storing -----------------------------------------------------------------------------------------------------

def _store(services: ConversationServices, row: Row, event: InboundEvent, result: TurnResult | None) -> ProcessedTurn:
    with services.db.transaction() as conn:
        if turn_for_inbound(conn, row.id) is not None:
            mark_inbound_done(conn, row)
            return replay(services, row)
        if event.kind in NO_CONVERSATION_KINDS:
            return _finish(conn, row, ProcessedTurn(None, row.id, None, None))
        conversation = open_conversation(conn, tenant=event.tenant, channel=event.channel,
                                         resident_address=event.sender)
        processed = ProcessedTurn(conversation.id, row.id, None, None)
        attach_inbound_to_conversation(conn, row.id, conversation.id)
        if event.kind == "feedback":
            _store_feedback(conn, event, conversation.id)
            return _finish(conn, row, processed)
        if event.text.strip():
            processed.resident_message_id = _resident_message(conn, conversation, row, event)
        notice = _not_kept_notice(services, event)
        if conversation.state == "with_operator" or result is None:
            # The assistant stays silent: the message, if any, is the operator's to answer.
            if notice:
                tell_resident(conn, conversation, notice, kind=PII_NOTICE, ref=row.id,
                              message_meta={"kind": PII_NOTICE}, recipient=event.meta.get("reply_to") or None)
            if processed.resident_message_id is not None:
                services.queue.resident_replied(conn, conversation.id)
            return _finish(conn, row, processed)
        if notice:  # told first, in the same reply: the turn still answers the rest of the message
            result = replace(result, answer=f"{notice}\n\n{result.answer}")
        _store_turn(conn, services, row, event, conversation, result, processed)
        return _finish(conn, row, processed)


def _not_kept_notice(services: ConversationServices, event: InboundEvent) -> str | None:
    """When the inbox removed a My Number or card number: do not send those, and they were not kept (in the
    language the resident wrote in)."""
    not_kept = event.meta.get(NOT_KEPT_META)
    if not not_kept:
        return None
    composer = Composer(services.tenant(event.tenant), tenants_dir=services.settings.tenants_dir)
    return composer.render(PII_NOTICE, not_kept.get("language") or "ja")


def _finish(conn: Connection, row: Row, processed: ProcessedTurn) -> ProcessedTurn:
    if not mark_inbound_done(conn, row):
        raise LeaseLost(f"inbound event {row.id} was re-claimed by another worker")
    return processed


def _resident_message(conn: Connection, conversation: Row, row: Row, event: InboundEvent) -> int:
    """The resident's message of this event: stored now, or already stored when a busy notice was sent for it
    (conversations/backpressure.py), so the transcript keeps the question before the notice and holds it once."""
    stored = resident_message_of_inbound(conn, conversation.id, row.id)
    if stored is not None:
        return stored.id
    return append_message(conn, conversation_id=conversation.id, tenant=event.tenant, role="resident",
                          text=event.text, meta=resident_message_meta(row.id, event))


def resident_message_meta(inbound_id: int, event: InboundEvent) -> dict[str, Any]:
    meta: dict[str, Any] = {"inbound_event_id": inbound_id, "kind": event.kind}
    for key in ("subject", "attachments", "html_only", "body", "choice_index", "cut_from_chars"):
        if key in event.meta:
            meta[key] = event.meta[key]
    return meta


def _store_feedback(conn: Connection, event: InboundEvent, conversation_id: str) -> None:
    helpful = event.meta.get("helpful")
    ref = event.meta.get("ref") or ""
    # A rating of an answer names its turn; the question after an operator resolved names the escalation.
    turn_id = None if ref.startswith("escalation:") or not ref else ref
    record_feedback(conn, tenant=event.tenant, conversation_id=conversation_id,
                    rating="helpful" if helpful else "unhelpful", turn_id=turn_id,
                    comment=event.meta.get("comment"))


def _store_turn(conn: Connection, services: ConversationServices, row: Row, event: InboundEvent,
                conversation: Row, result: TurnResult, processed: ProcessedTurn) -> None:
    sources = [s.to_dict() for s in result.sources]
    # The turns row and its append-only audit row: redacted question, outcome, thresholds, sources with as-of
    # dates, index/config/template versions, timings.
    turn_id = record_turn_with_audit(
        conn, tenant=services.tenant(event.tenant), conversation_id=conversation.id, channel=event.channel,
        question=event.text, result=result, inbound_event_id=row.id,
        index_version=result.index_version or _index_version(services, event.tenant), settings=services.settings,
    )
    processed.turn_id, processed.result = turn_id, result
    processed.reply_message_id = tell_resident(
        conn, conversation, result.answer, kind=REPLY, ref=row.id, turn_id=turn_id,
        message_meta=_assistant_meta(result, sources), outbox_meta=_reply_meta(event, result, turn_id),
        choices=[c["title"] for c in result.choices], reply_token=event.reply_token,
        recipient=event.meta.get("reply_to") or event.sender)
    if result.escalated:
        processed.escalation_id = _escalate(conn, services, event, conversation.id, turn_id, result, sources)


def _assistant_meta(result: TurnResult, sources: list[dict]) -> dict[str, Any]:
    return {
        "outcome": result.outcome.value, "reason": result.reason.value if result.reason else None,
        "confidence": round(result.confidence, 4), "sources": sources, "choices": result.choices,
        "risk": result.risk, "language": result.language, "intent": result.intent, "query": result.query,
    }


def _index_version(services: ConversationServices, tenant: str) -> str | None:
    """An engine that does not say which index its turn read (a test's stand-in): the one in force now."""
    kb = services.knowledge
    return kb.index(tenant).version if kb.has_index(tenant) else None


def _escalate(conn: Connection, services: ConversationServices, event: InboundEvent, conversation_id: str,
              turn_id: str, result: TurnResult, sources: list[dict]) -> str:
    """The hand-over, with what the operator needs of the message (an e-mail: the whole mail), written once."""
    tenant = services.tenant(event.tenant)
    now = datetime.now(timezone.utc)
    sla = sla_for(tenant, now, risk=result.risk, reason=result.reason)
    meta = {"channel": event.channel, "language": result.language, "sla_tier": sla["tier"], **_risk_numbers(result),
            **callback_meta(tenant, now), **channel_class(event.channel).escalation_meta(event)}
    return services.queue.enqueue(
        conn, tenant=event.tenant, conversation_id=conversation_id, reason=result.reason, risk=result.risk,
        turn_id=turn_id, sla=sla, draft_answer=result.notes.get("draft"),
        draft_confidence=result.confidence, draft_sources=sources[:5], meta=meta,
    )


def _risk_numbers(result: TurnResult) -> dict[str, Any]:
    """The public numbers the turn showed (an emergency's 119 …): the holding message repeats them."""
    numbers = result.notes.get("risk_numbers")
    return {"risk_numbers": numbers} if numbers else {}


def _reply_meta(event: InboundEvent, result: TurnResult, turn_id: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"turn_id": turn_id, "outcome": result.outcome.value}
    if result.outcome is Outcome.ANSWERED:
        meta["feedback_ref"] = turn_id
    return {**meta, **channel_reply_meta(event)}


def channel_reply_meta(event: InboundEvent) -> dict[str, Any]:
    """What the channel's sender needs of the event a message answers (LINE: when its reply token was issued)."""
    meta: dict[str, Any] = {}
    if event.received_at is not None:
        meta["received_at"] = event.received_at.isoformat()
    return {**meta, **channel_class(event.channel).reply_meta(event)}


def _result_from_message(message: Row) -> TurnResult:
    meta = message.meta or {}
    return TurnResult(
        outcome=Outcome(meta.get("outcome", Outcome.ANSWERED.value)), answer=message.text,
        confidence=meta.get("confidence") or 0.0,
        sources=[Source(**{k: s.get(k) for k in ("doc_id", "title", "url", "score", "as_of", "source", "citation")})
                 for s in meta.get("sources") or []],
        reason=EscalationReason(meta["reason"]) if meta.get("reason") else None, risk=meta.get("risk"),
        language=meta.get("language") or "ja", choices=meta.get("choices") or [], intent=meta.get("intent"),
        query=meta.get("query"),
    )
