"""Read-only queries behind the reports: the insight dashboard's aggregates, a conversation's audit trail for
`madoguchi explain` (the rows; what they mean is governance's), and counts of recent actions (sign-in failures)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, func, or_, select

from .schema import audit_log, conversations, escalations, feedback, turns


def turns_since(conn: Connection, tenant_ids: list[str], since: datetime) -> list[Row]:
    """created_at, outcome, reason, sources, intent, redacted_question and channel of each turn, newest first."""
    query = (select(turns.c.created_at, turns.c.outcome, turns.c.reason, turns.c.sources, turns.c.intent,
                    turns.c.redacted_question, func.coalesce(turns.c.channel, conversations.c.channel).label("channel"))
             .join(conversations, conversations.c.id == turns.c.conversation_id)
             .where(turns.c.tenant.in_(tenant_ids), turns.c.created_at >= since)
             .order_by(turns.c.created_at.desc()))
    return list(conn.execute(query))


def first_response_times(conn: Connection, tenant_ids: list[str], since: datetime) -> list[Row]:
    """(first_response_due, first_response_at) of each escalation created since `since`."""
    query = select(escalations.c.first_response_due, escalations.c.first_response_at).where(
        escalations.c.tenant.in_(tenant_ids), escalations.c.created_at >= since)
    return list(conn.execute(query))


def feedback_counts(conn: Connection, tenant_ids: list[str], since: datetime) -> dict[str, int]:
    query = (select(feedback.c.rating, func.count()).where(
        feedback.c.tenant.in_(tenant_ids), feedback.c.created_at >= since).group_by(feedback.c.rating))
    return {rating: count for rating, count in conn.execute(query)}


def turn_audit_rows(conn: Connection, tenant: str, conversation_id: str, turn_ids: list[str], *,
                    action: str) -> list[Row]:
    """Audit rows of the turns (target = turn id; older rows may target the conversation)."""
    query = select(audit_log).where(
        audit_log.c.action == action, audit_log.c.tenant == tenant,
        or_(audit_log.c.target.in_(turn_ids), audit_log.c.target == conversation_id))
    return list(conn.execute(query.order_by(audit_log.c.id)))


def recent_action_count(conn: Connection, *, action: str, actor: str, since: datetime,
                       tenant: str | None = None) -> int:
    """How many `action` rows `actor` left since `since` (e.g. failed sign-ins of one username). Rows without a
    tenant are read as (tenant IS NULL, at > since): a range of the audit log's (tenant, at) index."""
    tenant_is = audit_log.c.tenant.is_(None) if tenant is None else audit_log.c.tenant == tenant
    query = select(func.count()).select_from(audit_log).where(
        tenant_is, audit_log.c.at > since, audit_log.c.actor == actor, audit_log.c.action == action)
    return int(conn.execute(query).scalar_one())
