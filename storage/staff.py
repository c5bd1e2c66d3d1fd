"""Staff sign-ins kept server side (tables of migration 0005): sessions that can be revoked, and failed sign-ins
counted per client address and username.

A session row is keyed by a hash of the session id the signed cookie carries; the cookie is honoured only while
its row exists, is not revoked and has not expired. Failures are counted per scope ("client|username" and
"client|*"), each with the time until which that scope must wait; the caller decides the backoff.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .schema import sign_in_failures, staff_sessions
from .types import utcnow


def create_staff_session(conn: Connection, *, id_hash: str, operator_id: int, expires_at: datetime) -> None:
    conn.execute(staff_sessions.insert().values(id_hash=id_hash, operator_id=operator_id, created_at=utcnow(),
                                                expires_at=expires_at))


def staff_session_is_live(conn: Connection, id_hash: str, operator_id: int) -> bool:
    """The session exists for this operator, is not revoked and has not expired."""
    row = conn.execute(select(staff_sessions.c.id_hash).where(
        staff_sessions.c.id_hash == id_hash, staff_sessions.c.operator_id == operator_id,
        staff_sessions.c.revoked_at.is_(None), staff_sessions.c.expires_at > utcnow())).first()
    return row is not None


def revoke_staff_session(conn: Connection, id_hash: str, reason: str) -> bool:
    return conn.execute(update(staff_sessions).where(
        staff_sessions.c.id_hash == id_hash, staff_sessions.c.revoked_at.is_(None)).values(
        revoked_at=utcnow(), revoked_reason=reason)).rowcount == 1


def revoke_operator_sessions(conn: Connection, operator_id: int, reason: str) -> int:
    """End every live session of an operator (password change, an administrator's revocation); returns how many."""
    return conn.execute(update(staff_sessions).where(
        staff_sessions.c.operator_id == operator_id, staff_sessions.c.revoked_at.is_(None),
        staff_sessions.c.expires_at > utcnow()).values(revoked_at=utcnow(), revoked_reason=reason)).rowcount


def live_session_count(conn: Connection, operator_id: int) -> int:
    return conn.execute(select(func.count()).select_from(staff_sessions).where(
        staff_sessions.c.operator_id == operator_id, staff_sessions.c.revoked_at.is_(None),
        staff_sessions.c.expires_at > utcnow())).scalar_one()


def forget_expired_sessions(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(staff_sessions).where(staff_sessions.c.expires_at < before)).rowcount


# -- failed sign-ins ------------------------------------------------------------------------------------------------

def sign_in_blocked_until(conn: Connection, scopes: list[str]) -> datetime | None:
    """The latest time until which any of these scopes must wait, or None."""
    return conn.execute(select(func.max(sign_in_failures.c.blocked_until)).where(
        sign_in_failures.c.scope.in_(scopes))).scalar()


def sign_in_failure_count(conn: Connection, scope: str) -> int:
    value = conn.execute(select(sign_in_failures.c.failures).where(sign_in_failures.c.scope == scope)).scalar()
    return int(value or 0)


def record_sign_in_failure(conn: Connection, scope: str, *, blocked_until: datetime | None) -> None:
    """Count one more failure for `scope` and set how long it must wait (an upsert: concurrent tries all count)."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    statement = dialect_insert(sign_in_failures).values(scope=scope, failures=1, last_failure_at=now,
                                                        blocked_until=blocked_until)
    conn.execute(statement.on_conflict_do_update(index_elements=[sign_in_failures.c.scope], set_={
        "failures": sign_in_failures.c.failures + 1, "last_failure_at": now, "blocked_until": blocked_until}))


def clear_sign_in_failures(conn: Connection, scope: str) -> None:
    conn.execute(delete(sign_in_failures).where(sign_in_failures.c.scope == scope))


def forget_old_sign_in_failures(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(sign_in_failures).where(sign_in_failures.c.last_failure_at < before)).rowcount
