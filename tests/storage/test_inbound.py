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
