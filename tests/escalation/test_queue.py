"""The escalation queue on SQLite and PostgreSQL: order, states, stale tokens, SLA fail-safe and audit."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.outcomes import EscalationReason
from escalation.queue import EscalationQueue, HeldClaim, StaleClaim, priority_for, require
from storage import (
    Database, erase_conversation, get_conversation, list_audit, open_conversation, record_turn, utcnow,
)
from storage.schema import escalations


def conversation_id(db: Database, address: str, tenant: str = "tokyo") -> str:
    with db.transaction() as conn:
        return open_conversation(conn, tenant=tenant, channel="web", resident_address=address).id


def enqueue(db: Database, address: str, reason: object = "low_confidence", tenant: str = "tokyo",
            **options: object) -> str:
    conversation = conversation_id(db, address, tenant)
    with db.transaction() as conn:
        return EscalationQueue(db).enqueue(conn, tenant=tenant, conversation_id=conversation, reason=reason,
                                           **options)


@pytest.fixture
def queue(db: Database) -> EscalationQueue:
    return EscalationQueue(db)


def test_risk_comes_first_then_requests_then_low_confidence_and_oldest_first_within_a_priority(
        db: Database, queue: EscalationQueue) -> None:
    low_1 = enqueue(db, "a", EscalationReason.LOW_CONFIDENCE)
    requested = enqueue(db, "b", EscalationReason.REQUESTED)
    low_2 = enqueue(db, "c", EscalationReason.LOW_CONFIDENCE)
    crisis = enqueue(db, "d", EscalationReason.RISK, risk="crisis")
    health = enqueue(db, "e", EscalationReason.RISK, risk="health")
    order = [queue.claim(["tokyo"], "sato").escalation_id for _ in range(5)]
    assert order == [crisis, health, requested, low_1, low_2]
    assert queue.claim(["tokyo"], "sato") is None


def test_priority_for_ranks_risk_tiers_above_reasons() -> None:
    assert priority_for("risk", "emergency") > priority_for("risk", "health") > priority_for("requested")
    assert priority_for(EscalationReason.REQUESTED) > priority_for(EscalationReason.LOW_CONFIDENCE)


def test_an_operator_only_claims_from_their_tenants(db: Database, queue: EscalationQueue) -> None:
    amagasaki = enqueue(db, "a", tenant="amagasaki")
    assert queue.claim(["tokyo"], "sato") is None
    assert queue.claim([], "sato") is None
    assert queue.claim_specific(amagasaki, "sato", tenant_ids=["tokyo"]) is None
    assert queue.claim(["tokyo", "amagasaki"], "sato").escalation_id == amagasaki
    assert queue.get(amagasaki, tenant_ids=["tokyo"]) is None
    assert [row.id for row in queue.list_open(["tokyo"])] == []


def test_the_escalation_is_written_in_the_turns_transaction(db: Database, queue: EscalationQueue) -> None:
    conversation = conversation_id(db, "tx")
    with pytest.raises(RuntimeError):
        with db.transaction() as conn:
            turn = record_turn(conn, tenant="tokyo", conversation_id=conversation, outcome="escalated")
            queue.enqueue(conn, tenant="tokyo", conversation_id=conversation, reason="requested", turn_id=turn)
            raise RuntimeError("the turn failed before commit")
    assert queue.list_open(["tokyo"]) == []
    with db.read() as conn:
        assert get_conversation(conn, conversation).state == "assistant"


def test_enqueue_puts_the_conversation_with_operators_and_keeps_one_open_escalation(
        db: Database, queue: EscalationQueue) -> None:
    first = enqueue(db, "dup", "low_confidence", sla={"first_response_minutes": 15, "resolution_minutes": 1440},
                    draft_answer="粗大ごみは…", draft_confidence=0.42, draft_sources=[{"doc_id": "faq-9"}])
    again = enqueue(db, "dup", "risk", risk="life")
    assert again == first
    row = queue.get(first)
    assert row.priority == priority_for("risk", "life") and row.reason == "low_confidence"
    assert row.first_response_due - row.created_at == timedelta(minutes=15)
    assert row.resolve_due - row.created_at == timedelta(minutes=1440)
    assert (row.draft_answer, row.draft_confidence, row.draft_sources) == ("粗大ごみは…", 0.42, [{"doc_id": "faq-9"}])
    with db.read() as conn:
        assert get_conversation(conn, row.conversation_id).state == "with_operator"


def test_the_whole_life_of_a_claim(db: Database, queue: EscalationQueue) -> None:
    escalation = enqueue(db, "life")
    claim = queue.claim(["tokyo"], "sato")
    assert (claim.escalation_id, claim.operator, claim.tenant) == (escalation, "sato", "tokyo")
    assert queue.heartbeat(claim)
    with db.transaction() as conn:
        assert queue.record_reply(conn, claim)
    assert queue.mark_waiting_resident(claim)
    assert queue.mark_waiting_resident(claim) is False  # already waiting
    with db.transaction() as conn:
        assert queue.resident_replied(conn, claim.conversation_id)
    assert queue.by_token(claim.token).state == "claimed"
    assert queue.resolve(claim, "案内済み")
    row = queue.get(escalation)
    assert (row.state, row.resolution_reason, row.claimed_by) == ("resolved", "案内済み", "sato")
    assert row.first_response_at is not None and row.resolved_at is not None
    assert queue.resolve(claim, "again") is False  # resolved once
    with db.read() as conn:
        assert get_conversation(conn, claim.conversation_id).state == "assistant"
        actions = [a.action for a in reversed(list_audit(conn, target=escalation))]
    assert actions == ["escalation.enqueue", "escalation.claim", "escalation.reply", "escalation.wait_resident",
                       "escalation.resolve"]


def test_return_to_the_assistant(db: Database, queue: EscalationQueue) -> None:
    enqueue(db, "ret")
    claim = queue.claim(["tokyo"], "sato")
    assert queue.return_to_assistant(claim, "一般的な質問")
    assert queue.get(claim.escalation_id).state == "returned"
    with db.read() as conn:
        assert get_conversation(conn, claim.conversation_id).state == "assistant"


def test_release_and_transfer(db: Database, queue: EscalationQueue) -> None:
    escalation = enqueue(db, "tr")
    first = queue.claim(["tokyo"], "sato")
    assert queue.release(first)
    second = queue.claim(["tokyo"], "tanaka")
    assert second.escalation_id == escalation and second.token != first.token
    assert queue.resolve(first, "stale") is False
    assert queue.transfer(second, "suzuki")
    assert queue.claim(["tokyo"], "sato") is None  # assigned to suzuki only
    assert queue.claim_specific(escalation, "sato") is None
    third = queue.claim(["tokyo"], "suzuki")
    assert third.escalation_id == escalation
    assert queue.transfer(third, None)
    assert queue.claim_specific(escalation, "sato").operator == "sato"


def test_claim_specific_takes_a_chosen_escalation_once(db: Database, queue: EscalationQueue) -> None:
    enqueue(db, "x", "risk", risk="crisis")
    chosen = enqueue(db, "y")
    assert queue.claim_specific(chosen, "sato").escalation_id == chosen
    assert queue.claim_specific(chosen, "tanaka") is None


def test_a_paused_claimer_whose_claim_was_requeued_and_reclaimed_changes_nothing(
        db: Database, queue: EscalationQueue) -> None:
    enqueue(db, "pause")
    paused = queue.claim(["tokyo"], "sato")
    time.sleep(0.05)
    assert queue.requeue_stale(stale_after_seconds=0.01) == 1
    assert queue.resolve(paused, "too late") is False  # re-queued, not yet re-claimed
    other = queue.claim(["tokyo"], "tanaka")
    assert other.escalation_id == paused.escalation_id
    assert queue.heartbeat(paused) is False
    assert queue.resolve(paused, "too late") is False
    assert queue.transfer(paused, None) is False
    with db.transaction() as conn:
        assert queue.record_reply(conn, paused) is False  # so no second reply reaches the resident
    with pytest.raises(StaleClaim):
        require(queue.return_to_assistant(paused))
    assert queue.resolve(other, "answered")
    assert queue.get(other.escalation_id).claimed_by == "tanaka"


def test_a_token_acts_only_on_its_own_escalation_and_for_its_own_operator(db: Database, queue: EscalationQueue) -> None:
    """The probe: an amagasaki operator moved a tokyo escalation to waiting_resident with that escalation's token.
    A token presented with another escalation's id, or by another operator, changes nothing — for every action."""
    enqueue(db, "tokyo-resident")
    enqueue(db, "amagasaki-resident", tenant="amagasaki")
    tokyo = queue.claim(["tokyo"], "sato")
    amagasaki = queue.claim(["amagasaki"], "yamada")
    misuses = [HeldClaim(amagasaki.escalation_id, tokyo.token, "yamada"),  # my escalation, their token
               HeldClaim(tokyo.escalation_id, tokyo.token, "yamada"),  # their escalation and token, not my claim
               HeldClaim(tokyo.escalation_id, amagasaki.token, "sato")]  # swapped tokens
    actions = [lambda c: queue.heartbeat(c), lambda c: queue.mark_waiting_resident(c), lambda c: queue.release(c),
               lambda c: queue.transfer(c, None), lambda c: queue.return_to_assistant(c, "x"),
               lambda c: queue.resolve(c, "x")]
    refused = 0
    for claim in misuses:
        for act in actions:
            refused += act(claim) is False
        with db.transaction() as conn:
            refused += queue.record_reply(conn, claim) is False
    assert refused == len(misuses) * (len(actions) + 1)
    assert queue.get(tokyo.escalation_id).state == "claimed" and queue.get(tokyo.escalation_id).claimed_by == "sato"
    assert queue.get(amagasaki.escalation_id).claimed_by == "yamada"
    assert queue.mark_waiting_resident(tokyo) and queue.resolve(amagasaki, "done")  # the rightful holders still can
    assert queue.mark_waiting_resident(HeldClaim(tokyo.escalation_id, "", "sato")) is False  # no token at all


