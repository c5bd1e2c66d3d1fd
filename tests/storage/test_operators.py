"""Operators, their tenants, notes and the audit log."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from storage import (
    Database, add_note, append_audit, create_operator, get_operator, get_operator_by_id,
    get_operator_by_slack_user, list_audit, list_notes, list_operators, open_conversation, operator_tenant_ids,
    set_operator_tenants, update_operator,
)
from storage.schema import escalations
from storage.types import utcnow


def make_operator(db: Database, username: str = "sato", **options) -> int:
    with db.transaction() as conn:
        return create_operator(conn, username=username, password_hash="pbkdf2$...", display_name="佐藤",
                               **{"tenants": ["tokyo"], **options})


def test_an_operator_is_scoped_to_its_tenants(db: Database) -> None:
    operator_id = make_operator(db, tenants=["tokyo", "amagasaki"], slack_user_id="U0SATO")
    make_operator(db, username="tanaka", tenants=["amagasaki"])
    with db.transaction() as conn:
        assert operator_tenant_ids(conn, operator_id) == ["amagasaki", "tokyo"]
        set_operator_tenants(conn, operator_id, ["tokyo"])
        assert operator_tenant_ids(conn, operator_id) == ["tokyo"]
        assert [o.username for o in list_operators(conn, tenant="amagasaki")] == ["tanaka"]
        assert get_operator(conn, "sato").display_name == "佐藤"
        assert get_operator_by_slack_user(conn, "U0SATO").id == operator_id


def test_usernames_are_unique_and_roles_checked(db: Database) -> None:
    make_operator(db)
    with pytest.raises(IntegrityError):
        make_operator(db)
    with pytest.raises(ValueError):
        make_operator(db, username="root", role="superuser")


def test_an_operator_can_be_updated_and_deactivated(db: Database) -> None:
    operator_id = make_operator(db, slack_user_id="U0SATO", role="supervisor")
    with db.transaction() as conn:
        assert update_operator(conn, operator_id, active=False, role="admin")
        assert get_operator_by_slack_user(conn, "U0SATO") is None  # an inactive operator cannot claim from Slack
        assert get_operator_by_id(conn, operator_id).role == "admin"
        with pytest.raises(ValueError):
            update_operator(conn, operator_id, username="someone")


def test_notes_belong_to_an_escalation(db: Database) -> None:
    with db.transaction() as conn:
        conversation = open_conversation(conn, tenant="tokyo", channel="web", resident_address="s-1")
        conn.execute(escalations.insert().values(
            id="e-1", tenant="tokyo", conversation_id=conversation.id, reason="requested", priority=20,
            state="queued", created_at=utcnow(), updated_at=utcnow()))
        add_note(conn, tenant="tokyo", escalation_id="e-1", operator="sato", text="折り返し電話を希望")
        add_note(conn, tenant="tokyo", escalation_id="e-1", operator="sato", text="区役所に確認済み")
        assert [n.text for n in list_notes(conn, "e-1")] == ["折り返し電話を希望", "区役所に確認済み"]


def test_the_audit_log_reads_newest_first_per_tenant(db: Database) -> None:
    with db.transaction() as conn:
        for n in range(5):
            append_audit(conn, actor="sato", action="escalation.claim", tenant="tokyo", target=f"e-{n}",
                         detail={"priority": n})
        append_audit(conn, actor="tanaka", action="login", tenant="amagasaki")
    with db.read() as conn:
        tokyo = list_audit(conn, tenants=["tokyo"], limit=3)
        assert [row.target for row in tokyo] == ["e-4", "e-3", "e-2"]
        assert [row.target for row in list_audit(conn, tenants=["tokyo"], before_id=tokyo[-1].id)] == ["e-1", "e-0"]
        assert list_audit(conn, target="e-4")[0].detail == {"priority": 4}
        assert tokyo[0].at.tzinfo is not None
