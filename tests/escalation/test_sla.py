"""The SLA watcher on SQLite and PostgreSQL: one holding message per overdue hand-over, stale claims re-queued."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from conversations.tell import tell_resident
from madoguchi.background import start_escalation_loops
from escalation.sla import SlaWatcher, holding_text
from storage import list_audit, list_messages, utcnow
from storage.schema import escalations, outbox
from tests.escalation.console_support import make_escalation, make_services

OVERDUE = {"first_response_minutes": -1, "resolution_minutes": 60}


@pytest.fixture
def services(db, tmp_path):
    return make_services(db, tmp_path)


def holding_messages(services, conversation_id):
    with services.db.read() as conn:
        return [m for m in list_messages(conn, conversation_id) if (m.meta or {}).get("kind") == "holding"]


def outbox_rows(services):
    with services.db.read() as conn:
        return conn.execute(select(outbox)).all()


class TestHoldingMessage:
    def test_sent_exactly_once_on_the_web(self, services):
        escalation_id, conversation_id = make_escalation(services, sla=OVERDUE)
        watcher = SlaWatcher(services, tell_resident)
        assert watcher.sweep().holding_sent == [escalation_id]
        assert watcher.sweep().holding_sent == []
        messages = holding_messages(services, conversation_id)
        assert len(messages) == 1 and messages[0].role == "assistant"
        assert "03-5320-7725" in messages[0].text
        assert outbox_rows(services) == []  # the web chat reads the transcript
        with services.db.read() as conn:
            assert [r.action for r in list_audit(conn, target=escalation_id)].count("escalation.holding_sent") == 1

    def test_other_channels_get_it_through_the_outbox_with_a_deterministic_key(self, services):
        escalation_id, _ = make_escalation(services, channel="line", address="U-line-7", sla=OVERDUE)
        SlaWatcher(services, tell_resident).sweep()
        SlaWatcher(services, tell_resident).sweep()
        rows = outbox_rows(services)
        assert [(r.idempotency_key, r.recipient, r.channel) for r in rows] == [
            (f"holding:{escalation_id}", "U-line-7", "line")]

    def test_two_watchers_at_once_still_send_one(self, services):
        escalation_ids = [make_escalation(services, address=f"r{i}", sla=OVERDUE)[0] for i in range(5)]
        watchers = [SlaWatcher(services, tell_resident) for _ in range(4)]
        results: list[list[str]] = []
        start = threading.Barrier(len(watchers))

        def run(watcher):
            start.wait()
            results.append(watcher.sweep().holding_sent)

        threads = [threading.Thread(target=run, args=(w,)) for w in watchers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sent = [eid for result in results for eid in result]
        assert sorted(sent) == sorted(escalation_ids)

    def test_nothing_before_the_deadline_or_once_claimed(self, services):
        make_escalation(services, address="in-time")
        claimed, conversation_id = make_escalation(services, address="claimed", sla=OVERDUE)
        assert services.queue.claim_specific(claimed, "sato")
        assert SlaWatcher(services, tell_resident).sweep().holding_sent == []
        assert holding_messages(services, conversation_id) == []


class TestHoldingText:
    def test_in_office_hours_it_gives_phone_and_hours(self, services):
        text = holding_text(services.tenants["tokyo"], utcnow().replace(year=2026, month=11, day=26, hour=1))
        assert "お待たせして申し訳ありません" in text
        assert "都民の声総合窓口（電話 03-5320-7725、平日 9:00〜17:00）" in text

    def test_outside_office_hours_it_says_when_someone_will_call_back(self, services):
        saturday = utcnow().replace(year=2026, month=11, day=28, hour=3)
        text = holding_text(services.tenants["amagasaki"], saturday)
        assert "受付時間外" in text and "11月30日(月) 9:00以降" in text and "06-6375-5028" in text


class TestStaleClaims:
    def test_a_claim_without_heartbeat_goes_back_to_the_queue(self, services):
        escalation_id, _ = make_escalation(services)
        claim = services.queue.claim(["tokyo"], "sato")
        with services.db.transaction() as conn:
            conn.execute(update(escalations).where(escalations.c.id == escalation_id).values(
                heartbeat_at=utcnow() - timedelta(seconds=120)))
        result = SlaWatcher(services, tell_resident, stale_after_seconds=60).sweep()
        assert result.requeued == 1
        assert services.queue.get(escalation_id).state == "queued"
        assert not services.queue.heartbeat(claim)

    def test_a_live_claim_stays(self, services):
        escalation_id, _ = make_escalation(services)
        services.queue.claim(["tokyo"], "sato")
        assert SlaWatcher(services, tell_resident, stale_after_seconds=60).sweep().requeued == 0
        assert services.queue.get(escalation_id).state == "claimed"


def test_background_loop_sends_and_stops(services, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_SLA_CHECK_SECONDS", "0.05")
    from escalation.settings import get_escalation_settings
    get_escalation_settings.cache_clear()
    try:
        _, conversation_id = make_escalation(services, sla=OVERDUE)
        stop = threading.Event()
        threads = start_escalation_loops(services, stop)
        assert [t.name for t in threads] == ["sla-watcher"]  # no Slack configured: no notifier
        deadline = threading.Event()
        for _ in range(200):
            if holding_messages(services, conversation_id):
                break
            deadline.wait(0.05)
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        assert len(holding_messages(services, conversation_id)) == 1
        assert not any(t.is_alive() for t in threads)
    finally:
        get_escalation_settings.cache_clear()
