"""The human-operator queue, SQL first.

    queue = EscalationQueue(db)
    with db.transaction() as conn:                       # the turn's own transaction
        queue.enqueue(conn, tenant=..., conversation_id=..., reason="low_confidence", sla=tenant.get("sla"))
    claim = queue.claim(["tokyo"], "sato")               # Claim | None; highest priority first, then oldest
    queue.heartbeat(claim)                               # every few seconds while the console is open
    queue.resolve(claim, "answered by phone")            # True, or False if the claim was lost
    queue.resolve(HeldClaim(escalation_id, token, "sato"), "…")   # what a page presents: id, token, who

Every action on a claim is `UPDATE … WHERE claim_token = :token AND id = :escalation AND claimed_by = :operator
AND state IN ('claimed', 'waiting_resident')` and returns whether a row changed: a token is bound to its
escalation and its holder, so one read off a page (or guessed from another tenant's) acts on nothing else. A holder who stopped heartbeating is put back by requeue_stale(); when someone
else claims it the row gets a new token, so the old holder's actions change nothing and return False.
Choice: a stale token returns False (the console says "this conversation is no longer yours") rather than raising;
`StaleClaim` and `require()` are there for callers that prefer an exception.

The statements themselves (claiming with FOR UPDATE SKIP LOCKED, token-conditional updates) are in
storage/escalations.py; this module holds the rules: priorities, what a lost claim means, what is audited.

Each state change is also written to the audit log in the same transaction. Times are the application's clock
(UTC); run the hosts with NTP.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from storage import Connection, Database, Row, append_audit, set_conversation_state, utcnow
from storage import escalations as repo
from storage.escalations import HELD_STATES

RISK_PRIORITY = {"emergency": 100, "crisis": 100, "life": 90, "health": 80, "property": 60, "deadline": 50}
REASON_PRIORITY = {"risk": 50, "complaint": 30, "requested": 20, "operator_returned": 15, "callback": 15,
                   "low_confidence": 10, "no_content": 10}
# Under concurrency SKIP LOCKED with LIMIT 1 can come back empty while rows remain (the row it looked at was
# claimed between snapshot and lock); claim() tries again a few times before saying the queue is empty.
CLAIM_ATTEMPTS = 5

__all__ = ["HELD_STATES", "Claim", "ClaimKey", "EscalationQueue", "HeldClaim", "StaleClaim", "priority_for",
           "require"]


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


class ClaimKey(Protocol):
    """What acting on a claim takes: the token together with the escalation and the operator it was issued to."""

    @property
    def escalation_id(self) -> str: ...

    @property
    def token(self) -> str: ...

    @property
    def operator(self) -> str: ...


@dataclass(frozen=True)
class HeldClaim:
    """A claim as a page presents it back: the escalation of the URL, the token of the form, the signed-in operator."""
    escalation_id: str
    token: str
    operator: str


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
    def from_row(cls, row: Row) -> Claim:
        return cls(escalation_id=row.id, token=row.claim_token, tenant=row.tenant,
                   conversation_id=row.conversation_id, operator=row.claimed_by, priority=row.priority,
                   reason=row.reason, risk=row.risk)


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
        escalation_id = repo.insert_escalation(
            conn, tenant=tenant, conversation_id=conversation_id, reason=reason, priority=priority, risk=risk,
            turn_id=turn_id, sla=dict(sla or {}), draft_answer=draft_answer, draft_confidence=draft_confidence,
            draft_sources=draft_sources, meta=meta)
        set_conversation_state(conn, conversation_id, "with_operator", only_from="assistant")
        if escalation_id is None:
            return repo.raise_open_priority(conn, conversation_id, priority)
        append_audit(conn, actor=actor, action="escalation.enqueue", tenant=tenant, target=escalation_id,
                     detail={"reason": reason, "risk": risk, "priority": priority, "conversation": conversation_id})
        return escalation_id

    # --- claiming ----------------------------------------------------------------------------------------------

    def claim(self, tenant_ids: Iterable[str], operator: str, *, conn: Connection | None = None) -> Claim | None:
        """Take the most urgent queued escalation of these tenants, or None when there is nothing to take."""
        tenant_ids = list(tenant_ids)
        if not tenant_ids:
            return None
        for _ in range(CLAIM_ATTEMPTS):
            with self._transaction(conn) as c:
                row = repo.claim_next(c, tenant_ids, operator)
                if row is not None:
                    self._audit_claim(c, row)
                    return Claim.from_row(row)
                if not repo.any_claimable(c, tenant_ids, operator):
                    return None
        return None

    def _audit_claim(self, conn: Connection, row: Row) -> None:
        append_audit(conn, actor=row.claimed_by, action="escalation.claim", tenant=row.tenant, target=row.id,
                     detail={"priority": row.priority, "reason": row.reason})

    def claim_specific(self, escalation_id: str, operator: str, *, tenant_ids: Iterable[str] | None = None,
                       conn: Connection | None = None) -> Claim | None:
        """Claim one chosen escalation (the console's or Slack's 「対応する」 button); None if already taken."""
        with self._transaction(conn) as c:
            row = repo.claim_escalation(c, escalation_id, operator, tenant_ids=tenant_ids)
            if row is None:
                return None
            self._audit_claim(c, row)
            return Claim.from_row(row)

    # --- actions on a claim: each one conditional on the token ---------------------------------------------------

    def _change(self, claim: ClaimKey, action: str, values: dict[str, Any], *, conn: Connection | None,
                from_states: tuple[str, ...] = HELD_STATES, conversation_state: str | None = None,
                detail: dict[str, Any] | None = None) -> bool:
        if not claim.token:
            return False
        with self._transaction(conn) as c:
            row = repo.change_held(c, claim.token, values, escalation_id=claim.escalation_id,
                                   operator=claim.operator, from_states=from_states)
            if row is None:
                return False
            if conversation_state is not None:  # a conversation closed or erased meanwhile stays so
                set_conversation_state(c, row.conversation_id, conversation_state, only_from="with_operator")
            if action:
                append_audit(c, actor=row.claimed_by or "system", action=action, tenant=row.tenant,
                             target=row.id, detail=detail)
            return True

    def heartbeat(self, claim: ClaimKey, *, conn: Connection | None = None) -> bool:
        """Keep the claim alive. False means it was lost: stop working on it."""
        return self._change(claim, "", {"heartbeat_at": utcnow()}, conn=conn)

    def record_reply(self, conn: Connection, claim: ClaimKey) -> bool:
        """Call in the transaction that queues the operator's reply; write the reply only if this returns True.

        On PostgreSQL the row stays locked until that transaction commits, so a concurrent re-queue cannot slip
        between the check and the reply: a stale operator never sends a second answer.
        """
        return self._change(claim, "escalation.reply", repo.reply_values(), conn=conn)

    def mark_waiting_resident(self, claim: ClaimKey, *, conn: Connection | None = None) -> bool:
        return self._change(claim, "escalation.wait_resident", {"state": "waiting_resident"}, conn=conn,
                            from_states=("claimed",))

    def resident_replied(self, conn: Connection, conversation_id: str) -> bool:
        """The resident wrote back: a waiting escalation is the holder's again, with a fresh heartbeat."""
        return repo.resume_waiting(conn, conversation_id)

    def release(self, claim: ClaimKey, *, conn: Connection | None = None) -> bool:
        """Put it back in the queue for someone else (the conversation stays with the operators)."""
        return self._change(claim, "escalation.release", {"state": "queued", "claimed_by": None}, conn=conn)

    def return_to_assistant(self, claim: ClaimKey, reason: str | None = None, *,
                            conn: Connection | None = None) -> bool:
        """Hand the conversation back to the assistant; it answers the resident's next message again."""
        values = {"state": "returned", "resolved_at": utcnow(), "resolution_reason": reason}
        return self._change(claim, "escalation.return", values, conn=conn, conversation_state="assistant",
                            detail={"reason": reason})

    def resolve(self, claim: ClaimKey, reason: str, *, conn: Connection | None = None) -> bool:
        """Close the escalation; the conversation goes back to the assistant for anything the resident asks next."""
        values = {"state": "resolved", "resolved_at": utcnow(), "resolution_reason": reason}
        return self._change(claim, "escalation.resolve", values, conn=conn, conversation_state="assistant",
                            detail={"reason": reason})

    def transfer(self, claim: ClaimKey, to_operator: str | None, *, conn: Connection | None = None) -> bool:
        """Re-queue for a named operator (only they may claim it) or, with None, for anyone."""
        values = {"state": "queued", "claimed_by": None, "assigned_to": to_operator}
        return self._change(claim, "escalation.transfer", values, conn=conn, detail={"to": to_operator})

    def requeue_stale(self, stale_after_seconds: float, *, conn: Connection | None = None) -> int:
        """Put back every claim whose holder has not heartbeated for `stale_after_seconds`; returns how many.

        Run it every few seconds from a worker. Waiting-for-resident escalations are not stale: nobody is
        expected to heartbeat while the resident is away (resident_replied() makes them 'claimed' again).
        """
        with self._transaction(conn) as c:
            rows = repo.requeue_stale_claims(c, stale_after_seconds)
            for row in rows:
                append_audit(c, actor="system", action="escalation.requeue_stale", tenant=row.tenant,
                             target=row.id, detail={"stale_after_seconds": stale_after_seconds})
        return len(rows)

    # --- SLA fail-safe ------------------------------------------------------------------------------------------

    def overdue_unclaimed(self, *, limit: int = 100, now: datetime | None = None) -> list[Row]:
        """Queued past their first-response deadline (at `now`, the watcher's clock) and not yet sent a holding
        message; the most urgent first."""
        with self.db.read() as conn:
            return repo.overdue_unclaimed(conn, limit=limit, now=now)

    def mark_holding_sent(self, conn: Connection, escalation_id: str, now: datetime | None = None) -> bool:
        """True for exactly one caller: queue the holding message in the same transaction only then."""
        return repo.mark_holding_sent(conn, escalation_id, now)

    # --- reading ------------------------------------------------------------------------------------------------

    def get(self, escalation_id: str, *, tenant_ids: Iterable[str] | None = None) -> Row | None:
        with self.db.read() as conn:
            return repo.get_escalation(conn, escalation_id, tenant_ids=tenant_ids)

    def by_token(self, token: str) -> Row | None:
        """The escalation this token currently holds, or None if the claim was lost."""
        with self.db.read() as conn:
            return repo.escalation_held_by(conn, token)

    def open_for_conversation(self, conn: Connection, conversation_id: str) -> Row | None:
        return repo.open_escalation_of(conn, conversation_id)

    def list_open(self, tenant_ids: Iterable[str], *, limit: int = 200) -> list[Row]:
        """The queue view: open escalations of these tenants, most urgent first."""
        with self.db.read() as conn:
            return repo.list_open_escalations(conn, tenant_ids, limit=limit)

    def load_by_operator(self, tenant_ids: Iterable[str]) -> dict[str, int]:
        """Supervisor view: how many escalations each operator holds now."""
        with self.db.read() as conn:
            return repo.load_by_operator(conn, tenant_ids)

    def breached(self, tenant_ids: Iterable[str]) -> list[Row]:
        """Open escalations past a deadline: no first response in time, or not resolved in time."""
        with self.db.read() as conn:
            return repo.breached_escalations(conn, tenant_ids)
