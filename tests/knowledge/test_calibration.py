"""Choosing operating thresholds from cross-validated confidences (the fail-safe's knobs)."""
import numpy as np
import pytest

from core.policy import Thresholds, decide
from knowledge.calibration import (
    choose_answer_floor, choose_answer_threshold, choose_clarify_threshold, nested_answering,
)
from knowledge.policy_eval import policy_metrics, reliability, risk_coverage


def test_answer_threshold_keeps_the_target_precision():
    p1 = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([1, 1, 1, 1, 0, 1, 0, 0], dtype=float)
    threshold = choose_answer_threshold(p1, correct, target_precision=0.8)
    answered = p1 >= threshold
    assert correct[answered].mean() >= 0.8 and answered.sum() == 6  # 5 of 6 right; a 7th would drop to 0.71


def test_every_answered_question_must_itself_be_likely_enough_right():
    """The set's average reaches the target down to 0.8 (5 of 6 right), but an answer given at a calibrated 0.8
    is wrong one time in five: the last question answered has to clear the target as well."""
    from knowledge.calibration_run import choose_thresholds

    p1 = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([1, 1, 1, 1, 0, 1, 0, 0], dtype=float)
    p3 = np.clip(p1 + 0.05, 0, 1)
    thresholds = choose_thresholds(p1, p3, correct, correct, target_precision=0.8, clarify_target=0.5)
    assert choose_answer_threshold(p1, correct, target_precision=0.8) == 0.6
    assert thresholds.answer == 0.8 and thresholds.clarify <= thresholds.answer


