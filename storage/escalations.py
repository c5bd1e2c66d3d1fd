"""The escalation queue's statements (escalation/queue.py holds its rules): claim tokens, heartbeats, SLA deadlines.

Every action on a claim is `UPDATE … WHERE claim_token = :token AND state IN (…)` and returns whether a row
changed, so a holder whose claim was re-queued or taken by someone else changes nothing.

Claiming: `WITH picked AS (SELECT id … ORDER BY priority DESC, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
UPDATE … WHERE id IN picked AND state = 'queued' RETURNING …`. On PostgreSQL SKIP LOCKED lets 20 operators claim at
once without waiting on each other; SQLite ignores FOR UPDATE and relies on one writer at a time (BEGIN IMMEDIATE),
which makes the same single statement atomic across threads and processes.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import Connection, Row, and_, exists, func, or_, select, update

from .inbound import insert_ignoring_duplicates
from .schema import OPEN_ESCALATION_STATES, audit_log, escalations
from .types import utcnow

HELD_STATES = ("claimed", "waiting_resident")


def _minutes_from(now: datetime, minutes: float | None) -> datetime | None:
    return None if minutes is None else now + timedelta(minutes=float(minutes))


# -- writing an escalation (inside the turn's transaction) -------------------------------------------------------

def insert_escalation(conn: Connection, *, tenant: str, conversation_id: str, reason: str, priority: int,
                      risk: str | None = None, turn_id: str | None = None, sla: dict[str, Any] | None = None,
                      draft_answer: str | None = None, draft_confidence: float | None = None,
                      draft_sources: list[dict[str, Any]] | None = None,
                      meta: dict[str, Any] | None = None) -> str | None:
    """The new escalation's id, or None when the conversation already has an open one (one at most)."""
    now, sla = utcnow(), sla or {}
    escalation_id = str(uuid4())
    inserted = conn.execute(insert_ignoring_duplicates(conn, escalations).values(
        id=escalation_id, tenant=tenant, conversation_id=conversation_id, turn_id=turn_id, reason=reason,
        risk=risk, priority=priority, state="queued", created_at=now, updated_at=now,
        first_response_due=_minutes_from(now, sla.get("first_response_minutes")),
        resolve_due=_minutes_from(now, sla.get("resolution_minutes")), draft_answer=draft_answer,
        draft_confidence=draft_confidence, draft_sources=draft_sources, meta=meta,
    ).returning(escalations.c.id)).first()
    return escalation_id if inserted is not None else None


def raise_open_priority(conn: Connection, conversation_id: str, priority: int) -> str:
    """Raise the open escalation of the conversation to `priority` if it is lower; returns its id."""
    open_one = and_(escalations.c.conversation_id == conversation_id,
                    escalations.c.state.in_(OPEN_ESCALATION_STATES))
    conn.execute(update(escalations).where(open_one, escalations.c.priority < priority).values(
        priority=priority, updated_at=utcnow()))
    return conn.execute(select(escalations.c.id).where(open_one)).scalar_one()


# -- claiming -----------------------------------------------------------------------------------------------------

def _claimable(tenant_ids: list[str], operator: str) -> Any:
    return and_(escalations.c.state == "queued", escalations.c.tenant.in_(tenant_ids),
                or_(escalations.c.assigned_to.is_(None), escalations.c.assigned_to == operator))


def _take(where: Any, operator: str) -> Any:
    now = utcnow()
    return update(escalations).where(where).values(
        state="claimed", claimed_by=operator, claim_token=str(uuid4()), claimed_at=now, heartbeat_at=now,
        updated_at=now, assigned_to=None,
    ).returning(*escalations.c)


