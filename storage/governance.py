"""Staff corrections: curated answers, outdated-document flags and review decisions (tables of migration 0003), and
the turns a reviewer should look at.

Like every repository module, functions take the caller's Connection. Curated answers are retired, never edited;
an outdated flag is cleared, never deleted; review decisions are only ever added. Texts stored here are
redacted by the caller (governance.review).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select, update

from .conversations import new_id
from .schema import (
    REVIEW_ACTIONS, curated_answers, escalations, feedback, messages, outdated_documents, review_decisions, turns,
)
from .types import utcnow


def add_curated_answer(conn: Connection, *, tenant: str, question: str, question_key: str, created_by: str,
                       answer: str | None = None, doc_id: str | None = None, source_title: str | None = None,
                       source_url: str | None = None, expires_at: datetime | None = None,
                       turn_id: str | None = None) -> str:
    if not answer and not doc_id:
        raise ValueError("a curated answer needs its own text or the right document (doc_id)")
    curated_id = new_id()
    conn.execute(curated_answers.insert().values(
        id=curated_id, tenant=tenant, question=question, question_key=question_key, answer=answer or None,
        doc_id=doc_id or None, source_title=source_title, source_url=source_url, expires_at=expires_at,
        turn_id=turn_id, created_by=created_by, created_at=utcnow(),
    ))
    return curated_id


def retire_curated_answer(conn: Connection, *, tenant: str, curated_id: str) -> bool:
    return bool(conn.execute(update(curated_answers).where(
        curated_answers.c.id == curated_id, curated_answers.c.tenant == tenant,
        curated_answers.c.retired_at.is_(None)).values(retired_at=utcnow())).rowcount)


def active_curated_answers(conn: Connection, tenant: str, *, now: datetime | None = None) -> list[Row]:
    """Not retired and not expired; newest first (a newer answer to the same question wins)."""
    now = now or utcnow()
    query = select(curated_answers).where(
        curated_answers.c.tenant == tenant, curated_answers.c.retired_at.is_(None),
        or_(curated_answers.c.expires_at.is_(None), curated_answers.c.expires_at > now),
    ).order_by(curated_answers.c.created_at.desc())
    return list(conn.execute(query))


def flag_curated_for_review(conn: Connection, *, tenant: str, reason: str, doc_ids: list[str] | None = None,
                            urls: list[str] | None = None) -> list[str]:
    """Flag active curated answers that name one of `doc_ids` or cite one of `urls` (with or without #page=N).
    Returns the ids flagged."""
    matches = []
    if doc_ids:
        matches.append(curated_answers.c.doc_id.in_(doc_ids))
    for url in urls or []:
        matches += [curated_answers.c.source_url == url, curated_answers.c.source_url.like(f"{url}#%")]
    if not matches:
        return []
    where = (curated_answers.c.tenant == tenant, curated_answers.c.retired_at.is_(None), or_(*matches))
    ids = list(conn.execute(select(curated_answers.c.id).where(*where)).scalars())
    if ids:
        conn.execute(update(curated_answers).where(curated_answers.c.id.in_(ids)).values(
            review_reason=reason, review_flagged_at=utcnow()))
    return ids


def flag_outdated(conn: Connection, *, tenant: str, doc_id: str, flagged_by: str, reason: str | None = None,
                  index_version: str | None = None) -> int:
    return conn.execute(outdated_documents.insert().values(
        tenant=tenant, doc_id=doc_id, reason=reason, index_version=index_version, flagged_by=flagged_by,
        flagged_at=utcnow(),
    ).returning(outdated_documents.c.id)).scalar_one()


def clear_outdated(conn: Connection, *, tenant: str, doc_id: str, cleared_by: str) -> int:
    return conn.execute(update(outdated_documents).where(
        outdated_documents.c.tenant == tenant, outdated_documents.c.doc_id == doc_id,
        outdated_documents.c.cleared_at.is_(None)).values(cleared_at=utcnow(), cleared_by=cleared_by)).rowcount


def open_outdated_flags(conn: Connection, tenant: str) -> list[Row]:
    query = select(outdated_documents).where(
        outdated_documents.c.tenant == tenant, outdated_documents.c.cleared_at.is_(None))
    return list(conn.execute(query.order_by(outdated_documents.c.flagged_at.desc())))


def record_review_decision(conn: Connection, *, tenant: str, action: str, reviewer: str,
                           turn_id: str | None = None, detail: dict[str, Any] | None = None) -> int:
    if action not in REVIEW_ACTIONS:
        raise ValueError(f"unknown review action {action!r}; expected one of {REVIEW_ACTIONS}")
    return conn.execute(review_decisions.insert().values(
        tenant=tenant, turn_id=turn_id, action=action, reviewer=reviewer, detail=detail, created_at=utcnow(),
    ).returning(review_decisions.c.id)).scalar_one()


def reviewed_turn_ids(conn: Connection, tenant: str) -> set[str]:
    query = select(review_decisions.c.turn_id).where(
        review_decisions.c.tenant == tenant, review_decisions.c.turn_id.is_not(None))
    return set(conn.execute(query).scalars())


# -- what a reviewer should look at --------------------------------------------------------------------------------

def unhelpful_turns(conn: Connection, tenant: str, *, limit: int = 500) -> list[tuple[Row, str | None]]:
    """Turns a resident rated unhelpful, with the resident's comment."""
    query = select(turns, feedback.c.comment).join(feedback, feedback.c.turn_id == turns.c.id).where(
        feedback.c.tenant == tenant, feedback.c.rating == "unhelpful")
    return [(row, row.comment) for row in conn.execute(query.limit(limit))]


def low_confidence_turns(conn: Connection, tenant: str, *, answered_below: float, limit: int = 500) -> list[Row]:
    """Answers below `answered_below` confidence, offered choices, or hand-overs for low confidence / no content."""
    query = select(turns).where(turns.c.tenant == tenant, (
        (turns.c.reason.in_(("low_confidence", "no_content")))
        | (turns.c.outcome == "clarify")
        | and_(turns.c.outcome == "answered", turns.c.confidence < answered_below)
    ))
    return list(conn.execute(query.order_by(turns.c.created_at.desc()).limit(limit)))


def turns_with_operator_replies(conn: Connection, tenant: str, *, limit: int = 1000) -> list[Row]:
    """(turn…, draft_answer, reply) for each operator reply in a conversation whose hand-over carried a draft."""
    query = (select(turns, escalations.c.draft_answer, messages.c.text.label("reply"))
             .join(escalations, escalations.c.turn_id == turns.c.id)
             .join(messages, and_(messages.c.conversation_id == escalations.c.conversation_id,
                                  messages.c.role == "operator"))
             .where(escalations.c.tenant == tenant, escalations.c.draft_answer.is_not(None)))
    return list(conn.execute(query.order_by(messages.c.id).limit(limit)))


def redacted_question_of(conn: Connection, tenant: str, turn_id: str) -> str | None:
    """The turn's redacted question ("" when it has none), or None when the tenant has no such turn."""
    row = conn.execute(select(turns.c.redacted_question).where(
        turns.c.id == turn_id, turns.c.tenant == tenant)).first()
    return None if row is None else (row.redacted_question or "")
