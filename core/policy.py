"""The answer policy: answer what it knows, ask when it is between a few, hand over only what it cannot answer.

- answer when the calibrated P(the top hit answers) clears the tenant's answer threshold (learned for a high
  precision: an answer is only given when it is precise);
- otherwise offer choices when P(one of the choices answers) clears the clarify threshold: the choices are the
  close top candidates, one per distinct title;
- otherwise hand over to a person.

Thresholds are learned per tenant by `madoguchi calibrate`; an uncalibrated tenant uses strict defaults (hand over
rather than guess). The functions here take plain values and duck-typed hits (anything with `.score` and
`.doc.title`/`.doc.doc_id`), so the policy can be evaluated offline exactly as the dialogue applies it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

# Used when a tenant has not been calibrated: strict, so an uncalibrated tenant hands over rather than guesses.
DEFAULT_ANSWER_THRESHOLD = 0.8
DEFAULT_CLARIFY_THRESHOLD = 0.6
# A clarification offers at most this many choices …
MAX_CHOICES = 3
# … each at least this share of the top candidate's probability (a far-off candidate is noise, not a choice).
CLOSE_SHARE = 0.2


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


# The policy on main before issue 9 (answer 0.8403 / clarify 0.8396: a clarification almost never happened),
# kept so bench/judgement.py can show both side by side.
PREVIOUS_THRESHOLDS = Thresholds(answer=0.8403, clarify=0.8396)


def decide(confidence: float, confidence_top3: float, thresholds: Thresholds) -> str:
    """'answer' | 'clarify' | 'escalate' from the two calibrated probabilities."""
    if confidence >= thresholds.answer:
        return "answer"
    if confidence_top3 >= thresholds.clarify:
        return "clarify"
    return "escalate"


def clarify_choices(hits: Sequence[Any], max_choices: int = MAX_CHOICES, close_share: float = CLOSE_SHARE) -> list:
    """The hits to offer as choices: the top candidates in order, one per distinct title, each close enough to
    the first (its score at least `close_share` of the first's). The first is always offered."""
    chosen: list = []
    seen: set[str] = set()
    floor = (hits[0].score * close_share) if hits else 0.0
    for hit in hits:
        title = hit.doc.title
        if title in seen or (chosen and hit.score < floor):
            continue
        seen.add(title)
        chosen.append(hit)
        if len(chosen) == max_choices:
            break
    return chosen
