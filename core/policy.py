"""The fail-safe policy: answer only when the calibrated confidence clears the tenant's threshold, offer choices
when one of the top candidates probably answers, otherwise hand over to a person."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Used when a tenant has not been calibrated: strict, so an uncalibrated tenant hands over rather than guesses.
DEFAULT_ANSWER_THRESHOLD = 0.8
DEFAULT_CLARIFY_THRESHOLD = 0.6


class CalibratedTenant(Protocol):
    """What the policy needs of a tenant (config.tenancy.Tenant): its calibrated thresholds. core takes plain
    values so the ground floor imports nothing of the project."""

    def threshold(self, name: str, default: float) -> float: ...


@dataclass(frozen=True)
class Thresholds:
    answer: float
    clarify: float

    @classmethod
    def for_tenant(cls, tenant: CalibratedTenant) -> "Thresholds":
        return cls(
            answer=tenant.threshold("answer", DEFAULT_ANSWER_THRESHOLD),
            clarify=tenant.threshold("clarify", DEFAULT_CLARIFY_THRESHOLD),
        )


def decide(confidence: float, confidence_top3: float, thresholds: Thresholds) -> str:
    """'answer' | 'clarify' | 'escalate' from the two calibrated probabilities."""
    if confidence >= thresholds.answer:
        return "answer"
    if confidence_top3 >= thresholds.clarify:
        return "clarify"
    return "escalate"
