"""Kill switches set from the console: one row per (tenant, switch) while an override is in force.

    set_switch(conn, tenant="tokyo", switch="answering", off=True, set_by="sato", reason="誤回答の調査中")
    overrides = switch_overrides(conn, "tokyo")     # {"answering": Row(off=True, …)}
    clear_switch(conn, tenant="tokyo", switch="answering")   # back to what the tenant YAML says

The rule (what is in force, and the audit row of each change) is conversations/switches.py's.
"""
from __future__ import annotations

from sqlalchemy import Connection, Row, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from .schema import kill_switches
from .types import utcnow


def switch_overrides(conn: Connection, tenant: str | None = None) -> dict[tuple[str, str], Row]:
    """(tenant, switch) → the override row; every tenant's when `tenant` is None."""
    query = select(kill_switches)
    if tenant is not None:
        query = query.where(kill_switches.c.tenant == tenant)
    return {(row.tenant, row.switch): row for row in conn.execute(query)}


def set_switch(conn: Connection, *, tenant: str, switch: str, off: bool, set_by: str,
               reason: str | None = None) -> None:
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    values = {"off": off, "reason": reason, "set_by": set_by, "set_at": utcnow()}
    statement = dialect_insert(kill_switches).values(tenant=tenant, switch=switch, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=["tenant", "switch"], set_=values))


def clear_switch(conn: Connection, *, tenant: str, switch: str) -> bool:
    """Drop the override; True if there was one."""
    statement = delete(kill_switches).where(kill_switches.c.tenant == tenant, kill_switches.c.switch == switch)
    return conn.execute(statement).rowcount > 0
