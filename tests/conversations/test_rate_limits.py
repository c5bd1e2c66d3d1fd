"""Rate limits on SQLite and PostgreSQL: the sliding-window count, one limit shared by every instance, refused hits
not counted, tenant overrides; and on signed-webhook channels, a resident past the limit is recorded then deferred
(answered later, in order, no attempt spent) while other residents go on."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from config.settings import Settings
from conversations.inbox_worker import InboxWorker
from conversations.rate_limits import RESIDENT, hit, limits_for, prune
from core.messages import InboundEvent
from madoguchi.composition import build_services
from storage import Database, record_inbound
from storage.schema import inbound_events, rate_limit_counts, turns
from tests.channels.standins import ScriptedEngine

T0 = datetime(2026, 12, 1, 3, 0, 0, tzinfo=timezone.utc)  # the start of a minute


def hits(db, n, *, at, who="U1", per_minute=15, tenant="tokyo"):
    decisions = []
    for _ in range(n):
        with db.transaction() as conn:
            decisions.append(hit(conn, RESIDENT, tenant=tenant, who=who, per_minute=per_minute, now=at))
    return decisions


class TestTheCount:
    def test_fifteen_a_minute_pass_the_sixteenth_is_refused_with_a_wait(self, db):
        decisions = hits(db, 16, at=T0 + timedelta(seconds=10))
        assert all(d.allowed for d in decisions[:15]) and not decisions[15].allowed
        # the next minute, with these 15 weighing 1 − t: one more fits once 1 + 15·(1 − t) ≤ 15, 4 s into it
        assert decisions[15].retry_at == T0 + timedelta(seconds=64) and decisions[15].retry_after_s == 54

    def test_a_refused_hit_is_not_counted(self, db):
        hits(db, 25, at=T0 + timedelta(seconds=10))
        with db.read() as conn:
            assert conn.execute(select(func.sum(rate_limit_counts.c.hits))).scalar_one() == 15

    def test_the_previous_minute_weighs_in_as_it_slides_out(self, db):
        hits(db, 15, at=T0 + timedelta(seconds=50))
        # 30 s into the next minute half of the previous one still counts: 7.5 + 7 = 14.5 fit, the 8th does not
        later = hits(db, 8, at=T0 + timedelta(seconds=90))
        assert [d.allowed for d in later] == [True] * 7 + [False]
        assert later[-1].retry_after_s >= 1
        # a minute on, the previous minute's weight is nearly gone
        assert all(d.allowed for d in hits(db, 14, at=T0 + timedelta(seconds=175)))

    def test_the_wait_is_enough(self, db):
        refused = hits(db, 16, at=T0 + timedelta(seconds=20))[-1]
        retry_at = T0 + timedelta(seconds=20 + refused.retry_after_s)
        assert hits(db, 1, at=retry_at)[0].allowed

    def test_residents_tenants_and_scopes_are_counted_apart(self, db):
        hits(db, 15, at=T0)
        assert hits(db, 1, at=T0, who="U2")[0].allowed
        assert hits(db, 1, at=T0, tenant="amagasaki")[0].allowed
        assert not hits(db, 1, at=T0)[0].allowed

    def test_every_instance_counts_against_one_limit(self, db):
        other_instance = Database(str(db.engine.url.render_as_string(hide_password=False)),
                                  schema=getattr(db, "schema", None))
        try:
            hits(db, 8, at=T0)
            decisions = hits(other_instance, 8, at=T0)
        finally:
            other_instance.dispose()
        assert [d.allowed for d in decisions] == [True] * 7 + [False]

    def test_a_limit_of_zero_is_no_limit_and_old_windows_are_pruned(self, db):
        assert all(d.allowed for d in hits(db, 30, at=T0, per_minute=0))
        hits(db, 3, at=T0)
        with db.transaction() as conn:
            assert prune(conn, now=T0 + timedelta(minutes=5)) == 1


def test_a_tenant_sets_its_own_limits(monkeypatch):
    monkeypatch.setenv("MADOGUCHI_RATE_LIMIT_ADDRESS_PER_MINUTE", "100")
    limits = limits_for({"rate_limits": {"resident_per_minute": 5, "not_a_limit": 9}})
    assert (limits.resident_per_minute, limits.address_per_minute) == (5, 100)


class TestDeferredNeverLost:
    @pytest.fixture
    def services(self, db, tmp_path):
        services = build_services(Settings(data_dir=tmp_path), db=db, engine=ScriptedEngine(), channels={})
        tokyo = services.tenants["tokyo"]
        limited = replace(tokyo, raw={**tokyo.raw, "rate_limits": {"resident_per_minute": 3}})
        services.tenants = {**services.tenants, "tokyo": limited}  # a copy: the loaded tenants are shared
        return services

    def record(self, services, sender, n, channel="line"):
        with services.db.transaction() as conn:
            for i in range(n):
                record_inbound(conn, InboundEvent(
                    channel=channel, external_id=f"{sender}-{i}", tenant="tokyo", sender=sender, kind="message",
                    text=f"質問{i}", received_at=datetime.now(timezone.utc)))

    def drain(self, services):
        worker = InboxWorker(services, "inbox-test")
        while worker.run_once():
            pass

    def answered(self, services, sender):
        with services.db.read() as conn:
            rows = conn.execute(select(inbound_events.c.external_id).join(turns, turns.c.inbound_event_id ==
                                                                            inbound_events.c.id)
                                .where(inbound_events.c.external_id.like(f"{sender}-%"))
                                .order_by(turns.c.created_at)).scalars().all()
        return list(rows)

    def test_a_resident_past_the_limit_waits_and_is_answered_later_in_order(self, services):
        self.record(services, "U1", 5)
        self.record(services, "U2", 2)
        self.drain(services)
        assert self.answered(services, "U1") == ["U1-0", "U1-1", "U1-2"]
        assert self.answered(services, "U2") == ["U2-0", "U2-1"]  # others are not held up
        with services.db.read() as conn:
            waiting = conn.execute(select(inbound_events).where(inbound_events.c.status == "received")
                                   .order_by(inbound_events.c.id)).all()
        assert [w.external_id for w in waiting] == ["U1-3", "U1-4"] and all(w.attempts == 0 for w in waiting)
        # the first past the limit is deferred; the inbox takes the next only after it (one resident, in order)
        assert waiting[0].locked_until > datetime.now(timezone.utc)
        assert waiting[1].locked_until is None or waiting[1].locked_until >= waiting[0].locked_until
        # the window moves on (its counters age out) and the lease time comes: the rest is answered, in order
        with services.db.transaction() as conn:
            conn.execute(rate_limit_counts.delete())
            conn.execute(inbound_events.update().where(inbound_events.c.status == "received")
                         .values(locked_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
        self.drain(services)
        assert self.answered(services, "U1") == ["U1-0", "U1-1", "U1-2", "U1-3", "U1-4"]

    def test_deferring_again_and_again_never_fails_the_event(self, services):
        self.record(services, "U1", 4)
        for _ in range(10):  # far more than the inbox's attempt cap
            self.drain(services)
            with services.db.transaction() as conn:
                conn.execute(inbound_events.update().where(inbound_events.c.status == "received")
                             .values(locked_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
        with services.db.read() as conn:
            last = conn.execute(select(inbound_events).where(inbound_events.c.external_id == "U1-3")).one()
        assert last.status == "received" and last.attempts == 0

    def test_the_web_chat_and_the_phone_are_not_deferred_by_the_worker(self, services):
        self.record(services, "web-1", 5, channel="web")
        self.record(services, "+8190", 5, channel="voice")
        self.drain(services)
        with services.db.read() as conn:
            assert conn.execute(select(func.count()).select_from(turns)).scalar_one() == 10
