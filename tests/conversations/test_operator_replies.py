"""send_operator_reply on SQLite and PostgreSQL: one transaction with the claim check; a stale token sends nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from escalation.queue import HeldClaim, StaleClaim
from conversations.operator_replies import ask_for_satisfaction, send_operator_reply
from storage import list_audit, list_messages
from storage.schema import outbox
from tests.escalation.console_support import make_escalation, make_services


@pytest.fixture
def services(db, tmp_path):
    return make_services(db, tmp_path)


def outbox_rows(services):
    with services.db.read() as conn:
        return conn.execute(select(outbox)).all()


def transcript(services, conversation_id):
    with services.db.read() as conn:
        return list_messages(conn, conversation_id)


def test_web_reply_is_appended_for_the_chat_page_to_read(services):
    escalation_id, conversation_id = make_escalation(services)
    claim = services.queue.claim(["tokyo"], "sato")
    message_id = send_operator_reply(services, claim, "  担当の佐藤です。  ")
    last = transcript(services, conversation_id)[-1]
    assert (last.id, last.role, last.text) == (message_id, "operator", "担当の佐藤です。")
    assert last.meta == {"operator": "sato", "escalation_id": escalation_id}
    assert outbox_rows(services) == []
    assert services.queue.get(escalation_id).first_response_at is not None


def test_email_reply_leaves_through_the_outbox_once(services):
    _, conversation_id = make_escalation(services, channel="email", address="taro@example.jp")
    claim = services.queue.claim(["tokyo"], "sato")
    message_id = send_operator_reply(services, claim, "ご連絡ありがとうございます。")
    rows = outbox_rows(services)
    assert [(r.idempotency_key, r.channel, r.recipient, r.conversation_id, r.payload["text"]) for r in rows] == [
        (f"operator:{message_id}", "email", "taro@example.jp", conversation_id, "ご連絡ありがとうございます。")]


def test_stale_token_raises_and_writes_nothing(services):
    escalation_id, conversation_id = make_escalation(services, channel="line", address="U1")
    claim = services.queue.claim(["tokyo"], "sato")
    assert services.queue.transfer(claim, None)
    services.queue.claim(["tokyo"], "tanaka")  # someone else holds it now, with a new token
    before = transcript(services, conversation_id)
    with pytest.raises(StaleClaim):
        send_operator_reply(services, claim, "二重の返信")
    assert transcript(services, conversation_id) == before
    assert outbox_rows(services) == []
    with services.db.read() as conn:
        assert "escalation.reply" not in [r.action for r in list_audit(conn, target=escalation_id)]


def test_a_token_claimed_by_someone_else_is_stale_for_me(services):
    _, conversation_id = make_escalation(services)
    claim = services.queue.claim(["tokyo"], "tanaka")
    with pytest.raises(StaleClaim):
        send_operator_reply(services, HeldClaim(claim.escalation_id, claim.token, "sato"), "なりすまし")
    assert all(m.role != "operator" for m in transcript(services, conversation_id))


@pytest.mark.parametrize("text", ["", "   ", "あ" * 4001])
def test_empty_or_overlong_text_is_refused(services, text):
    make_escalation(services)
    claim = services.queue.claim(["tokyo"], "sato")
    with pytest.raises(ValueError):
        send_operator_reply(services, claim, text)


def test_resolving_asks_the_resident_once_how_it_went(services):
    escalation_id, conversation_id = make_escalation(services, channel="line", address="U1")
    claim = services.queue.claim(["tokyo"], "sato")
    assert services.queue.resolve(claim, "answered by phone")
    message_id = ask_for_satisfaction(services, escalation_id)
    last = transcript(services, conversation_id)[-1]
    assert last.id == message_id and last.meta == {"kind": "satisfaction", "feedback_ref": f"escalation:{escalation_id}"}
    (row,) = outbox_rows(services)
    assert row.idempotency_key == f"satisfaction:{escalation_id}"
    assert row.payload["meta"]["feedback_ref"] == f"escalation:{escalation_id}"  # LINE shows 解決した / 解決しない
    assert ask_for_satisfaction(services, escalation_id) is None and len(outbox_rows(services)) == 1
