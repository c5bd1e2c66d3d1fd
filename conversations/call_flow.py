"""The phone call as a small state machine over Twilio webhooks; every request is answered with TwiML within 2 s.

    start   POST /webhooks/twilio/voice/{tenant}                      greeting + <Gather> (step 1)
    gather  POST …/gather?step=N[&stage=answer|clarify&ref=<inbound id>]   what the caller said or pressed
    poll    POST …/poll?step=N&hold=K                                  Twilio back from a hold: is the answer ready?
    noinput POST …/noinput?step=N[&again=1]                            silence: keypad fallback, then goodbye
    status  POST …/status                                              call ended (status callback)

A question (speech, a clarification number, or a request for a person: 0 or words like 担当者) is recorded as an
inbound event with external id CallSid:N and left to the inbox worker like every other channel; the request then
waits up to `voice_wait_s` (1.5 s) for that turn. Done → the answer TwiML; not yet → the hold TwiML (<Say>,
<Pause>, <Redirect> to the poll URL), and each poll waits again. A request for a person is sent to the dialogue as
the words 担当者と話したい, so the escalation is recorded by the turn like any other hand-over and the TwiML
transfers the call (<Dial> the operator number or <Enqueue>). Short replies after an answer are handled here without
a turn: 1 (solved) says goodbye, 2 asks again, 3 sends the links of the answer by SMS (through the outbox, key
sms:CallSid:N, so a retried webhook sends one SMS), 9 repeats the answer. An emergency or crisis hears its numbers
(119, the 24-hour lines) twice before the call is transferred (CallScript.urgent).

The spoken reply of a turn is the outbox row reply:<inbound id> (the sender marks it sent without sending: Twilio
hears it here); it is read out through CallScript.answer, which rewrites it for the ear.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from starlette.concurrency import run_in_threadpool

from channels.speech import for_the_ear
from channels.voice import VoiceAdapter, caller_reply, link_sms_text, with_step
from conversations.inbox import record_event
from conversations.ports import ConversationServices
from conversations.tell import SMS, message_key, reply_key
from core.messages import InboundEvent, OutboundMessage
from storage import (
    Connection, Row, assistant_message_of_turn, enqueue_outbox, inbound_by_external_id, inbound_by_id, outbox_by_key,
    turn_for_inbound,
)

log = logging.getLogger(__name__)

OPERATOR_REQUEST = "担当者と話したい"  # what a caller pressing 0 means, in words the dialogue understands
ESCALATED = "escalated"
URGENT_TIERS = ("emergency", "crisis")  # their reply (the public numbers) is read out before any transfer
CLARIFY = "clarify"
DB_RECHECK_S = 0.5  # how often a waiting request re-reads the database (a worker in another process)
SOLVED = "お役に立てて何よりです。お電話ありがとうございました。失礼いたします。"
NO_INPUT_GOODBYE = "お声が確認できませんでしたので、お電話を終了します。"


class VoiceFlow:
    def __init__(self, services: ConversationServices, tenant: str, adapter: VoiceAdapter) -> None:
        self.services = services
        self.tenant = tenant
        self.adapter = adapter
        self.script = adapter.script
        self.runtime = services.runtime
        self.base = f"/webhooks/twilio/voice/{tenant}"

    # -- URLs Twilio comes back to (absolute, on the public base URL, so a proxy's path prefix survives) ----------

    def url(self, action: str, step: int, **query: str) -> str:
        return self.adapter.public_url(with_step(f"{self.base}/{action}", step, **query))

    def gather_url(self, step: int, **query: str) -> str:
        return self.url("gather", step, **query)

    def no_input_url(self, step: int, **query: str) -> str:
        return self.url("noinput", step, **query)

    # -- the moments of a call ----------------------------------------------------------------------------------

    def start(self) -> str:
        return self.script.greeting(self.gather_url(1), self.no_input_url(1))

    def no_input(self, step: int, again: bool) -> str:
        if again:
            return self.script.closed(NO_INPUT_GOODBYE)
        return self.script.keypad_fallback(self.gather_url(step), self.no_input_url(step, again="1"))

    async def gather(self, event: InboundEvent, query: dict[str, str]) -> str:
        step = int(event.meta["step"])
        meaning = caller_reply(event)
        question = self._question(event, meaning, query)
        if question is not None:
            return await self._ask_dialogue(replace(event, text=question, meta={**event.meta, "caller": meaning}))
        ref = int(query["ref"]) if query.get("ref", "").isdigit() else None
        return await run_in_threadpool(self._short_reply, event, meaning, step, ref)

    async def poll(self, event: InboundEvent, hold: int) -> str:
        inbound = await run_in_threadpool(self._inbound_id, event)
        if inbound is None:  # nothing recorded for this step: start the question again
            return self.script.ask_again(self.gather_url(int(event.meta["step"]) + 1),
                                         self.no_input_url(int(event.meta["step"]) + 1))
        return await self._answer_or_hold(inbound, int(event.meta["step"]), hold)

    # -- a question for the dialogue --------------------------------------------------------------------------

    @staticmethod
    def _question(event: InboundEvent, meaning: str, query: dict[str, str]) -> str | None:
        """The words to send to the dialogue, or None for a short reply the call handles itself."""
        digits = event.meta.get("digits") or ""
        if meaning == "operator":
            return OPERATOR_REQUEST
        if query.get("stage") == CLARIFY and digits[:1].isdigit():
            return digits[:1]  # a clarification choice by number; the dialogue maps it with its memory
        if meaning == "speech" or (meaning not in ("yes", "no", "sms", "repeat") and event.text):
            return event.text
        return None

    async def _ask_dialogue(self, event: InboundEvent) -> str:
        inbound = await run_in_threadpool(self._record, event)
        return await self._answer_or_hold(inbound, int(event.meta["step"]), 0)

    def _record(self, event: InboundEvent) -> int:
        """Record the question (a redelivery finds the first recording) and return its inbound id."""
        return record_event(self.services, event)[0]

    async def _answer_or_hold(self, inbound_id: int, step: int, hold: int) -> str:
        if await self.wait_for_turn(inbound_id, self.runtime.settings.voice_wait_s):
            return await run_in_threadpool(self.answer_for, inbound_id, step)
        if hold >= self.runtime.settings.voice_max_hold_polls:
            log.warning("call turn %s not ready after %s holds: transferring", inbound_id, hold)
            return self.script.transfer()
        return self.script.hold(self.url("poll", step, hold=str(hold + 1)), first=hold == 0)

    async def wait_for_turn(self, inbound_id: int, timeout_s: float) -> bool:
        """True once the event's turn is finished (done, or failed for good), False after `timeout_s`.

        A worker of this process wakes us through TurnWaiters; the database is re-read every DB_RECHECK_S in case
        a worker in another process ran the turn."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        woken = self.runtime.turn_waiters.register(inbound_id)
        try:
            while True:
                if await run_in_threadpool(self._finished, inbound_id):
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(asyncio.shield(woken), min(remaining, DB_RECHECK_S))
                except TimeoutError:
                    continue
                woken = self.runtime.turn_waiters.register(inbound_id)  # the next wake-up, if this one was early
        finally:
            self.runtime.turn_waiters.release(inbound_id, woken)

    def _finished(self, inbound_id: int) -> bool:
        with self.services.db.read() as conn:
            row = inbound_by_id(conn, inbound_id)
        return row is not None and row.status in ("done", "failed")

    def _inbound_id(self, event: InboundEvent) -> int | None:
        with self.services.db.read() as conn:
            row = inbound_by_external_id(conn, event.tenant, event.channel, event.external_id)
        return row.id if row is not None else None

    # -- TwiML for a finished turn ----------------------------------------------------------------------------

    def answer_for(self, inbound_id: int, step: int) -> str:
        with self.services.db.read() as conn:
            turn = turn_for_inbound(conn, inbound_id)
            reply = self._reply(conn, inbound_id, turn)
        if turn is not None and turn.outcome == ESCALATED and turn.risk in URGENT_TIERS and reply is not None:
            return self.script.urgent(reply[0])  # 119 / the crisis lines read out first, then a person
        if turn is None or turn.outcome == ESCALATED or reply is None:
            # Failed, held by an operator already, or handed over: a person takes the call.
            return self.script.transfer()
        text, choices = reply
        next_step = step + 1
        if turn.outcome == CLARIFY and choices:
            return self.script.clarify(text, tuple(choices), self.gather_url(next_step, stage=CLARIFY),
                                       self.no_input_url(next_step))
        return self.script.answer(text, self.gather_url(next_step, stage="answer", ref=str(inbound_id)),
                                  self.no_input_url(next_step), offer_sms=bool(self.adapter.sms_from))

    @staticmethod
    def _reply(conn: Connection, inbound_id: int, turn: Row | None) -> tuple[str, list[str]] | None:
        """(text, choice labels) of the turn's reply: the outbox row, else the assistant message of the turn."""
        row = outbox_by_key(conn, reply_key(inbound_id))
        if row is not None and isinstance(row.payload, dict) and "text" in row.payload:
            return row.payload["text"], [str(c) for c in row.payload.get("choices") or []]
        if turn is None:
            return None
        message = assistant_message_of_turn(conn, turn.id)
        if message is None:
            return None
        choices = (message.meta or {}).get("choices") or []
        return message.text, [str(c.get("title", c)) if isinstance(c, dict) else str(c) for c in choices]

    # -- short replies after an answer (no turn) -----------------------------------------------------------------

    def _short_reply(self, event: InboundEvent, meaning: str, step: int, ref: int | None) -> str:
        next_step = step + 1
        if meaning == "yes":
            return self.script.goodbye(SOLVED)
        if meaning == "sms" and ref is not None and self._send_links(event, ref):
            return self.script.sms_sent(self.gather_url(next_step), self.no_input_url(next_step))
        if meaning == "repeat" and ref is not None:
            return self.answer_for(ref, step)
        if meaning == "none":
            return self.script.keypad_fallback(self.gather_url(next_step), self.no_input_url(next_step, again="1"))
        return self.script.ask_again(self.gather_url(next_step), self.no_input_url(next_step))

    def _send_links(self, event: InboundEvent, ref: int) -> bool:
        """Queue an SMS with the links of answer `ref`; False when there is nothing to send."""
        if not self.adapter.sms_from:
            return False
        with self.services.db.transaction() as conn:
            reply = outbox_by_key(conn, reply_key(ref))
            answered = inbound_by_id(conn, ref)
            if reply is None or answered is None or answered.payload.get("sender") != event.sender:
                return False  # not this caller's answer
            links = for_the_ear(reply.payload.get("text", "")).links
            if not links:
                return False
            sms = OutboundMessage(channel=VoiceAdapter.name, tenant=self.tenant, recipient=event.sender,
                                  text=link_sms_text(links, self.script.office),
                                  idempotency_key=message_key(SMS, event.external_id), meta={"deliver": "sms"})
            enqueue_outbox(conn, sms, conversation_id=reply.conversation_id)
        self.runtime.nudge_sender()
        return True
