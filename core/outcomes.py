"""What a turn produced, as every floor sees it: the outcome, the reason for a hand-over, the cited sources and the
reply (the dialogue decides these; the durable path stores them; governance audits them; the API shows them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Outcome(str, Enum):
    ANSWERED = "answered"
    CLARIFY = "clarify"
    ESCALATED = "escalated"
    DECLINED = "declined"
    BLOCKED = "blocked"
    # Intent-only replies (greeting, thanks) that need no retrieval.
    SMALLTALK = "smalltalk"
    # While an operator holds the conversation the assistant stays silent.
    WITH_OPERATOR = "with_operator"


class EscalationReason(str, Enum):
    LOW_CONFIDENCE = "low_confidence"
    RISK = "risk"
    REQUESTED = "requested"
    NO_CONTENT = "no_content"
    OPERATOR_RETURNED = "operator_returned"
    COMPLAINT = "complaint"
    OUTDATED = "outdated"  # the only source is past its review date and is about money, eligibility or deadlines
    ANSWERING_OFF = "answering_off"  # a supervisor's kill switch: every question goes to a person


@dataclass
class Source:
    doc_id: str
    title: str
    url: str | None
    score: float
    as_of: str | None = None
    source: str | None = None
    citation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id, "title": self.title, "url": self.url, "score": round(self.score, 6),
            "as_of": self.as_of, "source": self.source, "citation": self.citation,
        }


@dataclass
class TurnResult:
    """What a turn produced: what the resident is told and why."""

    outcome: Outcome
    answer: str
    confidence: float = 0.0
    sources: list[Source] = field(default_factory=list)
    reason: EscalationReason | None = None
    risk: str | None = None  # None | emergency | crisis | life | health | property | deadline
    language: str = "ja"
    choices: list[dict[str, Any]] = field(default_factory=list)  # clarify: [{"n": 1, "doc_id", "title"}]
    intent: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    template: str | None = None
    query: str | None = None  # what was searched (the question, completed for a follow-up)
    notes: dict[str, Any] = field(default_factory=dict)  # step notes: draft for the operator, follow-up, guard
    index_version: str | None = None  # the index the turn read (None: the tenant had none yet)

    @property
    def escalated(self) -> bool:
        return self.outcome is Outcome.ESCALATED

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "reason": self.reason.value if self.reason else None,
            "answer": self.answer,
            "confidence": round(self.confidence, 4),
            "sources": [s.to_dict() for s in self.sources],
            "risk": self.risk,
            "language": self.language,
            "choices": self.choices,
            "intent": self.intent,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "template": self.template,
        }
