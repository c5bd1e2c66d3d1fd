"""The transactional path every channel shares, on SQLite and PostgreSQL: one turn per event, the escalation and
the outbox reply committed with it, silence while an operator holds the conversation, replays on redelivery.

The engine here is a scripted stand-in (the real one is tested in test_engine.py): these tests are about what
gets stored, not what gets answered.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from core.messages import InboundEvent
from config.settings import Settings
from conversations.turns import process_event, process_inbound_row
from core.outcomes import EscalationReason, Outcome, Source, TurnResult
from madoguchi.composition import build_services
from storage import claim_inbound_batch, list_messages, record_inbound
from storage.schema import audit_log, escalations, inbound_events, outbox, turns


class ScriptedKnowledge:
    def has_index(self, tenant):
        return False


class ScriptedEngine:
    """Answers "住民票" questions, escalates "担当者", and can be told to fail once."""

    kb = ScriptedKnowledge()

    def __init__(self):
        self.turns = 0
        self.fail_next = False

    def run_turn(self, tenant, text, memory=None, channel="web"):
        self.turns += 1
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("worker crashed mid-turn")
        source = Source(doc_id="150", title="住民票は何処で取れますか", url=None, score=0.9, as_of="2019")
        if "担当者" in text:
            return TurnResult(outcome=Outcome.ESCALATED, reason=EscalationReason.REQUESTED, answer="担当者におつなぎします。",
                              notes={"draft": "下書き"}, sources=[source], query=text)
        return TurnResult(outcome=Outcome.ANSWERED, answer="市民課で取れます。", confidence=0.95, sources=[source],
                          query=text, notes={"memory": memory})

    def greet(self, tenant, language="ja"):
        return TurnResult(outcome=Outcome.SMALLTALK, answer="こんにちは。", intent="greeting")


@pytest.fixture
def services(db, tmp_path):
    return build_services(Settings(data_dir=tmp_path), db=db, engine=ScriptedEngine(), channels={})


def record(services, external_id, text, channel="line", sender="U1", kind="message"):
    event = InboundEvent(channel=channel, external_id=external_id, tenant="amagasaki", sender=sender, kind=kind,
                         text=text, reply_token="rt-1", received_at=datetime.now(timezone.utc))
    with services.db.transaction() as conn:
        return record_inbound(conn, event)


def count(services, table, *where):
    with services.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_a_turn_stores_messages_turn_audit_and_one_outbox_reply(services):
    record(services, "e1", "住民票はどこで取れますか")
    processed = process_event(services, "line", "e1", tenant="amagasaki")
    assert processed.result.outcome is Outcome.ANSWERED and not processed.replayed
    with services.db.read() as conn:
        roles = [m.role for m in list_messages(conn, processed.conversation_id)]
        reply = conn.execute(select(outbox)).one()
        turn = conn.execute(select(turns)).one()
    assert roles == ["resident", "assistant"]
    assert reply.idempotency_key == f"reply:{processed.inbound_event_id}" and reply.recipient == "U1"
    assert reply.payload["reply_token"] == "rt-1" and reply.payload["meta"]["received_at"]
    assert turn.redacted_question == "住民票はどこで取れますか" and turn.channel == "line"
    assert count(services, audit_log, audit_log.c.action == "turn") == 1
    assert count(services, inbound_events, inbound_events.c.status == "done") == 1


def test_a_redelivered_event_is_replayed_not_run_again(services):
    record(services, "e1", "住民票はどこで取れますか")
    first = process_event(services, "line", "e1", tenant="amagasaki")
    assert record(services, "e1", "住民票はどこで取れますか") is False
    again = process_event(services, "line", "e1", tenant="amagasaki")
    assert again.replayed and again.turn_id == first.turn_id and again.result.answer == first.result.answer
    assert services.engine.turns == 1 and count(services, outbox) == 1


def test_personal_data_is_redacted_in_the_turn_and_audit_rows(services):
    record(services, "e1", "住民票を取りたい。電話は090-1234-5678です")
    process_event(services, "line", "e1", tenant="amagasaki")
    with services.db.read() as conn:
        turn = conn.execute(select(turns)).one()
        audit = conn.execute(select(audit_log).where(audit_log.c.action == "turn")).one()
    assert "090-1234-5678" not in turn.redacted_question and "090-1234-5678" not in str(audit.detail)


def test_an_escalation_is_written_with_its_turn(services):
    record(services, "e1", "担当者と話したい")
    processed = process_event(services, "line", "e1", tenant="amagasaki")
    with services.db.read() as conn:
        escalation = conn.execute(select(escalations)).one()
    assert escalation.id == processed.escalation_id and escalation.turn_id == processed.turn_id
    assert escalation.reason == "requested" and escalation.draft_answer == "下書き"


def test_the_assistant_stays_silent_while_an_operator_holds_the_conversation(services):
    record(services, "e1", "担当者と話したい")
    process_event(services, "line", "e1", tenant="amagasaki")
    record(services, "e2", "まだですか？")
    processed = process_event(services, "line", "e2", tenant="amagasaki")
    assert processed.turn_id is None and processed.result is None
    assert services.engine.turns == 1 and count(services, outbox) == 1  # only the hand-over message
    with services.db.read() as conn:
        assert [m.role for m in list_messages(conn, processed.conversation_id)][-1] == "resident"


def test_a_crash_mid_turn_loses_nothing_and_the_retry_replies_once(services):
    record(services, "e1", "住民票はどこで取れますか")
    services.engine.fail_next = True
    with services.db.transaction() as conn:
        (row,) = claim_inbound_batch(conn, "worker-a", lease_seconds=0)
    with pytest.raises(RuntimeError):
        process_inbound_row(services, row)
    assert count(services, outbox) == 0 and count(services, turns) == 0  # nothing half-written
    with services.db.transaction() as conn:
        (retry,) = claim_inbound_batch(conn, "worker-b")
    process_inbound_row(services, retry)
    assert count(services, outbox) == 1 and count(services, turns) == 1


def test_web_replies_are_not_put_in_the_outbox(services):
    record(services, "w1", "住民票はどこで取れますか", channel="web", sender="session-1")
    processed = process_event(services, "web", "w1", tenant="amagasaki")
    assert processed.reply_message_id is not None and count(services, outbox) == 0


def test_the_follow_up_turn_sees_the_previous_question(services):
    record(services, "e1", "児童手当について知りたい")
    process_event(services, "line", "e1", tenant="amagasaki")
    record(services, "e2", "それはどこで申請できますか")
    processed = process_event(services, "line", "e2", tenant="amagasaki")
    memory = processed.result.notes["memory"]
    assert memory.last_question == "児童手当について知りたい" and memory.last_outcome == "answered"


def test_a_line_follow_is_greeted_and_an_unfollow_opens_nothing(services):
    record(services, "f1", "", kind="follow")
    greeted = process_event(services, "line", "f1", tenant="amagasaki")
    assert greeted.result.outcome is Outcome.SMALLTALK and count(services, outbox) == 1
    record(services, "u1", "", kind="unfollow", sender="U2")
    assert process_event(services, "line", "u1", tenant="amagasaki").conversation_id is None


def test_concurrent_processing_of_one_event_makes_one_turn(services):
    record(services, "e1", "住民票はどこで取れますか")
    results = []
    def process() -> None:
        results.append(process_event(services, "line", "e1", tenant="amagasaki"))

    threads = [threading.Thread(target=process) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count(services, turns) == 1 and count(services, outbox) == 1
    assert services.engine.turns == 1
