"""Erasure and retention cover every table that holds a resident's words (issue 14 item 2), on SQLite and
PostgreSQL. The tables are enumerated from the schema: a new table fails the first test until someone decides what
erasure does with it, and the second test looks for the resident's words in every column of every table.

The probe: a message sent while an operator held the conversation kept its raw text (an e-mail address, a street
address) in inbound_events.payload after DELETE … returned 204, and retention ran the same code.
"""
from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import update

from channels.email import EmailAdapter
from channels.email.adapter import SmtpSettings
from conversations.inbox import record_events
from conversations.inbox_worker import InboxWorker
from conversations.operator_replies import send_operator_reply
from core.messages import InboundEvent
from governance import retention
from storage import add_note, utcnow
from storage.schema import conversations, inbound_events, metadata
from tests.channels.wiring import tenant_channels
from tests.escalation.console_support import make_services
from tests.storage.every_column import where_found

# What erasure does with each table. Every table of the schema must be here.
ERASED = "erased: the conversation's rows lose every text the resident gave"
NO_RESIDENT_WORDS = "holds no resident's words"
KEPT_REDACTED = "kept: append-only, redacted text and ids only (no raw personal data)"
STAFF_CONTENT = "kept: a reviewer's redacted copy of a question, the city's own content from then on"
TABLES = {
    "conversations": ERASED, "messages": ERASED, "inbound_events": ERASED, "turns": ERASED, "outbox": ERASED,
    "escalations": ERASED, "feedback": ERASED, "operator_notes": ERASED,
    "audit_log": KEPT_REDACTED, "curated_answers": STAFF_CONTENT,
    "operators": NO_RESIDENT_WORDS, "operator_tenants": NO_RESIDENT_WORDS, "staff_sessions": NO_RESIDENT_WORDS,
    "sign_in_failures": NO_RESIDENT_WORDS, "outdated_documents": NO_RESIDENT_WORDS,
    "review_decisions": NO_RESIDENT_WORDS, "kill_switches": NO_RESIDENT_WORDS, "rate_limit_counts": NO_RESIDENT_WORDS,
    "index_versions": NO_RESIDENT_WORDS,
}
MARKER = "ZQX合言葉"  # a word only this resident wrote: redaction keeps it, erasure must not
EMAIL = "taro.yamada@example.jp"
ADDRESS = "世田谷区太子堂1丁目2番3号"
PHONE = "090-4321-8765"
RAW = (EMAIL, ADDRESS, PHONE)
CITY = "info@city.tokyo.example.jp"


def test_every_table_of_the_schema_has_an_erasure_decision():
    assert set(TABLES) == set(metadata.tables), "a table was added or removed: decide what erasure does with it"


def _mail(text: str, n: int) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"山田太郎 <{EMAIL}>", CITY, f"ごみの相談 {MARKER}"
    mail["Message-ID"] = f"<erasure-{n}@example.jp>"
    mail.set_content(f"{text}\n{MARKER} 住所は{ADDRESS}、電話は{PHONE}、メールは{EMAIL}です。\n")
    return mail.as_bytes()


def _deliver(services: Any, adapter: EmailAdapter, raw: bytes) -> None:
    record_events(services, adapter.parse(raw, {}))
    while InboxWorker(services, "erasure-test").run_once():
        pass


@pytest.fixture
def seeded(db, tmp_path):
    """One resident's e-mail conversation through the real durable path: a hand-over (the escalation keeps the whole
    mail), the operator's reply, a second mail while the operator holds it (no turn), a note, feedback with a
    comment, the resolution — every place a resident's words can land."""
    services = make_services(db, tmp_path)
    adapter = EmailAdapter("tokyo", CITY, SmtpSettings(host="127.0.0.1"))
    services.channels = {"tokyo": tenant_channels("tokyo", {"email": adapter})}
    _deliver(services, adapter, _mail("担当者と話したいです。", 1))
    claim = services.queue.claim(["tokyo"], "sato")
    send_operator_reply(services, claim, f"承知しました（{MARKER} の件）。")
    _deliver(services, adapter, _mail("追加で相談があります。", 2))
    with services.db.transaction() as conn:
        add_note(conn, tenant="tokyo", escalation_id=claim.escalation_id, operator="sato",
                 text=f"住民は {MARKER} と書いている")
    feedback = InboundEvent(channel="email", external_id="feedback-1", tenant="tokyo", sender=EMAIL,
                            kind="feedback", meta={"helpful": False, "ref": f"escalation:{claim.escalation_id}",
                                                   "comment": f"{MARKER} {PHONE} に電話がほしい"})
    record_events(services, [feedback])
    while InboxWorker(services, "erasure-test").run_once():
        pass
    assert services.queue.resolve(claim, f"{MARKER} について電話で案内済み")
    return services, claim.conversation_id




def test_the_seeded_conversation_really_spreads_the_residents_words(seeded):
    """The scenario is worth something only if every erased table held the words before."""
    services, _ = seeded
    before = where_found(services.db, (MARKER, *RAW))
    for table in ("messages", "inbound_events", "outbox", "escalations", "feedback", "operator_notes",
                  "conversations"):
        assert table in before, f"the scenario put nothing into {table}"
    assert "payload" in before["inbound_events"] and "meta" in before["escalations"]


def test_erasure_on_request_leaves_no_word_of_the_resident_in_any_table(seeded):
    services, conversation_id = seeded
    assert retention.erase_on_request(services, "tokyo", conversation_id)
    _assert_erased(services)


def test_retention_erases_the_same_everywhere(seeded):
    services, conversation_id = seeded
    with services.db.transaction() as conn:
        conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(
            last_activity_at=utcnow() - timedelta(days=400)))
    assert retention.run(services)["tokyo"] == 1
    _assert_erased(services)


def _assert_erased(services: Any) -> None:
    raw_left = where_found(services.db, RAW)
    assert raw_left == {}, f"raw personal data left after erasure: {raw_left}"
    words_left = where_found(services.db, (MARKER,))
    kept = {table for table, decision in TABLES.items() if decision != ERASED}
    assert set(words_left) <= kept, f"the resident's words left in {set(words_left) - kept}"


def test_retention_empties_events_that_never_joined_a_conversation(db, tmp_path):
    """An unfollow or a status callback makes no conversation, but its payload still names the resident."""
    services = make_services(db, tmp_path)
    event = InboundEvent(channel="line", external_id="unfollow-1", tenant="tokyo", sender=f"U-{MARKER}",
                         kind="unfollow")
    record_events(services, [event])
    while InboxWorker(services, "retention-test").run_once():
        pass
    with services.db.transaction() as conn:
        conn.execute(update(inbound_events).values(received_at=utcnow() - timedelta(days=400)))
    retention.run(services)
    assert where_found(services.db, (MARKER,)) == {}