def test_a_heartbeating_claim_is_not_requeued_and_waiting_for_the_resident_is_not_stale(
        db: Database, queue: EscalationQueue) -> None:
    for address in ("hb-1", "hb-2", "hb-3"):
        enqueue(db, address)
    alive, silent, waiting = (queue.claim(["tokyo"], "sato") for _ in range(3))
    assert queue.mark_waiting_resident(waiting)
    with db.transaction() as conn:  # all three claimed an hour ago; only `alive` heartbeats since
        conn.execute(escalations.update().values(heartbeat_at=utcnow() - timedelta(hours=1)))
    assert queue.heartbeat(alive)
    assert queue.requeue_stale(stale_after_seconds=600) == 1
    assert queue.by_token(alive.token).state == "claimed"
    assert queue.by_token(silent.token) is None
    assert queue.by_token(waiting.token).state == "waiting_resident"


def test_overdue_unclaimed_escalations_get_one_holding_message(db: Database, queue: EscalationQueue) -> None:
    overdue = enqueue(db, "late", sla={"first_response_minutes": 15})
    enqueue(db, "on-time", sla={"first_response_minutes": 15})
    with db.transaction() as conn:
        conn.execute(escalations.update().where(escalations.c.id == overdue).values(
            first_response_due=utcnow() - timedelta(minutes=1)))
    assert [row.id for row in queue.overdue_unclaimed()] == [overdue]
    assert [row.id for row in queue.breached(["tokyo"])] == [overdue]
    with db.transaction() as conn:
        assert queue.mark_holding_sent(conn, overdue) is True
        assert queue.mark_holding_sent(conn, overdue) is False
    assert queue.overdue_unclaimed() == []


