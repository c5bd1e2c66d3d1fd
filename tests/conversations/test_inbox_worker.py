"""The inbox worker and the outbox sender on real databases: each event's turn once, retries, sending rules."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from core.messages import InboundEvent, OutboundMessage
from channels.line import LineAdapter
from channels.email import EmailAdapter
from conversations.outbox_sender import OutboxSender, is_permanent
from conversations.inbox import record_events
from conversations.inbox_worker import InboxWorker
from storage import enqueue_outbox, record_inbound
from storage.schema import inbound_events
from storage.testing import postgres_unavailable, temporary_database
from tests.channels.fakes import FakeLineApi, Reply
from tests.channels.standins import ScriptedEngine
from tests.channels.wiring import (
    LINE_SECRET, LINE_TOKEN, count, counts, make_services, outbox_rows, tenant_channels, wait_until,
)


def line_event(n: int, user: str | None = None) -> InboundEvent:
    return InboundEvent(channel="line", external_id=f"ev-{n}", tenant="tokyo", sender=user or f"U{n}",
                        text=f"粗大ごみ {n}", reply_token=f"rt-{n}")


def record(db, events) -> None:
    with db.transaction() as conn:
        for event in events:
            record_inbound(conn, event)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "postgresql" and (reason := postgres_unavailable()):
        pytest.skip(reason)
    with temporary_database(request.param, tmp_path) as database:
        yield database


class TestInboxWorker:
    def test_concurrent_workers_run_each_turn_exactly_once(self, db, tmp_path):
        engine = ScriptedEngine()
        services = make_services(db, tmp_path, engine=engine)
        record(db, [line_event(n) for n in range(120)])
        stop = threading.Event()
        workers = [InboxWorker(services, f"w{i}") for i in range(6)]
        threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: count(db, inbound_events, inbound_events.c.status == "done") == 120, 60,
                       "all events done")
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
        assert counts(db) == {"inbound": 120, "turns": 120, "outbox": 120, "escalations": 0}
        assert sorted(engine.calls) == sorted(f"粗大ごみ {n}" for n in range(120))

    def test_a_failure_gives_the_event_back_with_the_error(self, db, tmp_path):
        def broken(services, row):
            raise RuntimeError("index missing")

        services = make_services(db, tmp_path)
        record(db, [line_event(1)])
        assert InboxWorker(services, "w", process=broken).run_once() == 1
        with db.read() as conn:
            row = conn.execute(select(inbound_events)).one()
        assert row.status == "received" and "index missing" in row.last_error and row.locked_until is not None
        assert InboxWorker(services, "w").run_once() == 0  # not before its retry time

    def test_an_idle_worker_wakes_when_nudged(self, db, tmp_path):
        services = make_services(db, tmp_path)
        runtime = services.runtime
        runtime.settings.worker_poll_s = 3600  # only the nudge can wake it within the test
        stop = threading.Event()
        thread = threading.Thread(target=InboxWorker(services, "w").run, args=(stop,))
        thread.start()
        try:
            record(db, [line_event(1)])
            runtime.nudge_worker()
            wait_until(lambda: counts(db)["turns"] == 1, 10, "the nudged turn")
        finally:
            stop.set()
            runtime.nudge_worker()
            thread.join(timeout=10)


def test_a_worker_in_another_process_is_woken_by_postgres_notify(tmp_path):
    if reason := postgres_unavailable():
        pytest.skip(reason)
    from conversations.inbox import record_events
    from conversations.inbox_worker import start_workers

    with temporary_database("postgresql", tmp_path) as db:
        web = make_services(db, tmp_path)  # records, with no worker of its own
        elsewhere = make_services(db, tmp_path)  # another runtime: only a NOTIFY can wake it in time
        elsewhere.runtime.settings.worker_poll_s = 3600
        stop = threading.Event()
        threads = start_workers(elsewhere, stop, 1)
        try:
            wait_until(elsewhere.runtime.inbox_listening.is_set, 10, "LISTEN")
            record_events(web, [line_event(1)])
            wait_until(lambda: counts(db)["turns"] == 1, 10, "the turn in the other process")
        finally:
            stop.set()
            elsewhere.runtime.nudge_worker()
            for thread in threads:
                thread.join(timeout=10)


class UnevenEngine(ScriptedEngine):
    """Some turns take much longer than others (a long question, a busy core): the case in which two workers used
    to answer a resident's second message before the first."""

    def run_turn(self, tenant, text, memory=None, channel="web"):
        time.sleep(0.06 if text.endswith("#0") else 0.002)
        return super().run_turn(tenant, text, memory, channel)


