"""Conversations, transcripts, turns, feedback and a resident's deletion request."""
from __future__ import annotations

import threading
from datetime import timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.messages import InboundEvent, OutboundMessage
from core.outcomes import EscalationReason, Outcome
from storage import (
    Database, append_message, claim_inbound_batch, enqueue_outbox, erase_conversation,
    erase_inactive_conversations, get_conversation, latest_messages, list_conversations, list_messages, list_turns,
    new_id,
    open_conversation, record_feedback, record_inbound, record_turn, set_conversation_state, turn_for_inbound,
    utcnow,
)
from storage.schema import conversations, feedback, inbound_events, messages, outbox, turns


def start(db: Database, address: str = "U1", tenant: str = "tokyo", channel: str = "line"):
    with db.transaction() as conn:
        return open_conversation(conn, tenant=tenant, channel=channel, resident_address=address)


def test_the_residents_open_conversation_is_found_again(db: Database) -> None:
    first = start(db)
    assert start(db).id == first.id
    assert start(db, address="U2").id != first.id
    assert first.state == "assistant" and first.language == "ja"
    assert first.created_at.tzinfo is not None and first.created_at.utcoffset() == timedelta(0)


def test_concurrent_first_messages_do_not_fork_the_conversation(db: Database) -> None:
    ids: set[str] = set()
    lock = threading.Lock()

    def first_message() -> None:
        conversation = start(db, address="U-race")
        with lock:
            ids.add(conversation.id)

    threads = [threading.Thread(target=first_message) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 1


def test_a_closed_conversation_is_followed_by_a_new_one(db: Database) -> None:
    first = start(db)
    with db.transaction() as conn:
        assert set_conversation_state(conn, first.id, "closed")
    assert start(db).id != first.id
    with pytest.raises(ValueError):
        with db.transaction() as conn:
            set_conversation_state(conn, first.id, "sleeping")


def test_the_transcript_comes_back_in_order_and_can_be_polled(db: Database) -> None:
    conversation = start(db)
    with db.transaction() as conn:
        ids = [append_message(conn, conversation_id=conversation.id, tenant="tokyo", role=role, text=text)
               for role, text in [("resident", "住民票がほしい"), ("assistant", "マイナンバーカードで…"),
                                  ("operator", "担当の佐藤です")]]
    with db.read() as conn:
        assert [m.text for m in list_messages(conn, conversation.id)] == ["住民票がほしい", "マイナンバーカードで…",
                                                                           "担当の佐藤です"]
        assert [m.id for m in list_messages(conn, conversation.id, after_id=ids[0])] == ids[1:]
        assert get_conversation(conn, conversation.id).last_activity_at >= conversation.last_activity_at


def test_the_latest_messages_come_back_oldest_first_without_the_rest(db: Database) -> None:
    conversation = start(db)
    other = start(db, address="U2")
    with db.transaction() as conn:
        ids = [append_message(conn, conversation_id=conversation.id, tenant="tokyo", role="resident", text=f"質問{n}")
               for n in range(5)]
        append_message(conn, conversation_id=other.id, tenant="tokyo", role="resident", text="別の人")
    with db.read() as conn:
        assert [m.id for m in latest_messages(conn, conversation.id, limit=3)] == ids[-3:]
        assert [m.id for m in latest_messages(conn, conversation.id, limit=50)] == ids


def test_operators_only_see_their_tenants_conversations(db: Database) -> None:
    tokyo = start(db, tenant="tokyo")
    with db.read() as conn:
        assert get_conversation(conn, tokyo.id, tenants=["amagasaki"]) is None
        assert get_conversation(conn, tokyo.id, tenants=["tokyo"]).id == tokyo.id
        assert [c.id for c in list_conversations(conn, "tokyo")] == [tokyo.id]
        assert list_conversations(conn, "amagasaki") == []


def test_a_turn_records_its_decision_and_one_inbound_event_yields_at_most_one_turn(db: Database) -> None:
    conversation = start(db)
    with db.transaction() as conn:
        record_inbound(conn, InboundEvent(channel="line", external_id="e1", tenant="tokyo", sender="U1"))
        [event] = claim_inbound_batch(conn, "w")
        turn_id = record_turn(
            conn, tenant="tokyo", conversation_id=conversation.id, inbound_event_id=event.id,
            outcome=Outcome.ESCALATED, reason=EscalationReason.LOW_CONFIDENCE, confidence=0.31, language="ja",
            sources=[{"doc_id": "faq-1", "title": "住民票"}], timings={"retrieve": 12.5}, index_version="i1",
            config_version="c1", redacted_question="住民票を[PHONE]で",
        )
    with db.read() as conn:
        turn = turn_for_inbound(conn, event.id)
        assert (turn.id, turn.outcome, turn.reason, turn.sources[0]["doc_id"]) == \
            (turn_id, "escalated", "low_confidence", "faq-1")
        assert [t.id for t in list_turns(conn, "tokyo")] == [turn_id]
    with pytest.raises(IntegrityError):
        with db.transaction() as conn:
            record_turn(conn, tenant="tokyo", conversation_id=conversation.id, inbound_event_id=event.id,
                        outcome="answered")


def test_feedback_is_recorded_and_checked(db: Database) -> None:
    conversation = start(db)
    with db.transaction() as conn:
        record_feedback(conn, tenant="tokyo", conversation_id=conversation.id, rating="helpful", comment="助かった")
    with pytest.raises(IntegrityError):
        with db.transaction() as conn:
            record_feedback(conn, tenant="tokyo", conversation_id=conversation.id, rating="meh")
    with db.read() as conn:
        assert conn.execute(select(feedback.c.rating)).scalars().all() == ["helpful"]


def populated_conversation(db: Database, address: str = "U-erase"):
    conversation = start(db, address=address)
    with db.transaction() as conn:
        record_inbound(conn, InboundEvent(channel="line", external_id=new_id(), tenant="tokyo",
                                          sender=address, text="電話は090-1234-5678です"))
        [event] = claim_inbound_batch(conn, "w")
        turn_id = record_turn(conn, tenant="tokyo", conversation_id=conversation.id, inbound_event_id=event.id,
                              outcome="answered", redacted_question="電話は[PHONE]です")
        append_message(conn, conversation_id=conversation.id, tenant="tokyo", role="resident",
                       text="電話は090-1234-5678です")
        enqueue_outbox(conn, OutboundMessage(channel="line", tenant="tokyo", recipient=address, text="回答",
                                             idempotency_key=f"{turn_id}:reply"), conversation_id=conversation.id)
        record_feedback(conn, tenant="tokyo", conversation_id=conversation.id, rating="unhelpful",
                        comment="090-1234-5678に電話して")
    return conversation


def test_a_deletion_request_erases_every_text_the_resident_gave(db: Database) -> None:
    conversation = populated_conversation(db)
    with db.transaction() as conn:
        assert erase_conversation(conn, conversation.id) is True
        assert erase_conversation(conn, "no-such-conversation") is False
    with db.read() as conn:
        dumped = " ".join(str(row) for table in (conversations, messages, inbound_events, turns, outbox, feedback)
                          for row in conn.execute(select(table)))
        erased = get_conversation(conn, conversation.id)
        pending = conn.execute(select(func.count()).select_from(outbox).where(outbox.c.status == "pending"))
    assert "090-1234-5678" not in dumped and "U-erase" not in dumped
    assert erased.deleted is True and erased.state == "closed"
    assert pending.scalar_one() == 0  # an unsent reply is cancelled, not sent with an erased body


def test_retention_erases_only_inactive_conversations(db: Database) -> None:
    old = populated_conversation(db, address="U-old")
    recent = populated_conversation(db, address="U-recent")
    with db.transaction() as conn:
        conn.execute(conversations.update().where(conversations.c.id == old.id).values(
            last_activity_at=utcnow() - timedelta(days=120)))
        assert erase_inactive_conversations(conn, "tokyo", inactive_before=utcnow() - timedelta(days=90)) == 1
    with db.read() as conn:
        assert get_conversation(conn, old.id).deleted is True
        assert get_conversation(conn, recent.id).deleted is False


def test_naive_datetimes_are_refused(db: Database) -> None:
    conversation = start(db)
    with pytest.raises(Exception, match="naive datetime"):
        with db.transaction() as conn:
            conn.execute(conversations.update().where(conversations.c.id == conversation.id).values(
                last_activity_at=utcnow().replace(tzinfo=None)))
    assert utcnow().tzinfo is timezone.utc
