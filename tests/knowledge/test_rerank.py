"""The re-ranker's signals: one column per named feature, the feedback run's among them."""
import pytest

from knowledge.index import FEEDBACK_RUN, Hit
from knowledge.rerank import FEATURES, feature_matrix
from tests.knowledge.helpers import doc


def hit(doc_id, ranks, scores, fused):
    return Hit(doc=doc(doc_id, "住民票の写し", "市民課で請求できます。"), score=fused, rank=1, fused=fused,
               ranks=ranks, scores=scores, terms=["住民票", "写し", "市民", "課", "請求"], title_terms=["住民票", "写し"])


def test_each_candidate_has_one_value_per_named_feature_and_the_feedback_runs_signals():
    best = {"bm25_full": 4.0, FEEDBACK_RUN: 8.0}
    inside = hit("1", {"bm25_full": 1, FEEDBACK_RUN: 2}, {"bm25_full": 4.0, FEEDBACK_RUN: 6.0}, 0.2)
    outside = hit("2", {"bm25_full": 3}, {"bm25_full": 1.0, FEEDBACK_RUN: 0.0}, 0.1)
    matrix = feature_matrix([inside, outside], best, ["住民票"])
    assert matrix.shape == (2, len(FEATURES))
    column = {name: matrix[:, i] for i, name in enumerate(FEATURES)}
    assert column["rr_bm25_feedback"].tolist() == [0.5, 0.0]  # 1/rank; outside the run's candidates: none
    assert column["bm25_feedback_rel"] == pytest.approx([0.75, 0.0])  # against the run's best candidate
    assert column["rr_bm25_full"].tolist() == pytest.approx([1.0, 1 / 3])