def test_supervisors_see_the_load_per_operator(db: Database, queue: EscalationQueue) -> None:
    for address in ("l1", "l2", "l3"):
        enqueue(db, address)
    queue.claim(["tokyo"], "sato")
    queue.claim(["tokyo"], "sato")
    queue.claim(["tokyo"], "tanaka")
    assert queue.load_by_operator(["tokyo"]) == {"sato": 2, "tanaka": 1}
    assert len(queue.list_open(["tokyo"])) == 3
    with db.read() as conn:
        assert conn.execute(select(escalations.c.state).distinct()).scalars().all() == ["claimed"]


def test_a_deletion_request_takes_the_hand_over_off_the_queue_and_ends_its_claim(
        db: Database, queue: EscalationQueue) -> None:
    enqueue(db, "erase-me")
    claim = queue.claim(["tokyo"], "sato")
    enqueue(db, "erase-me-too")
    with db.transaction() as conn:
        erase_conversation(conn, claim.conversation_id)
        erase_conversation(conn, queue.list_open(["tokyo"])[-1].conversation_id)
    assert queue.list_open(["tokyo"]) == [] and queue.claim(["tokyo"], "tanaka") is None
    assert not queue.resolve(claim, "resident asked for deletion")  # nothing is left to answer
    with db.read() as conn:
        assert get_conversation(conn, claim.conversation_id).state == "closed"
        assert conn.execute(select(escalations.c.state).distinct()).scalars().all() == ["returned"]
