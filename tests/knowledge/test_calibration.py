"""Choosing operating thresholds from cross-validated confidences (the fail-safe's knobs)."""
import numpy as np

from core.policy import Thresholds, decide
from knowledge.calibration import choose_answer_threshold, choose_clarify_threshold
from knowledge.policy_eval import policy_metrics, risk_coverage


def test_answer_threshold_keeps_the_target_precision():
    p1 = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([1, 1, 1, 1, 0, 1, 0, 0], dtype=float)
    threshold = choose_answer_threshold(p1, correct, target_precision=0.8)
    answered = p1 >= threshold
    assert correct[answered].mean() >= 0.8 and answered.sum() == 6  # 5 of 6 right; a 7th would drop to 0.71


def test_no_threshold_reaches_the_target_so_nothing_is_answered():
    p1 = np.linspace(0.9, 0.1, 10)
    assert choose_answer_threshold(p1, np.zeros(10), target_precision=0.9) == 1.0


def test_clarify_threshold_only_counts_what_was_not_answered():
    p3 = np.array([0.99, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5])
    has_top3 = np.array([0, 1, 1, 1, 1, 1, 0, 0], dtype=float)
    answered = np.array([True] + [False] * 7)  # the answered question's miss does not count against clarifying
    assert choose_clarify_threshold(p3, has_top3, answered, target=0.9) == 0.7


def test_policy_metrics_and_risk_coverage_agree_with_decide():
    thresholds = Thresholds(answer=0.8, clarify=0.5)
    p1, p3 = [0.9, 0.6, 0.2], [0.95, 0.7, 0.3]
    assert [decide(a, b, thresholds) for a, b in zip(p1, p3)] == ["answer", "clarify", "escalate"]
    metrics = policy_metrics(p1, p3, [True, False, False], [True, True, False], [True, True, False], thresholds)
    assert metrics["answered_precision_grade2"] == 1.0 and metrics["clarify_offers_grade2"] == 1.0
    assert metrics["no_grade2_escalated_or_clarified"] == 1.0
    curve = risk_coverage(p1, [True, False, False], steps=3)
    assert [row["precision"] for row in curve["table"]] == [1.0, 0.5, 0.3333]
