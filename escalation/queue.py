"""The human-operator queue, SQL first.

    queue = EscalationQueue(db)
    with db.transaction() as conn:                       # the turn's own transaction
        queue.enqueue(conn, tenant=..., conversation_id=..., reason="low_confidence", sla=tenant.get("sla"))
    claim = queue.claim(["tokyo"], "sato")               # Claim | None; highest priority first, then oldest
    queue.heartbeat(claim.token)                         # every few seconds while the console is open
    queue.resolve(claim.token, "answered by phone")      # True, or False if the claim was lost

Every action on a claim is `UPDATE … WHERE claim_token = :token AND state IN ('claimed', 'waiting_resident')`
and returns whether a row changed. A holder who stopped heartbeating is put back by requeue_stale(); when someone
else claims it the row gets a new token, so the old holder's actions change nothing and return False.
Choice: a stale token returns False (the console says "this conversation is no longer yours") rather than raising;
`StaleClaim` and `require()` are there for callers that prefer an exception.

Claiming: `WITH picked AS (SELECT id … ORDER BY priority DESC, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
UPDATE … WHERE id IN picked AND state = 'queued' RETURNING …`. On PostgreSQL SKIP LOCKED lets 20 operators claim at
once without waiting on each other; SQLite ignores FOR UPDATE and relies on one writer at a time (BEGIN IMMEDIATE),
which makes the same single statement atomic across threads and processes.

Each state change is also written to the audit log in the same transaction. Times are the application's clock
(UTC); run the hosts with NTP.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Iterator, Mapping
from uuid import uuid4

from sqlalchemy import Connection, Row, and_, exists, func, or_, select, update

from storage import Database
from storage.audit import append_audit
from storage.conversations import set_conversation_state
from storage.inbound import insert_ignoring_duplicates
from storage.schema import OPEN_ESCALATION_STATES, escalations
from storage.types import utcnow

HELD_STATES = ("claimed", "waiting_resident")
RISK_PRIORITY = {"emergency": 100, "crisis": 100, "life": 90, "health": 80, "property": 60, "deadline": 50}
REASON_PRIORITY = {"risk": 50, "complaint": 30, "requested": 20, "operator_returned": 15, "callback": 15,
                   "low_confidence": 10, "no_content": 10}
# Under concurrency SKIP LOCKED with LIMIT 1 can come back empty while rows remain (the row it looked at was
# claimed between snapshot and lock); claim() tries again a few times before saying the queue is empty.
CLAIM_ATTEMPTS = 5


class StaleClaim(Exception):
    """The claim token no longer holds this escalation (re-queued, transferred or already closed)."""


def require(changed: bool) -> None:
    """`require(queue.resolve(token, reason))` raises StaleClaim instead of returning False."""
    if not changed:
        raise StaleClaim("this escalation is no longer held by your claim")


def priority_for(reason: Any, risk: str | None = None) -> int:
    """Risk tiers first (emergency/crisis highest), then complaints, explicit requests, then low confidence."""
    reason = getattr(reason, "value", reason)
    return max(RISK_PRIORITY.get(risk or "", 0), REASON_PRIORITY.get(reason, 10))


@dataclass(frozen=True)
class Claim:
    escalation_id: str
    token: str
    tenant: str
    conversation_id: str
    operator: str
    priority: int
    reason: str
    risk: str | None

    @classmethod
    def from_row(cls, row: Row) -> "Claim":
        return cls(escalation_id=row.id, token=row.claim_token, tenant=row.tenant,
                   conversation_id=row.conversation_id, operator=row.claimed_by, priority=row.priority,
                   reason=row.reason, risk=row.risk)


def _minutes_from(now: datetime, minutes: float | None) -> datetime | None:
    return None if minutes is None else now + timedelta(minutes=float(minutes))


class EscalationQueue:
    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def _transaction(self, conn: Connection | None) -> Iterator[Connection]:
        """Use the caller's transaction when given one, else a short one of our own."""
        if conn is not None:
            yield conn
            return
        with self.db.transaction() as own:
            yield own

    # --- writing an escalation (inside the turn's transaction) -------------------------------------------------

    def enqueue(self, conn: Connection, *, tenant: str, conversation_id: str, reason: Any,
                priority: int | None = None, risk: str | None = None, turn_id: str | None = None,
                sla: Mapping[str, float] | None = None, draft_answer: str | None = None,
                draft_confidence: float | None = None, draft_sources: list[dict[str, Any]] | None = None,
                meta: dict[str, Any] | None = None, actor: str = "assistant") -> str:
        """Queue a hand-over and put the conversation with the operators; returns the escalation id.

        `sla` is the tenant's {first_response_minutes, resolution_minutes}. A conversation has at most one open
        escalation: a second trigger returns the open one's id, raising its priority if the new one is higher.
        """
        reason = getattr(reason, "value", reason)
        priority = priority_for(reason, risk) if priority is None else priority
        now, sla = utcnow(), sla or {}
        escalation_id = str(uuid4())
        inserted = conn.execute(insert_ignoring_duplicates(conn, escalations).values(
            id=escalation_id, tenant=tenant, conversation_id=conversation_id, turn_id=turn_id, reason=reason,
            risk=risk, priority=priority, state="queued", created_at=now, updated_at=now,
            first_response_due=_minutes_from(now, sla.get("first_response_minutes")),
            resolve_due=_minutes_from(now, sla.get("resolution_minutes")), draft_answer=draft_answer,
            draft_confidence=draft_confidence, draft_sources=draft_sources, meta=meta,
        ).returning(escalations.c.id)).first()
        set_conversation_state(conn, conversation_id, "with_operator", only_from="assistant")
        if inserted is None:
            return self._raise_open_priority(conn, conversation_id, priority)
        append_audit(conn, actor=actor, action="escalation.enqueue", tenant=tenant, target=escalation_id,
                     detail={"reason": reason, "risk": risk, "priority": priority, "conversation": conversation_id})
        return escalation_id

    def _raise_open_priority(self, conn: Connection, conversation_id: str, priority: int) -> str:
        open_one = and_(escalations.c.conversation_id == conversation_id,
                        escalations.c.state.in_(OPEN_ESCALATION_STATES))
        conn.execute(update(escalations).where(open_one, escalations.c.priority < priority).values(
            priority=priority, updated_at=utcnow()))
        return conn.execute(select(escalations.c.id).where(open_one)).scalar_one()

    # --- claiming ----------------------------------------------------------------------------------------------

    def claim(self, tenant_ids: Iterable[str], operator: str, *, conn: Connection | None = None) -> Claim | None:
        """Take the most urgent queued escalation of these tenants, or None when there is nothing to take."""
        tenant_ids = list(tenant_ids)
        if not tenant_ids:
            return None
        for _ in range(CLAIM_ATTEMPTS):
            with self._transaction(conn) as c:
                row = c.execute(self._claim_next_statement(tenant_ids, operator)).first()
                if row is not None:
                    self._audit_claim(c, row)
                    return Claim.from_row(row)
                if not c.execute(select(exists().where(self._claimable(tenant_ids, operator)))).scalar():
                    return None
        return None

    def _claimable(self, tenant_ids: list[str], operator: str) -> Any:
        return and_(escalations.c.state == "queued", escalations.c.tenant.in_(tenant_ids),
                    or_(escalations.c.assigned_to.is_(None), escalations.c.assigned_to == operator))

    def _claim_next_statement(self, tenant_ids: list[str], operator: str) -> Any:
        picked = (
            select(escalations.c.id).where(self._claimable(tenant_ids, operator))
            .order_by(escalations.c.priority.desc(), escalations.c.created_at, escalations.c.id).limit(1)
            .with_for_update(skip_locked=True).cte("picked")
        )
        return self._take(and_(escalations.c.id.in_(select(picked.c.id)), escalations.c.state == "queued"),
                          operator)

    def _take(self, where: Any, operator: str) -> Any:
        now = utcnow()
        return update(escalations).where(where).values(
            state="claimed", claimed_by=operator, claim_token=str(uuid4()), claimed_at=now, heartbeat_at=now,
            updated_at=now, assigned_to=None,
        ).returning(*escalations.c)

    def _audit_claim(self, conn: Connection, row: Row) -> None:
        append_audit(conn, actor=row.claimed_by, action="escalation.claim", tenant=row.tenant, target=row.id,
                     detail={"priority": row.priority, "reason": row.reason})

    def claim_specific(self, escalation_id: str, operator: str, *, tenant_ids: Iterable[str] | None = None,
                       conn: Connection | None = None) -> Claim | None:
        """Claim one chosen escalation (the console's or Slack's 「対応する」 button); None if already taken."""
        where = and_(escalations.c.id == escalation_id, escalations.c.state == "queued",
                     or_(escalations.c.assigned_to.is_(None), escalations.c.assigned_to == operator))
        if tenant_ids is not None:
            where = and_(where, escalations.c.tenant.in_(list(tenant_ids)))
        with self._transaction(conn) as c:
            row = c.execute(self._take(where, operator)).first()
            if row is None:
                return None
            self._audit_claim(c, row)
            return Claim.from_row(row)

    # --- actions on a claim: each one conditional on the token ---------------------------------------------------

    def _change(self, token: str, action: str, values: dict[str, Any], *, conn: Connection | None,
                from_states: tuple[str, ...] = HELD_STATES, conversation_state: str | None = None,
                detail: dict[str, Any] | None = None) -> bool:
        now = utcnow()
        statement = (
            update(escalations)
            .where(escalations.c.claim_token == token, escalations.c.state.in_(from_states))
            .values(updated_at=now, **values)
            .returning(escalations.c.id, escalations.c.tenant, escalations.c.conversation_id,
                       escalations.c.claimed_by)
        )
        with self._transaction(conn) as c:
            row = c.execute(statement).first()
            if row is None:
                return False
            if conversation_state is not None:  # a conversation closed or erased meanwhile stays so
                set_conversation_state(c, row.conversation_id, conversation_state, only_from="with_operator")
            if action:
                append_audit(c, actor=row.claimed_by or "system", action=action, tenant=row.tenant,
                             target=row.id, detail=detail)
            return True

    def heartbeat(self, token: str, *, conn: Connection | None = None) -> bool:
        """Keep the claim alive. False means it was lost: stop working on it."""
        return self._change(token, "", {"heartbeat_at": utcnow()}, conn=conn)

    def record_reply(self, conn: Connection, token: str) -> bool:
        """Call in the transaction that queues the operator's reply; write the reply only if this returns True.

        On PostgreSQL the row stays locked until that transaction commits, so a concurrent re-queue cannot slip
        between the check and the reply: a stale operator never sends a second answer.
        """
        now = utcnow()
        values = {"heartbeat_at": now, "first_response_at": func.coalesce(escalations.c.first_response_at, now)}
        return self._change(token, "escalation.reply", values, conn=conn)

    def mark_waiting_resident(self, token: str, *, conn: Connection | None = None) -> bool:
        return self._change(token, "escalation.wait_resident", {"state": "waiting_resident"}, conn=conn,
                            from_states=("claimed",))

    def resident_replied(self, conn: Connection, conversation_id: str) -> bool:
        """The resident wrote back: a waiting escalation is the holder's again, with a fresh heartbeat."""
        statement = update(escalations).where(
            escalations.c.conversation_id == conversation_id, escalations.c.state == "waiting_resident",
        ).values(state="claimed", heartbeat_at=utcnow(), updated_at=utcnow())
        return conn.execute(statement).rowcount == 1

    def release(self, token: str, *, conn: Connection | None = None) -> bool:
        """Put it back in the queue for someone else (the conversation stays with the operators)."""
        return self._change(token, "escalation.release", {"state": "queued", "claimed_by": None}, conn=conn)

    def return_to_assistant(self, token: str, reason: str | None = None, *, conn: Connection | None = None) -> bool:
        """Hand the conversation back to the assistant; it answers the resident's next message again."""
        values = {"state": "returned", "resolved_at": utcnow(), "resolution_reason": reason}
        return self._change(token, "escalation.return", values, conn=conn, conversation_state="assistant",
                            detail={"reason": reason})

    def resolve(self, token: str, reason: str, *, conn: Connection | None = None) -> bool:
        """Close the escalation; the conversation goes back to the assistant for anything the resident asks next."""
        values = {"state": "resolved", "resolved_at": utcnow(), "resolution_reason": reason}
        return self._change(token, "escalation.resolve", values, conn=conn, conversation_state="assistant",
                            detail={"reason": reason})

    def transfer(self, token: str, to_operator: str | None, *, conn: Connection | None = None) -> bool:
        """Re-queue for a named operator (only they may claim it) or, with None, for anyone."""
        values = {"state": "queued", "claimed_by": None, "assigned_to": to_operator}
        return self._change(token, "escalation.transfer", values, conn=conn, detail={"to": to_operator})

    def requeue_stale(self, stale_after_seconds: float, *, conn: Connection | None = None) -> int:
        """Put back every claim whose holder has not heartbeated for `stale_after_seconds`; returns how many.

        Run it every few seconds from a worker. Waiting-for-resident escalations are not stale: nobody is
        expected to heartbeat while the resident is away (resident_replied() makes them 'claimed' again).
        """
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
        with self._transaction(conn) as c:
            rows = c.execute(statement).all()
            for row in rows:
                append_audit(c, actor="system", action="escalation.requeue_stale", tenant=row.tenant,
                             target=row.id, detail={"stale_after_seconds": stale_after_seconds})
        return len(rows)

    # --- SLA fail-safe ------------------------------------------------------------------------------------------

    def overdue_unclaimed(self, *, limit: int = 100) -> list[Row]:
        """Queued past their first-response deadline and not yet sent a holding message."""
        query = select(escalations).where(
            escalations.c.state == "queued", escalations.c.first_response_due < utcnow(),
            escalations.c.holding_sent_at.is_(None),
        ).order_by(escalations.c.first_response_due).limit(limit)
        with self.db.read() as conn:
            return list(conn.execute(query))

    def mark_holding_sent(self, conn: Connection, escalation_id: str) -> bool:
        """True for exactly one caller: queue the holding message in the same transaction only then."""
        statement = update(escalations).where(
            escalations.c.id == escalation_id, escalations.c.holding_sent_at.is_(None),
        ).values(holding_sent_at=utcnow())
        return conn.execute(statement).rowcount == 1

    # --- reading ------------------------------------------------------------------------------------------------

    def get(self, escalation_id: str, *, tenant_ids: Iterable[str] | None = None) -> Row | None:
        query = select(escalations).where(escalations.c.id == escalation_id)
        if tenant_ids is not None:
            query = query.where(escalations.c.tenant.in_(list(tenant_ids)))
        with self.db.read() as conn:
            return conn.execute(query).first()

    def by_token(self, token: str) -> Row | None:
        """The escalation this token currently holds, or None if the claim was lost."""
        query = select(escalations).where(escalations.c.claim_token == token, escalations.c.state.in_(HELD_STATES))
        with self.db.read() as conn:
            return conn.execute(query).first()

    def open_for_conversation(self, conn: Connection, conversation_id: str) -> Row | None:
        query = select(escalations).where(escalations.c.conversation_id == conversation_id,
                                          escalations.c.state.in_(OPEN_ESCALATION_STATES))
        return conn.execute(query).first()

    def list_open(self, tenant_ids: Iterable[str], *, limit: int = 200) -> list[Row]:
        """The queue view: open escalations of these tenants, most urgent first."""
        query = select(escalations).where(
            escalations.c.tenant.in_(list(tenant_ids)), escalations.c.state.in_(OPEN_ESCALATION_STATES),
        ).order_by(escalations.c.priority.desc(), escalations.c.created_at).limit(limit)
        with self.db.read() as conn:
            return list(conn.execute(query))

    def load_by_operator(self, tenant_ids: Iterable[str]) -> dict[str, int]:
        """Supervisor view: how many escalations each operator holds now."""
        query = select(escalations.c.claimed_by, func.count()).where(
            escalations.c.tenant.in_(list(tenant_ids)), escalations.c.state.in_(HELD_STATES),
        ).group_by(escalations.c.claimed_by)
        with self.db.read() as conn:
            return {operator: count for operator, count in conn.execute(query)}

    def breached(self, tenant_ids: Iterable[str]) -> list[Row]:
        """Open escalations past a deadline: no first response in time, or not resolved in time."""
        now = utcnow()
        late_first = and_(escalations.c.first_response_at.is_(None), escalations.c.first_response_due < now)
        query = select(escalations).where(
            escalations.c.tenant.in_(list(tenant_ids)), escalations.c.state.in_(OPEN_ESCALATION_STATES),
            or_(late_first, escalations.c.resolve_due < now),
        ).order_by(escalations.c.priority.desc(), escalations.c.created_at)
        with self.db.read() as conn:
            return list(conn.execute(query))
