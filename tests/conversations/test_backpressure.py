"""Backpressure on SQLite and PostgreSQL: past a tenant's inbox limits, a new resident is told at once that it is busy
(混み合っています, in their language, with the phone number) and their question keeps its place and is answered in
turn; emergencies jump the backlog and are never told to wait; nothing is dropped. Through the real recording path
(conversations.inbox.record_events), the real worker and the real dialogue engine's notice (no index needed)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from config.settings import PROJECT_ROOT, Settings
from config.tenancy import load_tenants
from conversations.backpressure import limits_of, measure
from conversations.inbox import record_events
from conversations.inbox_worker import InboxWorker
from core.messages import InboundEvent
from core.outcomes import Outcome, TurnResult
from dialogue.engine import DialogueEngine
from dialogue.steps.deps import StepDeps
from madoguchi.composition import build_services
from storage import claim_inbound_batch, record_inbound
from storage.schema import inbound_events, messages, outbox

TENANTS_DIR = PROJECT_ROOT / "config" / "tenants"
TOKYO_PHONE = "03-5320-7725"


class NoRetrieval:
    """Stands where the knowledge base would be: a busy notice must never reach retrieval (it is the cheap path)."""

    def __getattr__(self, name):
        raise AssertionError(f"a busy notice used the knowledge base ({name})")


class AnswersEveryQuestion(DialogueEngine):
    """The real engine's notices and greetings; every question answered with one line, so the test can follow the
    question through the inbox without an index."""

    def run_turn(self, tenant, text, memory=None, channel="web"):
        return TurnResult(outcome=Outcome.ANSWERED, answer=f"お答え: {text}", language="ja")


@pytest.fixture
def services(db, tmp_path):
    settings = Settings(data_dir=tmp_path, tenants_dir=TENANTS_DIR)
    deps = StepDeps(kb=NoRetrieval(), classifier=NoRetrieval(), tenants_dir=TENANTS_DIR)
    services = build_services(settings, db=db, engine=AnswersEveryQuestion(settings=settings, deps=deps), channels={})
    limit(services, max_backlog=3)
    return services


def limit(services, **backpressure):
    tokyo = services.tenants["tokyo"]
    services.tenants["tokyo"] = replace(tokyo, raw={**tokyo.raw, "backpressure": backpressure})


def line_message(text, *, sender, external_id=None, channel="line", **meta):
    return InboundEvent(channel=channel, external_id=external_id or f"{sender}-{text}", tenant="tokyo",
                        sender=sender, kind="message", text=text, reply_token=f"rt-{sender}",
                        received_at=datetime.now(timezone.utc), meta=meta)


def backlog(services, count, *, channel="line"):
    """`count` residents' questions already waiting (recorded as the webhook would, before any limit applied)."""
    with services.db.transaction() as conn:
        for i in range(count):
            record_inbound(conn, line_message(f"質問{i}", sender=f"waiting-{i}", channel=channel))


def outbox_rows(services):
    with services.db.read() as conn:
        return conn.execute(select(outbox).order_by(outbox.c.id)).all()


def busy_notices(services):
    return [row for row in outbox_rows(services) if row.idempotency_key.startswith("busy:")]


def transcript(services, sender):
    with services.db.read() as conn:
        rows = conn.execute(select(messages).order_by(messages.c.id)).all()
    mine = {row.conversation_id for row in outbox_rows(services) if row.recipient == sender}
    return [(row.role, row.text) for row in rows if row.conversation_id in mine]


def drain(services):
    worker = InboxWorker(services, "test-worker")
    while worker.run_once():
        pass