class TestResidentOrder:
    def test_two_workers_answer_each_residents_quick_messages_in_order(self, db, tmp_path):
        engine = UnevenEngine()
        services = make_services(db, tmp_path, engine=engine)
        residents, per_resident = 12, 4
        record(db, [InboundEvent(channel="line", external_id=f"{r}-{n}", tenant="tokyo", sender=f"U{r}",
                                 text=f"質問 U{r} #{n}", reply_token=f"rt-{r}-{n}")
                    for r in range(residents) for n in range(per_resident)])
        stop = threading.Event()
        threads = [threading.Thread(target=InboxWorker(services, f"w{i}").run, args=(stop,)) for i in range(2)]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: count(db, inbound_events, inbound_events.c.status == "done") == residents * per_resident,
                       60, "all events done")
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
        for r in range(residents):
            asked = [int(text.rsplit("#", 1)[1]) for text in engine.calls if f"U{r} #" in text]
            assert asked == list(range(per_resident)), f"U{r} answered in the order {asked}"
            replies = [row.payload["text"] for row in outbox_rows(db) if row.recipient == f"U{r}"]
            assert [int(t.split("#", 1)[1].split("」")[0]) for t in replies] == list(range(per_resident))


    def test_an_emergency_is_recorded_ahead_of_the_backlog(self, db, tmp_path):
        services = make_services(db, tmp_path)
        events = [InboundEvent(channel="line", external_id=f"q-{n}", tenant="tokyo", sender=f"U{n}",
                               text="粗大ごみの出し方") for n in range(3)]
        events.append(InboundEvent(channel="line", external_id="fire", tenant="tokyo", sender="Uf",
                                   text="家が火事です、助けて"))
        record_events(services, events)
        with db.read() as conn:
            priorities = dict(conn.execute(select(inbound_events.c.external_id, inbound_events.c.priority)).all())
        assert priorities == {"q-0": 0, "q-1": 0, "q-2": 0, "fire": 2}
        InboxWorker(services, "w").run_once()
        with db.read() as conn:
            done = conn.execute(select(inbound_events.c.external_id).where(inbound_events.c.status == "done"))
            assert done.scalars().all() == ["fire"]


class TestOutboxSender:
    @pytest.fixture
    def line_api(self):
        with FakeLineApi(LINE_TOKEN) as fake:
            yield fake

    def services(self, db, tmp_path, line_api):
        adapter = LineAdapter("tokyo", LINE_SECRET, LINE_TOKEN, api_host=line_api.url)
        return make_services(db, tmp_path, channels={"tokyo": tenant_channels("tokyo", {"line": adapter})})

    def enqueue(self, db, **fields) -> None:
        values = {"channel": "line", "tenant": "tokyo", "recipient": "U1", "text": "こんにちは",
                  "idempotency_key": "k1", **fields}
        with db.transaction() as conn:
            enqueue_outbox(conn, OutboundMessage(**values))

    def test_web_rows_and_spoken_call_replies_are_marked_sent_without_a_provider(self, db, tmp_path, line_api):
        services = self.services(db, tmp_path, line_api)
        self.enqueue(db, channel="web", idempotency_key="w1")
        self.enqueue(db, channel="voice", idempotency_key="v1")
        assert OutboxSender(services, "s").run_once() == 2
        assert [r.status for r in outbox_rows(db)] == ["sent", "sent"] and line_api.calls == []

    def test_a_channel_that_is_off_fails_for_good(self, db, tmp_path, line_api):
        services = self.services(db, tmp_path, line_api)
        self.enqueue(db, channel="email", recipient="a@example.jp")
        OutboxSender(services, "s").run_once()
        (row,) = outbox_rows(db)
        assert row.status == "failed" and "off for tenant tokyo" in row.last_error

    def test_a_provider_outage_is_retried_later(self, db, tmp_path, line_api):
        services = self.services(db, tmp_path, line_api)
        line_api.handle = lambda call: Reply(503, {"message": "unavailable"})
        self.enqueue(db)
        OutboxSender(services, "s").run_once()
        (row,) = outbox_rows(db)
        assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > row.created_at

    def test_a_wrong_access_token_is_permanent(self, db, tmp_path, line_api):
        services = self.services(db, tmp_path, line_api)
        line_api.access_token = "rotated"
        self.enqueue(db)
        OutboxSender(services, "s").run_once()
        assert outbox_rows(db)[0].status == "failed"

    def test_a_reply_takes_its_reply_token_from_the_inbound_event(self, db, tmp_path, line_api):
        services = self.services(db, tmp_path, line_api)
        token = line_api.issue_reply_token()
        record(db, [InboundEvent(channel="line", external_id="e1", tenant="tokyo", sender="U1", text="q",
                                 reply_token=token)])
        with db.read() as conn:
            inbound_id = conn.execute(select(inbound_events.c.id)).scalar_one()
        self.enqueue(db, idempotency_key=f"reply:{inbound_id}")
        OutboxSender(services, "s").run_once()
        assert line_api.delivered[0]["replyToken"] == token


def test_reply_context_for_email_threads_and_quotes():
    message = OutboundMessage(channel="email", tenant="t", recipient="a@x.jp", text="答え", idempotency_key="reply:1")
    event = {"text": "質問", "meta": {"subject": "件名", "message_id": "<m@x>", "references": ["<r@x>"],
                                    "reply_to": "b@x.jp"}}
    filled = EmailAdapter.with_reply_context(message, event)
    assert filled.recipient == "b@x.jp"
    assert filled.meta == {"subject": "件名", "in_reply_to": "<m@x>", "references": ["<r@x>"], "quote": "質問"}


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (401, True), (409, False), (429, False),
                                                   (500, False), (None, False)])
def test_which_provider_errors_are_permanent(status, permanent):
    error = RuntimeError("x")
    error.status = status
    assert is_permanent(error) is permanent
