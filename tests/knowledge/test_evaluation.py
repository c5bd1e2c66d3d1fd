import math

import pytest

from knowledge.evaluation import EvalQuery, evaluate, mrr_at, ndcg_at, recall_at


def test_recall_counts_grade_one_and_two():
    assert recall_at(["a", "x", "b"], {"a": 2, "b": 1, "c": 1}, k=3) == pytest.approx(2 / 3)


def test_mrr_is_the_first_relevant_position():
    assert mrr_at(["x", "y", "a"], {"a": 1}) == pytest.approx(1 / 3)
    assert mrr_at(["x"], {"a": 2}) == 0.0


def test_ndcg_uses_exponential_gains():
    ranked = ["b", "a"]
    relevant = {"a": 2, "b": 1}
    dcg = 1 / math.log2(2) + 3 / math.log2(3)
    idcg = 3 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(ranked, relevant) == pytest.approx(dcg / idcg)


def test_hit_at_one_counts_grade_two_only_over_answerable_queries():
    queries = [EvalQuery("1", "q", {"a": 2}), EvalQuery("2", "q", {"b": 1}), EvalQuery("3", "q", {"c": 2})]
    result = evaluate({"1": ["a"], "2": ["b"], "3": ["x"]}, queries)
    assert result["hit@1_grade2"] == pytest.approx(0.5)
    assert result["queries_with_grade2"] == 2
    assert result["recall@10"] == pytest.approx(2 / 3)
