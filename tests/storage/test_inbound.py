"""The inbox records each provider event once, however often and however concurrently it is delivered."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from sqlalchemy import func, select

from core.messages import InboundEvent
from storage import (
    Database, claim_inbound_batch, extend_inbound_lease, inbound_event_from_row, mark_inbound_done,
    mark_inbound_failed, record_inbound,
)
from storage.schema import inbound_events


def line_event(external_id: str, text: str = "粗大ごみの出し方を教えて") -> InboundEvent:
    return InboundEvent(channel="line", external_id=external_id, tenant="tokyo", sender="U1234", text=text,
                        reply_token="r-1", received_at=datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc),
                        meta={"webhook": "v2"})


def stored_count(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(inbound_events)).scalar_one()


def record(db: Database, event: InboundEvent) -> bool:
    with db.transaction() as conn:
        return record_inbound(conn, event)


def test_a_redelivery_is_recognised_and_stored_once(db: Database) -> None:
    assert record(db, line_event("ev-1")) is True
    assert record(db, line_event("ev-1")) is False
    assert stored_count(db) == 1


def test_the_same_external_id_in_another_tenant_is_a_different_event(db: Database) -> None:
    """One mail addressed to two cities carries one Message-ID: each city records it (it used to be one only)."""
    tokyo = line_event("<one@mail.example>")
    amagasaki = InboundEvent(**{**tokyo.__dict__, "tenant": "amagasaki"})
    assert record(db, tokyo) is True
    assert record(db, amagasaki) is True
    assert record(db, amagasaki) is False
    with db.read() as conn:
        tenants = conn.execute(select(inbound_events.c.tenant).order_by(inbound_events.c.tenant)).scalars().all()
    assert tenants == ["amagasaki", "tokyo"]


def test_the_same_external_id_on_another_channel_is_a_different_event(db: Database) -> None:
    assert record(db, line_event("id-7"))
    assert record(db, InboundEvent(channel="email", external_id="id-7", tenant="tokyo", sender="a@example.jp"))
    assert stored_count(db) == 2


def test_many_threads_delivering_the_same_events_store_each_once(db: Database) -> None:
    accepted: list[str] = []
    lock = threading.Lock()

    def deliver_all() -> None:
        for n in range(25):
            if record(db, line_event(f"burst-{n}")):
                with lock:
                    accepted.append(f"burst-{n}")

    threads = [threading.Thread(target=deliver_all) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(accepted) == sorted(f"burst-{n}" for n in range(25))
    assert stored_count(db) == 25


def test_the_stored_event_round_trips_to_the_same_inbound_event(db: Database) -> None:
    event = line_event("ev-rt")
    record(db, event)
    with db.transaction() as conn:
        [row] = claim_inbound_batch(conn, "w1")
    assert inbound_event_from_row(row) == event


def test_a_leased_event_is_not_handed_to_a_second_worker(db: Database) -> None:
    record(db, line_event("ev-2"))
    with db.transaction() as conn:
        first = claim_inbound_batch(conn, "w1", lease_seconds=60)
    with db.transaction() as conn:
        second = claim_inbound_batch(conn, "w2", lease_seconds=60)
    assert [row.external_id for row in first] == ["ev-2"] and second == []
    assert first[0].status == "processing" and first[0].attempts == 1


def test_done_events_are_never_claimed_again(db: Database) -> None:
    record(db, line_event("ev-3"))
    with db.transaction() as conn:
        [row] = claim_inbound_batch(conn, "w1")
        assert mark_inbound_done(conn, row)
    with db.transaction() as conn:
        assert claim_inbound_batch(conn, "w2", lease_seconds=0) == []


def test_a_dead_workers_event_is_reclaimed_after_its_lease_and_the_dead_lease_cannot_finish(db: Database) -> None:
    record(db, line_event("ev-4"))
    with db.transaction() as conn:
        [dead] = claim_inbound_batch(conn, "w-dead", lease_seconds=0.05)
    time.sleep(0.1)
    with db.transaction() as conn:
        [alive] = claim_inbound_batch(conn, "w-alive", lease_seconds=60)
    assert alive.id == dead.id and alive.attempts == 2
    with db.transaction() as conn:
        assert mark_inbound_done(conn, dead) is False
        assert extend_inbound_lease(conn, dead, 60) is False
        assert mark_inbound_done(conn, alive) is True


def test_a_failed_event_is_retried_later_then_given_up(db: Database) -> None:
    record(db, line_event("ev-5"))
    with db.transaction() as conn:
        [row] = claim_inbound_batch(conn, "w1")
        assert mark_inbound_failed(conn, row, "index not loaded", retry_after_seconds=60)
    with db.transaction() as conn:
        assert claim_inbound_batch(conn, "w1") == []  # not before its retry time
    with db.transaction() as conn:
        conn.execute(inbound_events.update().values(locked_until=None))  # its retry time has come
        [row] = claim_inbound_batch(conn, "w1", max_attempts=2)
        assert row.attempts == 2
        assert mark_inbound_failed(conn, row, "still broken", max_attempts=2)
    with db.read() as conn:
        status, error = conn.execute(select(inbound_events.c.status, inbound_events.c.last_error)).one()
    assert (status, error) == ("failed", "still broken")


def test_concurrent_workers_split_the_inbox_without_overlap(db: Database) -> None:
    for n in range(120):
        record(db, line_event(f"bulk-{n}"))
    claimed: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while True:
            with db.transaction() as conn:
                rows = claim_inbound_batch(conn, name, limit=7)
            if not rows:
                return
            with db.transaction() as conn:
                assert all(mark_inbound_done(conn, row) for row in rows)
            with lock:
                claimed.extend(row.id for row in rows)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 120 and len(set(claimed)) == 120


# --- per-resident order and urgency ------------------------------------------------------------------------------

def resident_event(external_id: str, sender: str, text: str = "質問") -> InboundEvent:
    return InboundEvent(channel="line", external_id=external_id, tenant="tokyo", sender=sender, text=text)


def claim_one(db: Database, worker: str) -> list:
    with db.transaction() as conn:
        return claim_inbound_batch(conn, worker, lease_seconds=60, limit=1)


def test_a_residents_next_event_waits_until_the_earlier_one_is_finished(db: Database) -> None:
    record(db, resident_event("a-1", "Ua"))
    record(db, resident_event("a-2", "Ua"))
    record(db, resident_event("b-1", "Ub"))
    (first,) = claim_one(db, "w1")
    (other,) = claim_one(db, "w2")  # not a-2: Ua's first message is still being answered
    assert (first.external_id, other.external_id) == ("a-1", "b-1")
    assert claim_one(db, "w3") == []
    with db.transaction() as conn:
        assert mark_inbound_done(conn, first)
    (second,) = claim_one(db, "w3")
    assert second.external_id == "a-2"


def test_a_batch_never_holds_two_events_of_one_resident(db: Database) -> None:
    for n in range(3):
        record(db, resident_event(f"a-{n}", "Ua"))
        record(db, resident_event(f"b-{n}", "Ub"))
    with db.transaction() as conn:
        rows = claim_inbound_batch(conn, "w", limit=10)
    assert sorted(r.external_id for r in rows) == ["a-0", "b-0"]


def test_an_earlier_event_waiting_for_its_retry_still_holds_the_next_one(db: Database) -> None:
    record(db, resident_event("a-1", "Ua"))
    record(db, resident_event("a-2", "Ua"))
    (first,) = claim_one(db, "w1")
    with db.transaction() as conn:
        mark_inbound_failed(conn, first, "boom", retry_after_seconds=60)
    assert claim_one(db, "w2") == []


def test_an_earlier_event_failed_for_good_no_longer_holds_the_next_one(db: Database) -> None:
    record(db, resident_event("a-1", "Ua"))
    record(db, resident_event("a-2", "Ua"))
    (first,) = claim_one(db, "w1")
    with db.transaction() as conn:
        mark_inbound_failed(conn, first, "boom", max_attempts=1)
    (second,) = claim_one(db, "w2")
    assert second.external_id == "a-2"


def test_a_dead_workers_event_is_taken_over_before_the_residents_next_one(db: Database) -> None:
    record(db, resident_event("a-1", "Ua"))
    record(db, resident_event("a-2", "Ua"))
    with db.transaction() as conn:
        claim_inbound_batch(conn, "dead", lease_seconds=0.05, limit=1)
    time.sleep(0.1)
    (taken_over,) = claim_one(db, "w2")
    assert taken_over.external_id == "a-1"


def test_the_same_sender_on_another_channel_or_tenant_is_another_resident(db: Database) -> None:
    record(db, resident_event("a-1", "U1"))
    record(db, InboundEvent(channel="email", external_id="m-1", tenant="tokyo", sender="U1", text="質問"))
    record(db, InboundEvent(channel="line", external_id="a-1", tenant="amagasaki", sender="U1", text="質問"))
    with db.transaction() as conn:
        assert len(claim_inbound_batch(conn, "w", limit=10)) == 3


def test_the_order_key_is_a_hash_never_the_address(db: Database) -> None:
    record(db, resident_event("a-1", "U4af4980629b3f8b2c3f1f5"))
    with db.read() as conn:
        key = conn.execute(select(inbound_events.c.order_key)).scalar_one()
    assert len(key) == 32 and "U4af4980629" not in key


def test_urgent_events_are_claimed_before_the_backlog(db: Database) -> None:
    for n in range(5):
        record(db, resident_event(f"q-{n}", f"U{n}"))
    with db.transaction() as conn:
        record_inbound(conn, resident_event("fire", "Ufire", "火事です"), priority=2)
    (first,) = claim_one(db, "w")
    assert first.external_id == "fire"
    (second,) = claim_one(db, "w")
    assert second.external_id == "q-0"


def test_an_urgent_event_still_waits_for_its_residents_earlier_one(db: Database) -> None:
    record(db, resident_event("a-1", "Ua"))
    with db.transaction() as conn:
        record_inbound(conn, resident_event("a-2", "Ua", "火事です"), priority=2)
    (first,) = claim_one(db, "w")
    assert first.external_id == "a-1"