def _calibrated_labels(n=3000, seed=0):
    """Probabilities that mean what they say: each question is right with its own probability."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.0, 1.0, size=n)
    return p, (rng.uniform(size=n) < p).astype(float)


def test_nested_cross_validation_lowers_the_answer_floor_only_as_far_as_the_target_holds():
    """With calibrated probabilities an answer floor f answers questions right (1 + f) / 2 of the time on average:
    0.92 is kept down to a floor of about 0.84, and no further."""
    p, right = _calibrated_labels()
    floors = [0.8, 0.82, 0.84, 0.86, 0.88, 0.9, 0.92]
    nested = nested_answering(lambda seed: p, right, ["faq"] * len(p), 0.92, floors, seeds=2)
    floor = choose_answer_floor(nested, 0.92)
    by_floor = {row["floor"]: row for row in nested}
    assert 0.82 <= floor <= 0.88
    assert all(by_floor[f]["precision"] >= 0.92 for f in floors if f >= floor)
    assert by_floor[0.8]["precision"] < 0.92 and by_floor[0.8]["coverage"] > by_floor[floor]["coverage"]


def test_without_a_lower_floor_that_keeps_the_target_every_answer_must_clear_the_target_itself():
    nested = [{"floor": 0.88, "coverage": 0.1, "precision": 0.9}, {"floor": 0.9, "coverage": 0.08, "precision": 0.95},
              {"floor": 0.92, "coverage": 0.05, "precision": 0.97}]
    assert choose_answer_floor(nested, 0.92) == 0.9
    # A lower floor that happens to pass below one that fails is not taken: the rule must hold all the way down.
    nested[0]["precision"], nested[1]["precision"] = 0.95, 0.9
    assert choose_answer_floor(nested, 0.92) == 0.92
    assert choose_answer_floor([{"floor": 0.9, "coverage": 0.0, "precision": None}], 0.92) == 0.92


def test_generated_questions_never_lower_the_answer_floor():
    from knowledge.calibration_run import Labels, validated_answer_floor
    from knowledge.evaluation import EvalQuery

    nested = [{"floor": 0.8, "coverage": 0.3, "precision": 0.97}, {"floor": 0.92, "coverage": 0.2, "precision": 0.99}]
    asked = EvalQuery("1", "住民票はどこで取れますか", {"1": 2})
    generated = EvalQuery("g1", "住民票の写しの交付について", {"1": 2})
    assert validated_answer_floor(Labels(labelled=[asked]), nested, 0.92) == 0.8
    assert validated_answer_floor(Labels(labelled=[asked], generated=[generated]), nested, 0.92) == 0.92


def test_choices_are_never_offered_below_the_clarify_floor():
    """The choices' cross-validated share of holding an answer reaches 70% already at 0.2, but a question whose
    choices are less likely than not to hold its answer is handed over."""
    from knowledge.calibration_run import choose_thresholds

    p1 = np.full(10, 0.1)
    p3 = np.array([0.9, 0.8, 0.7, 0.6, 0.55, 0.45, 0.4, 0.3, 0.25, 0.2])
    has = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], dtype=float)
    assert choose_clarify_threshold(p3, has, p1 >= 0.92, target=0.7) == 0.2
    thresholds = choose_thresholds(p1, p3, np.zeros(10), has, 0.92, 0.7, clarify_floor=0.5)
    assert thresholds.clarify == 0.5
    assert [decide(a, b, thresholds) for a, b in zip(p1, p3)].count("clarify") == 5


def test_the_reliability_table_puts_confidence_next_to_how_often_it_was_right():
    p, right = _calibrated_labels(n=4000, seed=1)
    rows = reliability(p, right)
    assert sum(row["questions"] for row in rows) == 4000
    assert all(abs(row["mean_confidence"] - row["rate_right"]) < 0.05 for row in rows)  # calibrated
    under = reliability(p * 0.5, right)  # the same outcomes, half the confidence: under-confident
    assert all(row["rate_right"] > row["mean_confidence"] + 0.05 for row in under if row["questions"] > 100)


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


def test_a_tenant_calibration_has_a_map_per_source_type_only_where_labels_allow():
    from knowledge.calibration import fit_tenant_calibration

    rng = np.random.default_rng(3)
    p = rng.uniform(0.1, 0.9, size=120)
    kinds = ["garbage_item"] * 80 + ["service"] * 25 + ["faq"] * 15
    right = (rng.uniform(size=120) < np.where(np.array(kinds) == "garbage_item", 0.9, 0.2)).astype(float)
    calibration = fit_tenant_calibration(p, p, right, right, kinds, min_per_kind=30)
    assert set(calibration.heads["top1"]) == {"*", "garbage_item"}
    # A garbage-dictionary hit is right far more often here than a service hit: the maps say so.
    assert calibration.apply("top1", "garbage_item", 0.5) > calibration.apply("top1", "service", 0.5) + 0.2


def test_review_marks_become_labelled_questions(db):
    from storage.governance import add_curated_answer
    from knowledge.calibration_labels import known_documents, review_marks
    from tests.knowledge.helpers import CITY_DOCS

    with db.transaction() as conn:
        add_curated_answer(conn, tenant="t1", question="住民票はコンビニで取れる？", question_key="k1",
                           created_by="suzuki", doc_id="1")
        add_curated_answer(conn, tenant="t1", question="独自の回答", question_key="k2", created_by="suzuki",
                           answer="窓口へどうぞ")
        add_curated_answer(conn, tenant="t1", question="消えた文書", question_key="k3", created_by="suzuki",
                           doc_id="gone")
        add_curated_answer(conn, tenant="other", question="よその質問", question_key="k4", created_by="sato",
                           doc_id="1")
    marks = known_documents(review_marks(db, "t1"), CITY_DOCS)
    assert [(m.text, m.relevant) for m in marks] == [("住民票はコンビニで取れる？", {"1": 2})]


@pytest.mark.shared
def test_calibrating_on_the_dev_split_learns_thresholds_that_answer_precisely_and_serve_half(
        knowledge_base, localgovfaq_dir):
    from config.tenancy import get_tenant
    from knowledge.calibration_run import Labels, run_calibration
    from knowledge.confidence import ConfidenceModel
    from knowledge.evaluation import read_queries
    from knowledge.rerank import Reranker

    labels = Labels(labelled=read_queries(localgovfaq_dir / "queries-dev.jsonl"))
    try:
        result = run_calibration(get_tenant("amagasaki"), labels, shared=True, target_precision=0.95,
                                 clarify_target=0.7, write=False, kb=knowledge_base)
    finally:
        knowledge_base.use_models(Reranker.load(), ConfidenceModel.load())  # the session's models, as saved
    thresholds, policy = result["thresholds"], result["cross_validated_policy"]
    assert 0 < thresholds["clarify"] <= thresholds["answer"] <= 1
    assert policy["answered_precision_grade2"] is None or policy["answered_precision_grade2"] >= 0.9
    assert policy["clarify_offers_grade2"] >= 0.6 and policy["no_grade2_escalated_or_clarified"] >= 0.9
    assert result["cross_validated_retrieval"]["mrr@10"] >= 0.65