def claim_next(conn: Connection, tenant_ids: list[str], operator: str) -> Row | None:
    """Take the most urgent queued escalation these tenants' operator may claim (None: none was free just now)."""
    picked = (
        select(escalations.c.id).where(_claimable(tenant_ids, operator))
        .order_by(escalations.c.priority.desc(), escalations.c.created_at, escalations.c.id).limit(1)
        .with_for_update(skip_locked=True).cte("picked")
    )
    where = and_(escalations.c.id.in_(select(picked.c.id)), escalations.c.state == "queued")
    return conn.execute(_take(where, operator)).first()


def any_claimable(conn: Connection, tenant_ids: list[str], operator: str) -> bool:
    return bool(conn.execute(select(exists().where(_claimable(tenant_ids, operator)))).scalar())


def claim_escalation(conn: Connection, escalation_id: str, operator: str, *,
                     tenant_ids: Iterable[str] | None = None) -> Row | None:
    """Claim one chosen escalation; None if it is taken (or not queued, or assigned to someone else)."""
    where = and_(escalations.c.id == escalation_id, escalations.c.state == "queued",
                 or_(escalations.c.assigned_to.is_(None), escalations.c.assigned_to == operator))
    if tenant_ids is not None:
        where = and_(where, escalations.c.tenant.in_(list(tenant_ids)))
    return conn.execute(_take(where, operator)).first()


def change_held(conn: Connection, token: str, values: dict[str, Any], *, escalation_id: str, operator: str,
                from_states: tuple[str, ...] = HELD_STATES) -> Row | None:
    """Change escalation `escalation_id` if `operator` holds it with `token`; None otherwise. The token alone is not
    enough: it is bound to its escalation and its holder, so a token read off one page acts on nothing else."""
    statement = (
        update(escalations)
        .where(escalations.c.claim_token == token, escalations.c.id == escalation_id,
               escalations.c.claimed_by == operator, escalations.c.state.in_(from_states))
        .values(updated_at=utcnow(), **values)
        .returning(escalations.c.id, escalations.c.tenant, escalations.c.conversation_id, escalations.c.claimed_by)
    )
    return conn.execute(statement).first()


def reply_values() -> dict[str, Any]:
    """The values of a reply: a fresh heartbeat, and the first response time if there was none."""
    now = utcnow()
    return {"heartbeat_at": now, "first_response_at": func.coalesce(escalations.c.first_response_at, now)}


def resume_waiting(conn: Connection, conversation_id: str) -> bool:
    """The resident wrote back: a waiting escalation is its holder's again, with a fresh heartbeat."""
    statement = update(escalations).where(
        escalations.c.conversation_id == conversation_id, escalations.c.state == "waiting_resident",
    ).values(state="claimed", heartbeat_at=utcnow(), updated_at=utcnow())
    return conn.execute(statement).rowcount == 1


def requeue_stale_claims(conn: Connection, stale_after_seconds: float) -> list[Row]:
    """Put back every claim not heartbeated for `stale_after_seconds`; returns (id, tenant) of each."""
    cutoff = utcnow() - timedelta(seconds=stale_after_seconds)
    stale = and_(escalations.c.state == "claimed", escalations.c.heartbeat_at < cutoff)
    # SKIP LOCKED: never wait behind a holder frozen inside a transaction; the next sweep gets that row.
    picked = select(escalations.c.id).where(stale).with_for_update(skip_locked=True).cte("picked")
    statement = (
        update(escalations)
        .where(escalations.c.id.in_(select(picked.c.id)), stale)
        .values(state="queued", claimed_by=None, updated_at=utcnow())
        .returning(escalations.c.id, escalations.c.tenant)
    )
    return conn.execute(statement).all()


# -- SLA fail-safe ----------------------------------------------------------------------------------------------

def overdue_unclaimed(conn: Connection, *, limit: int = 100, now: datetime | None = None) -> list[Row]:
    """Queued past their first-response deadline and not yet sent a holding message; the most urgent first
    (emergencies and crises before a backlog of routine ones)."""
    query = select(escalations).where(
        escalations.c.state == "queued", escalations.c.first_response_due < (now or utcnow()),
        escalations.c.holding_sent_at.is_(None),
    ).order_by(escalations.c.priority.desc(), escalations.c.first_response_due).limit(limit)
    return list(conn.execute(query))


