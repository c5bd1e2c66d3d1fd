"""Short leases kept alive by a heartbeat, and a graceful stop that gives unfinished work back at once."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from conversations.inbox_worker import InboxWorker, start_workers
from conversations.outbox_sender import OutboxSender
from core.messages import InboundEvent, OutboundMessage
from conversations.leases import stop_gracefully
from storage import claim_inbound_batch, enqueue_outbox, record_inbound
from storage.schema import inbound_events, outbox
from storage.testing import postgres_unavailable, temporary_database
from tests.channels.standins import ScriptedEngine
from tests.channels.wiring import count, loop_settings, make_services, wait_until


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "postgresql" and (reason := postgres_unavailable()):
        pytest.skip(reason)
    with temporary_database(request.param, tmp_path) as database:
        yield database


def record(db, *texts: str) -> None:
    with db.transaction() as conn:
        for n, text in enumerate(texts):
            record_inbound(conn, InboundEvent(channel="line", external_id=f"ev-{n}", tenant="tokyo",
                                              sender=f"U{n}", text=text))


def claim_for(db, worker: str) -> list:
    with db.transaction() as conn:
        return claim_inbound_batch(conn, worker, lease_seconds=0.3, limit=1)


def inbound_row(db):
    with db.read() as conn:
        return conn.execute(select(inbound_events)).one()


class TestHeartbeat:
    def test_a_held_lease_is_extended_so_nobody_takes_a_slow_turn_over(self, db, tmp_path):
        services = make_services(db, tmp_path, settings=loop_settings(inbox_lease_s=0.3))
        record(db, "粗大ごみ")
        (row,) = claim_for(db, "slow")
        keeper = services.runtime.leases
        with keeper.holding(row):
            for _ in range(4):
                time.sleep(0.15)
                assert keeper.extend(services) == 1
            assert claim_for(db, "other") == []  # 0.6 s after a 0.3 s lease: still held

    def test_a_turn_past_the_longest_a_turn_may_take_is_no_longer_extended(self, db, tmp_path):
        services = make_services(db, tmp_path, settings=loop_settings(inbox_lease_s=0.3, inbox_max_turn_s=0.2))
        record(db, "粗大ごみ")
        (row,) = claim_for(db, "hung")
        with services.runtime.leases.holding(row):
            time.sleep(0.25)
            assert services.runtime.leases.extend(services) == 0
            time.sleep(0.35)
            (taken_over,) = claim_for(db, "other")
        assert taken_over.id == row.id and taken_over.attempts == 2

    def test_a_dead_process_is_taken_over_after_one_short_lease(self, db, tmp_path):
        """Nothing extends a lease of a process that died: the default lease is seconds, not minutes."""
        assert loop_settings().inbox_lease_s <= 15
        services = make_services(db, tmp_path, settings=loop_settings(inbox_lease_s=0.3))
        record(db, "粗大ごみ")
        with db.transaction() as conn:
            claim_inbound_batch(conn, "killed", lease_seconds=services.runtime.settings.inbox_lease_s, limit=1)
        started = time.monotonic()
        wait_until(lambda: claim_for(db, "alive"), 5, "the dead worker's event to be claimable")
        assert time.monotonic() - started < 2


class TestGracefulStop:
    def test_a_turn_still_running_at_shutdown_is_given_back_at_once_without_counting_the_attempt(self, db, tmp_path):
        engine = ScriptedEngine(delay_s=30)
        services = make_services(db, tmp_path, engine=engine,
                                 settings=loop_settings(inbox_workers=1, shutdown_grace_s=0.5))
        record(db, "粗大ごみ")
        stop = threading.Event()
        threads = start_workers(services, stop)
        wait_until(lambda: engine.calls, 10, "the turn to start")
        started = time.monotonic()
        stop_gracefully(services, stop, threads)
        assert time.monotonic() - started < 2  # bounded by the grace, not by the 30 s turn
        row = inbound_row(db)
        assert (row.status, row.locked_by, row.locked_until, row.attempts) == ("received", None, None, 0)
        fresh = make_services(db, tmp_path)
        assert InboxWorker(fresh, "next-instance").run_once() == 1
        assert inbound_row(db).status == "done"

    def test_a_turn_that_finishes_within_the_grace_is_stored_not_given_back(self, db, tmp_path):
        engine = ScriptedEngine(delay_s=0.3)
        services = make_services(db, tmp_path, engine=engine,
                                 settings=loop_settings(inbox_workers=1, shutdown_grace_s=5))
        record(db, "粗大ごみ")
        stop = threading.Event()
        threads = start_workers(services, stop)
        wait_until(lambda: engine.calls, 10, "the turn to start")
        stop_gracefully(services, stop, threads)
        assert inbound_row(db).status == "done"
        assert count(db, outbox) == 1

    def test_a_stopping_sender_gives_the_rest_of_its_batch_back(self, db, tmp_path):
        services = make_services(db, tmp_path)
        with db.transaction() as conn:
            for n in range(5):
                enqueue_outbox(conn, OutboundMessage(channel="web", tenant="tokyo", recipient=f"s{n}", text="答え",
                                                     idempotency_key=f"reply:{n}"))
        stop = threading.Event()
        sender = OutboxSender(services, "stopping")
        sender._stop = stop
        delivered = []

        def deliver_then_stop(row):
            delivered.append(row.id)
            stop.set()  # SIGTERM arrives while the first message is being sent
            return True

        sender.deliver = deliver_then_stop
        assert sender.run_once() == 5
        with db.read() as conn:
            rows = conn.execute(select(outbox.c.status, outbox.c.attempts, outbox.c.locked_by)
                                .order_by(outbox.c.id)).all()
        assert len(delivered) == 1
        assert [tuple(r) for r in rows[1:]] == [("pending", 0, None)] * 4
