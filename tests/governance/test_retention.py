"""Conversations past the tenant's retention period are erased; a resident's deletion request is honoured."""
from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from governance import retention
from madoguchi.api.residents import new_resident_token, sender_for
from storage import append_message, list_audit, list_messages, open_conversation, utcnow
from storage.schema import conversations, turns
from tests.governance.seeding import seed_run


def _age(services, conversation_id: str, days: float) -> None:
    with services.db.transaction() as conn:
        conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(
            last_activity_at=utcnow() - timedelta(days=days)))


def test_run_erases_only_conversations_past_the_retention_period(services) -> None:
    run = seed_run(services)
    old, recent = run.conversations[0], run.conversations[1]
    _age(services, old, 91)  # tokyo keeps 90 days
    _age(services, recent, 89)
    assert retention.run(services) == {"amagasaki": 0, "tokyo": 1}
    with services.db.read() as conn:
        erased = conn.execute(select(conversations).where(conversations.c.id == old)).first()
        kept = list_messages(conn, recent)
        assert erased.deleted and erased.state == "closed"
        assert {m.text for m in list_messages(conn, old)} == {"[erased]"}
        assert all(m.text != "[erased]" for m in kept)
        # The skeleton stays for the statistics; the question text goes.
        turn = conn.execute(select(turns).where(turns.c.conversation_id == old)).first()
        assert turn.outcome in ("answered", "clarify") and turn.redacted_question is None
        (entry,) = [row for row in list_audit(conn, tenants=["tokyo"]) if row.action == "retention.erase"]
        assert entry.detail["erased"] == 1 and entry.detail["retention_days"] == 90
    assert retention.run(services) == {"amagasaki": 0, "tokyo": 0}  # nothing twice


def test_background_loop_runs_at_once_and_stops(services) -> None:
    import threading

    run = seed_run(services)
    _age(services, run.conversations[2], 200)
    stop = threading.Event()
    thread = retention.start_retention_loop(services, stop, every_seconds=3600)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    with services.db.read() as conn:
        assert conn.execute(select(conversations.c.deleted).where(
            conversations.c.id == run.conversations[2])).scalar_one()


def _web_conversation(services, token: str) -> str:
    with services.db.transaction() as conn:
        conversation = open_conversation(conn, tenant="tokyo", channel="web",
                                         resident_address=sender_for(token, services.settings.secret_key))
        append_message(conn, conversation_id=conversation.id, tenant="tokyo", role="resident",
                       text="私の電話は090-1111-2222です")
    return conversation.id


def test_a_resident_erases_their_own_conversation(services) -> None:
    from madoguchi.app import create_app

    token, stranger = new_resident_token(), new_resident_token()
    conversation_id = _web_conversation(services, token)
    client = TestClient(create_app(services, start_background=False))
    path = f"/api/v1/t/tokyo/conversations/{conversation_id}"
    assert client.delete(path).status_code == 401
    assert client.delete(path, headers={"X-Resident-Token": stranger}).status_code == 404
    assert client.delete(f"/api/v1/t/amagasaki/conversations/{conversation_id}",
                         headers={"X-Resident-Token": token}).status_code == 404
    assert client.delete(path, headers={"X-Resident-Token": token}).status_code == 204
    with services.db.read() as conn:
        assert [m.text for m in list_messages(conn, conversation_id)] == ["[erased]"]
        (entry,) = [row for row in list_audit(conn, target=conversation_id) if row.action == "conversation.erase"]
        assert entry.actor == "resident"
    assert client.delete(path, headers={"X-Resident-Token": token}).status_code == 404
