"""Operators (console users), the tenants each may see, and their internal notes on escalations.

Password hashing is the console's business: this module stores the hash it is given and never sees a password.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Connection, Row, delete, select, update

from .schema import OPERATOR_ROLES, operator_notes, operator_tenants, operators
from .types import utcnow


def create_operator(conn: Connection, *, username: str, password_hash: str, display_name: str,
                    role: str = "operator", tenants: Iterable[str] = (), slack_user_id: str | None = None) -> int:
    """Create an operator scoped to `tenants`; returns the operator id. Raises IntegrityError on a taken username."""
    if role not in OPERATOR_ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {OPERATOR_ROLES}")
    operator_id = conn.execute(operators.insert().values(
        username=username, password_hash=password_hash, display_name=display_name, role=role,
        slack_user_id=slack_user_id, active=True, created_at=utcnow(),
    ).returning(operators.c.id)).scalar_one()
    set_operator_tenants(conn, operator_id, tenants)
    return operator_id


def get_operator(conn: Connection, username: str) -> Row | None:
    return conn.execute(select(operators).where(operators.c.username == username)).first()


def get_operator_by_id(conn: Connection, operator_id: int) -> Row | None:
    return conn.execute(select(operators).where(operators.c.id == operator_id)).first()


def get_operator_by_slack_user(conn: Connection, slack_user_id: str) -> Row | None:
    query = select(operators).where(operators.c.slack_user_id == slack_user_id, operators.c.active.is_(True))
    return conn.execute(query).first()


def operator_tenant_ids(conn: Connection, operator_id: int) -> list[str]:
    query = select(operator_tenants.c.tenant).where(operator_tenants.c.operator_id == operator_id)
    return sorted(conn.execute(query).scalars())


def set_operator_tenants(conn: Connection, operator_id: int, tenants: Iterable[str]) -> None:
    conn.execute(delete(operator_tenants).where(operator_tenants.c.operator_id == operator_id))
    rows = [{"operator_id": operator_id, "tenant": tenant} for tenant in sorted(set(tenants))]
    if rows:
        conn.execute(operator_tenants.insert(), rows)


def list_operators(conn: Connection, *, tenant: str | None = None) -> list[Row]:
    query = select(operators).order_by(operators.c.username)
    if tenant is not None:
        members = select(operator_tenants.c.operator_id).where(operator_tenants.c.tenant == tenant)
        query = query.where(operators.c.id.in_(members))
    return list(conn.execute(query))


def update_operator(conn: Connection, operator_id: int, **fields: object) -> bool:
    """Change password_hash, display_name, role, slack_user_id or active."""
    allowed = {"password_hash", "display_name", "role", "slack_user_id", "active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    if "role" in fields and fields["role"] not in OPERATOR_ROLES:
        raise ValueError(f"unknown role {fields['role']!r}")
    statement = update(operators).where(operators.c.id == operator_id).values(**fields)
    return conn.execute(statement).rowcount == 1


def add_note(conn: Connection, *, tenant: str, escalation_id: str, operator: str, text: str) -> int:
    """An internal note on an escalation (never sent to the resident)."""
    return conn.execute(operator_notes.insert().values(
        tenant=tenant, escalation_id=escalation_id, operator=operator, text=text, created_at=utcnow(),
    ).returning(operator_notes.c.id)).scalar_one()


def list_notes(conn: Connection, escalation_id: str) -> list[Row]:
    query = select(operator_notes).where(operator_notes.c.escalation_id == escalation_id).order_by(operator_notes.c.id)
    return list(conn.execute(query))
