"""How well the answer/clarify/escalate policy behaves on labelled questions: the targets of issue 3 and a
risk-coverage table (answered precision against the share of questions answered) with its area under the curve."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from core.policy import Thresholds, decide


def policy_metrics(
    p1: Sequence[float], p3: Sequence[float], top1_correct: Sequence[bool], top3_has: Sequence[bool],
    answerable: Sequence[bool], thresholds: Thresholds,
) -> dict:
    decisions = [decide(a, b, thresholds) for a, b in zip(p1, p3)]
    n = len(decisions)
    answered = [i for i, d in enumerate(decisions) if d == "answer"]
    clarified = [i for i, d in enumerate(decisions) if d == "clarify"]
    unanswerable = [i for i in range(n) if not answerable[i]]
    share = lambda idx, pred: sum(1 for i in idx if pred(i)) / len(idx) if idx else None  # noqa: E731
    return {
        "questions": n,
        "answered": len(answered), "clarified": len(clarified),
        "escalated": n - len(answered) - len(clarified),
        "coverage_answered": len(answered) / n if n else 0.0,
        "answered_precision_grade2": share(answered, lambda i: top1_correct[i]),
        "clarify_offers_grade2": share(clarified, lambda i: top3_has[i]),
        "no_grade2_escalated_or_clarified": share(unanswerable, lambda i: decisions[i] != "answer"),
        "thresholds": {"answer": thresholds.answer, "clarify": thresholds.clarify},
    }


def risk_coverage(p1: Sequence[float], top1_correct: Sequence[bool], steps: int = 10) -> dict:
    """Answer the most confident fraction c of questions: precision at each coverage, and the curve's area
    (mean selective risk over all coverages; lower is better)."""
    order = np.argsort(-np.asarray(p1))
    correct = np.asarray(top1_correct, dtype=float)[order]
    cumulative = np.cumsum(correct) / np.arange(1, len(correct) + 1)
    table = []
    for k in range(1, steps + 1):
        upto = max(1, int(round(len(correct) * k / steps)))
        table.append({"coverage": round(upto / len(correct), 3), "precision": round(float(cumulative[upto - 1]), 4),
                      "min_confidence": round(float(np.asarray(p1)[order][upto - 1]), 4)})
    aurc = float(np.mean(1.0 - cumulative)) if len(cumulative) else 0.0
    return {"table": table, "aurc": round(aurc, 4)}


RELIABILITY_BINS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def reliability(p: Sequence[float], outcome: Sequence[float], bins: Sequence[float] = RELIABILITY_BINS) -> list[dict]:
    """The reliability curve: per confidence band, how many questions, their mean confidence and how often they
    were right. A calibrated model's two columns agree; an under-confident one is right more often than it says."""
    p, outcome = np.asarray(p, dtype=float), np.asarray(outcome, dtype=float)
    rows = []
    for low, high in zip(bins[:-1], bins[1:]):
        inside = (p >= low) & ((p < high) if high < bins[-1] else (p <= high))
        if inside.any():
            rows.append({"band": f"{low:.1f}–{high:.1f}", "questions": int(inside.sum()),
                         "mean_confidence": round(float(p[inside].mean()), 4),
                         "rate_right": round(float(outcome[inside].mean()), 4)})
    return rows
