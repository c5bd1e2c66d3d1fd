"""Choosing operating thresholds from cross-validated confidences (the fail-safe's knobs)."""
import numpy as np
import pytest

from core.policy import Thresholds, decide
from knowledge.calibration import choose_answer_threshold, choose_clarify_threshold
from knowledge.policy_eval import policy_metrics, risk_coverage


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
