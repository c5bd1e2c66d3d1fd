import numpy as np

from knowledge.fusion import FusionConfig, top_indices, weighted_rrf


class TestTopIndices:
    def test_best_first(self):
        assert top_indices(np.array([0.1, 0.9, 0.5, 0.7]), 3).tolist() == [1, 3, 2]

    def test_n_larger_than_the_array(self):
        assert top_indices(np.array([0.2, 0.1]), 10).tolist() == [0, 1]

    def test_empty(self):
        assert top_indices(np.array([]), 5).tolist() == []


class TestWeightedRRF:
    def test_agreement_beats_a_single_first_place(self):
        rankings = {"bm25_full": np.array([7, 3, 5]), "dense_title": np.array([3, 9, 5])}
        fused = weighted_rrf(rankings, FusionConfig(k=10, weights={"bm25_full": 1, "dense_title": 1}))
        assert max(fused, key=fused.get) == 3  # 2nd and 1st beats 1st and absent

    def test_weights_scale_each_run(self):
        rankings = {"bm25_full": np.array([1]), "dense_title": np.array([2])}
        fused = weighted_rrf(rankings, FusionConfig(k=10, weights={"bm25_full": 2, "dense_title": 1}))
        assert fused[1] == 2 * fused[2]

    def test_a_zero_weight_run_is_ignored(self):
        rankings = {"bm25_full": np.array([1]), "dense_body": np.array([2])}
        fused = weighted_rrf(rankings, FusionConfig(k=10, weights={"bm25_full": 1, "dense_body": 0}))
        assert set(fused) == {1}