class TestWhenTheInboxIsPastItsLimits:
    def test_a_new_resident_is_told_at_once_with_the_phone_number_and_the_question_keeps_its_place(self, services):
        backlog(services, 4)
        assert record_events(services, [line_message("粗大ごみの出し方を教えて", sender="U-new")]) == [True]
        (notice,) = busy_notices(services)
        assert "混み合っています" in notice.payload["text"] and TOKYO_PHONE in notice.payload["text"]
        assert notice.recipient == "U-new" and notice.payload["reply_token"] == "rt-U-new" and notice.status == "pending"
        with services.db.read() as conn:
            waiting = conn.execute(select(inbound_events.c.status).where(
                inbound_events.c.external_id == "U-new-粗大ごみの出し方を教えて")).scalar_one()
        assert waiting == "received"  # still in the inbox, to be answered in turn

    def test_the_question_is_answered_later_in_order_and_stored_once(self, services):
        backlog(services, 4)
        record_events(services, [line_message("粗大ごみの出し方を教えて", sender="U-new")])
        drain(services)
        roles = transcript(services, "U-new")
        assert [role for role, _ in roles] == ["resident", "assistant", "assistant"]
        assert roles[0][1] == "粗大ごみの出し方を教えて"
        assert "混み合っています" in roles[1][1] and roles[2][1] == "お答え: 粗大ごみの出し方を教えて"
        replies = [row for row in outbox_rows(services) if row.recipient == "U-new"]
        assert [row.idempotency_key.split(":")[0] for row in replies] == ["busy", "reply"]
        with services.db.read() as conn:
            statuses = conn.execute(select(inbound_events.c.status)).scalars().all()
        assert set(statuses) == {"done"} and len(statuses) == 5  # the backlog and the new question: none dropped

    @pytest.mark.parametrize("text, words", [
        ("How do I dispose of a sofa?", ["very busy", "If it is urgent, please call"]),
        ("请问粗大垃圾怎么处理？", ["咨询量很大", "请致电"]),
        ("대형 쓰레기는 어떻게 버리나요?", ["혼잡합니다", "전화해 주십시오"]),
    ])
    def test_the_notice_is_in_the_residents_language(self, services, text, words):
        backlog(services, 4)
        record_events(services, [line_message(text, sender="U-abroad")])
        (notice,) = busy_notices(services)
        assert all(word in notice.payload["text"] for word in words) and TOKYO_PHONE in notice.payload["text"]

    def test_an_emergency_gets_no_notice_and_is_taken_before_the_backlog(self, services):
        backlog(services, 4)
        record_events(services, [line_message("家が火事です、助けて", sender="U-fire")])
        assert busy_notices(services) == []
        with services.db.transaction() as conn:
            (first,) = claim_inbound_batch(conn, "test-worker", lease_seconds=60, limit=1)
        assert first.payload["sender"] == "U-fire" and first.priority > 0

    def test_the_wait_limit_counts_the_longest_waiting_question(self, services):
        limit(services, max_wait_s=120)
        backlog(services, 1)
        record_events(services, [line_message("一つ目", sender="U-early")])
        assert busy_notices(services) == []  # one question waiting a moment: under the limit
        with services.db.transaction() as conn:
            conn.execute(update(inbound_events).values(
                received_at=datetime.now(timezone.utc) - timedelta(minutes=4, seconds=30)))
        record_events(services, [line_message("二つ目", sender="U-late")])
        (notice,) = busy_notices(services)
        assert notice.recipient == "U-late" and "5分ほど" in notice.payload["text"]

    def test_a_deferred_question_waits_by_design_and_does_not_count_as_the_wait(self, services):
        limit(services, max_wait_s=120)
        backlog(services, 1)
        later = datetime.now(timezone.utc) + timedelta(seconds=30)
        with services.db.transaction() as conn:
            conn.execute(update(inbound_events).values(
                received_at=datetime.now(timezone.utc) - timedelta(minutes=5), locked_until=later))
        record_events(services, [line_message("質問", sender="U-new")])
        assert busy_notices(services) == []


class TestWhoIsTold:
    def test_under_the_limits_nobody_is_told(self, services):
        backlog(services, 2)
        record_events(services, [line_message("粗大ごみの出し方を教えて", sender="U-new")])
        assert busy_notices(services) == []

    def test_a_tenant_without_limits_never_tells(self, services):
        limit(services)
        backlog(services, 50)
        record_events(services, [line_message("粗大ごみの出し方を教えて", sender="U-new")])
        assert busy_notices(services) == [] and not limits_of(services.tenant("tokyo")).any

    def test_a_resident_already_in_a_conversation_is_not_told_again(self, services):
        backlog(services, 4)
        record_events(services, [line_message("一つ目", sender="U-new"), line_message("二つ目", sender="U-new")])
        record_events(services, [line_message("三つ目", sender="U-new")])
        assert len(busy_notices(services)) == 1

    def test_a_resident_whose_first_message_still_waits_is_not_told_on_the_second(self, services):
        # The first message came in under the limits; the inbox passed them before its turn ran (so no conversation
        # is open yet). A notice now would reach the resident before the answer to their first message.
        backlog(services, 3)
        record_events(services, [line_message("一つ目", sender="U-early")])
        backlog(services, 1)
        record_events(services, [line_message("二つ目", sender="U-early")])
        assert busy_notices(services) == []
        drain(services)
        assert [text for _, text in transcript(services, "U-early")] == ["一つ目", "お答え: 一つ目", "二つ目",
                                                                         "お答え: 二つ目"]

    def test_a_redelivered_event_is_not_told_twice(self, services):
        backlog(services, 4)
        event = line_message("粗大ごみの出し方を教えて", sender="U-new", external_id="line-event-1")
        assert record_events(services, [event]) == [True]
        assert record_events(services, [event]) == [False]
        assert len(busy_notices(services)) == 1

    def test_mail_that_must_not_be_answered_is_not_told(self, services):
        backlog(services, 4, channel="email")
        record_events(services, [line_message("Out of office", sender="robot@example.jp", channel="email",
                                              do_not_answer=True)])
        assert busy_notices(services) == []

    def test_the_web_chat_answers_within_its_own_request_and_is_not_told(self, services):
        backlog(services, 4, channel="web")
        record_events(services, [line_message("質問", sender="web-session", channel="web")])
        assert busy_notices(services) == []


def test_the_measure_counts_only_up_to_just_past_the_limit(services):
    backlog(services, 10)
    with services.db.read() as conn:
        pressure = measure(conn, services.tenant("tokyo"))
    assert pressure.backlog == 4 and pressure.passed == "backlog"  # stops counting at max_backlog + 1