def mark_holding_sent(conn: Connection, escalation_id: str, now: datetime | None = None) -> bool:
    """True for exactly one caller: queue the holding message in the same transaction only then."""
    statement = update(escalations).where(
        escalations.c.id == escalation_id, escalations.c.holding_sent_at.is_(None),
    ).values(holding_sent_at=now or utcnow())
    return conn.execute(statement).rowcount == 1


# -- reading ----------------------------------------------------------------------------------------------------

def get_escalation(conn: Connection, escalation_id: str, *, tenant_ids: Iterable[str] | None = None) -> Row | None:
    query = select(escalations).where(escalations.c.id == escalation_id)
    if tenant_ids is not None:
        query = query.where(escalations.c.tenant.in_(list(tenant_ids)))
    return conn.execute(query).first()


def escalation_held_by(conn: Connection, token: str, *, states: tuple[str, ...] | None = HELD_STATES) -> Row | None:
    """The escalation carrying this claim token (in a held state, unless `states` is None)."""
    query = select(escalations).where(escalations.c.claim_token == token)
    if states is not None:
        query = query.where(escalations.c.state.in_(states))
    return conn.execute(query).first()


def open_escalation_of(conn: Connection, conversation_id: str) -> Row | None:
    query = select(escalations).where(escalations.c.conversation_id == conversation_id,
                                      escalations.c.state.in_(OPEN_ESCALATION_STATES))
    return conn.execute(query).first()


def list_open_escalations(conn: Connection, tenant_ids: Iterable[str], *, limit: int = 200) -> list[Row]:
    """The queue view: open escalations of these tenants, most urgent first."""
    query = select(escalations).where(
        escalations.c.tenant.in_(list(tenant_ids)), escalations.c.state.in_(OPEN_ESCALATION_STATES),
    ).order_by(escalations.c.priority.desc(), escalations.c.created_at).limit(limit)
    return list(conn.execute(query))


def load_by_operator(conn: Connection, tenant_ids: Iterable[str]) -> dict[str, int]:
    """How many escalations each operator holds now."""
    query = select(escalations.c.claimed_by, func.count()).where(
        escalations.c.tenant.in_(list(tenant_ids)), escalations.c.state.in_(HELD_STATES),
    ).group_by(escalations.c.claimed_by)
    return {operator: count for operator, count in conn.execute(query)}


def breached_escalations(conn: Connection, tenant_ids: Iterable[str]) -> list[Row]:
    """Open escalations past a deadline: no first response in time, or not resolved in time."""
    now = utcnow()
    late_first = and_(escalations.c.first_response_at.is_(None), escalations.c.first_response_due < now)
    query = select(escalations).where(
        escalations.c.tenant.in_(list(tenant_ids)), escalations.c.state.in_(OPEN_ESCALATION_STATES),
        or_(late_first, escalations.c.resolve_due < now),
    ).order_by(escalations.c.priority.desc(), escalations.c.created_at)
    return list(conn.execute(query))


def escalations_of_conversation(conn: Connection, conversation_id: str) -> list[Row]:
    return list(conn.execute(select(escalations).where(escalations.c.conversation_id == conversation_id)
                             .order_by(escalations.c.created_at)))


def unannounced_escalations(conn: Connection, tenant_ids: list[str], *, since: datetime,
                            announced_action: str) -> list[Row]:
    """Queued escalations created after `since` with no audit row of `announced_action` (Slack alerts)."""
    announced = exists().where(and_(audit_log.c.action == announced_action, audit_log.c.target == escalations.c.id))
    query = select(escalations).where(
        escalations.c.tenant.in_(tenant_ids), escalations.c.state == "queued", escalations.c.created_at > since,
        ~announced,
    ).order_by(escalations.c.priority.desc(), escalations.c.created_at)
    return list(conn.execute(query))
