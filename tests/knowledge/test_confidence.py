"""The confidence model: logistic fitting, feature extraction, persistence, the uncalibrated fail-safe."""
import numpy as np
import pytest

from knowledge.confidence import (
    FEATURES, ConfidenceModel, LogisticHead, Platt, TenantCalibration, extract_features, fit_logistic, fit_platt,
)
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


def _hit(doc_id, score, ranks, scores, title_terms=("住民",)):
    return Hit(doc=doc(doc_id, "t", "b"), score=score, rank=1, fused=score, ranks=ranks, scores=scores,
               terms=["住民", "票"], title_terms=list(title_terms))


def test_features_describe_the_top_hit_its_margin_and_the_runs_agreement():
    hits = [_hit("1", 0.9, {"bm25_full": 1, "bm25_title": 1, "dense_title": 1, "dense_body": 2, "dense_title_sym": 1},
                 {"dense_title_sym": 0.95}),
            _hit("2", 0.4, {"bm25_full": 2}, {"dense_title_sym": 0.90}),
            _hit("3", 0.1, {"bm25_full": 3}, {"dense_title_sym": 0.85})]
    features = extract_features(hits, ["住民", "票", "コンビニ"], {"住民": 1.0, "票": 1.0, "コンビニ": 2.0})
    assert set(features) == set(FEATURES)
    assert features["rerank_margin"] == pytest.approx(0.5)
    assert features["doc_runs_agree"] == pytest.approx(4 / 5)  # first in both BM25s, dense_title, sym; not body
    assert features["variant_vote"] == 0.0  # no reviewed question ranks it first (this index has none)
    assert features["idf_title_coverage"] == pytest.approx(1 / 4)  # 住民 (weight 1) of 4
    assert features["sym_margin_z"] == pytest.approx(0.05 / np.std([0.95, 0.90, 0.85]))


def test_the_reviewed_questions_vote_for_the_top_hit_only_when_their_run_ranks_it_first():
    voted = _hit("1", 0.9, {"bm25_full": 1, "dense_variant": 1}, {"dense_variant": 0.97})
    outvoted = _hit("1", 0.9, {"bm25_full": 1, "dense_variant": 2}, {"dense_variant": 0.9})
    assert extract_features([voted], ["住民"])["variant_vote"] == 1.0
    assert extract_features([outvoted], ["住民"])["variant_vote"] == 0.0


def test_margins_mean_the_same_whatever_the_score_band():
    """A corpus whose cosines sit in another band (or a scaled run) gives the same features."""
    def hits(scale, offset):
        return [_hit(str(i), p, {"bm25_full": i + 1}, {"dense_title_sym": offset + scale * s})
                for i, (p, s) in enumerate([(0.8, 0.9), (0.5, 0.7), (0.2, 0.6), (0.1, 0.2)])]
    narrow, wide = extract_features(hits(0.1, 0.85), ["住民"]), extract_features(hits(1.0, 0.0), ["住民"])
    narrow.pop("sym_top1"), wide.pop("sym_top1")  # the one raw cosine (on the embedder's scale)
    assert narrow == pytest.approx(wide)


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


def test_platt_calibration_moves_probabilities_to_the_tenants_own_rate():
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.95, size=2000)
    y = (rng.uniform(size=2000) < p * 0.5).astype(float)  # this tenant is right half as often as the model says
    platt = fit_platt(p, y, prior=1.0)
    for value in (0.3, 0.6, 0.9):
        assert platt.apply(value) == pytest.approx(value * 0.5, abs=0.06)


def test_platt_calibration_with_few_labels_stays_near_the_shared_model():
    platt = fit_platt(np.array([0.9, 0.8, 0.7]), np.array([0.0, 0.0, 1.0]), prior=5.0)
    assert abs(platt.apply(0.8) - 0.8) < 0.2


def test_a_tenant_calibration_applies_per_source_type_and_falls_back_to_all():
    calibration = TenantCalibration({"top1": {"*": Platt(1.0, 0.0), "garbage_item": Platt(1.0, 2.0)}})
    assert calibration.apply("top1", "faq", 0.5) == pytest.approx(0.5)
    assert calibration.apply("top1", "garbage_item", 0.5) == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert calibration.apply("top3", "faq", 0.4) == pytest.approx(0.4)  # no map for the head: unchanged


def test_tenant_calibrations_round_trip_and_only_apply_to_their_tenant(tmp_path):
    head = LogisticHead(np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.zeros(len(FEATURES)), 0.0)
    calibration = TenantCalibration({"top1": {"*": Platt(1.0, -1.0)}, "top3": {"*": Platt(1.0, 1.0)}})
    path = tmp_path / "confidence.yml"
    ConfidenceModel(top1=head, top3=head, tenants={"tokyo": calibration}).save(path)
    loaded = ConfidenceModel.load(path)
    features = {name: 0.0 for name in FEATURES}
    assert loaded.probability_top1(features) == pytest.approx(0.5)
    assert loaded.probability_top1(features, "tokyo") == pytest.approx(1 / (1 + np.exp(1.0)))
    assert loaded.probability_top3(features, "tokyo", "faq") == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert loaded.probability_top1(features, "amagasaki") == pytest.approx(0.5)
