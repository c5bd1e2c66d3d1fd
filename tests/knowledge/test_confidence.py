"""The confidence model: logistic fitting, feature extraction, persistence, the uncalibrated fail-safe."""
import numpy as np
import pytest

from knowledge.confidence import FEATURES, ConfidenceModel, LogisticHead, extract_features, fit_logistic
from knowledge.index import Hit
from tests.knowledge.helpers import doc


def test_fit_logistic_learns_a_separable_signal():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + 0.1 * rng.normal(size=400) > 0).astype(float)
    head = fit_logistic(x, y, l2=1.0)
    assert head.probability(np.array([3.0, 0, 0])) > 0.95
    assert head.probability(np.array([-3.0, 0, 0])) < 0.05


def test_probabilities_are_calibrated_on_noisy_labels():
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 3, size=(4000, 1))
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    head = fit_logistic(x, y, l2=0.1)
    assert head.probability(np.array([0.0])) == pytest.approx(0.5, abs=0.05)
    assert head.probability(np.array([2.0])) == pytest.approx(1 / (1 + np.exp(-2)), abs=0.05)


def _hit(doc_id, score, ranks, scores):
    return Hit(doc=doc(doc_id, "t", "b"), score=score, rank=1, fused=score, ranks=ranks, scores=scores,
               terms=["住民", "票"], title_terms=["住民"])


def test_features_describe_the_top_hit_and_its_margin():
    hits = [_hit("1", 0.9, {"bm25_full": 1, "dense_title": 1},
                 {"bm25_full": 12.0, "dense_title": 0.93, "dense_title_sym": 0.95}),
            _hit("2", 0.4, {"bm25_full": 2}, {"bm25_full": 6.0, "dense_title": 0.88, "dense_title_sym": 0.90})]
    features = extract_features(hits, ["住民", "票", "コンビニ"])
    assert set(features) == set(FEATURES)
    assert features["rerank_margin"] == pytest.approx(0.5)
    assert features["sym_margin"] == pytest.approx(0.5)
    assert features["dense_title_margin"] == pytest.approx(0.5)
    assert features["bm25_margin_ratio"] == pytest.approx(0.5)


def test_no_hits_give_all_zero_features():
    assert set(extract_features([], ["x"]).values()) == {0.0}


def test_an_uncalibrated_model_hands_everything_over(tmp_path):
    model = ConfidenceModel.load(tmp_path / "missing.yml")
    assert model.probability_top1(extract_features([], [])) == 0.0


def test_model_round_trips_through_yaml(tmp_path):
    head = LogisticHead(np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.full(len(FEATURES), 0.1), -0.5)
    path = tmp_path / "confidence.yml"
    ConfidenceModel(top1=head, top3=head, meta={"trained_on": "dev"}).save(path)
    loaded = ConfidenceModel.load(path)
    features = {name: 1.0 for name in FEATURES}
    assert loaded.probability_top1(features) == pytest.approx(head.probability(np.ones(len(FEATURES))))
    assert loaded.meta["trained_on"] == "dev"
