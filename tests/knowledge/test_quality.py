"""Retrieval quality on the LocalgovFAQ dev split through the real pipeline (floors well below the measured
figures, so a regression fails loudly; the test split is only ever reported, by bench/retrieval.py)."""
import pytest

from knowledge.evaluation import evaluate, read_queries

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def dev_run(knowledge_base, localgovfaq_dir):
    queries = read_queries(localgovfaq_dir / "queries-dev.jsonl")
    results = {q.id: knowledge_base.retrieve("amagasaki", q.text, top_k=10) for q in queries}
    return queries, results


def test_dev_split_quality_holds(dev_run):
    queries, results = dev_run
    metrics = evaluate({qid: [h.doc.doc_id for h in r.hits] for qid, r in results.items()}, queries)
    assert metrics["recall@10"] >= 0.72
    assert metrics["mrr@10"] >= 0.62


def test_every_answer_has_ten_cited_sources_with_scores(dev_run):
    _, results = dev_run
    for result in results.values():
        assert len(result.hits) == 10
        assert all(h.doc.tenant == "amagasaki" and h.doc.citation for h in result.hits)
        scores = [h.score for h in result.hits]
        assert scores == sorted(scores, reverse=True)


def test_confidence_separates_right_from_wrong_answers(dev_run):
    queries, results = dev_run
    right = [results[q.id].confidence for q in queries if q.relevant.get(results[q.id].hits[0].doc.doc_id) == 2]
    wrong = [results[q.id].confidence for q in queries if q.relevant.get(results[q.id].hits[0].doc.doc_id) != 2]
    assert sum(right) / len(right) > sum(wrong) / len(wrong) + 0.15


def test_tenants_do_not_mix(knowledge_base):
    tokyo = knowledge_base.retrieve("tokyo", "ガラスびんは何ごみですか", top_k=10)
    amagasaki = knowledge_base.retrieve("amagasaki", "ガラスびんは何ごみですか", top_k=10)
    assert {h.doc.tenant for h in tokyo.hits} == {"tokyo"}
    assert {h.doc.tenant for h in amagasaki.hits} == {"amagasaki"}


def test_haystack_documents_carry_the_citation_fields(knowledge_base):
    result = knowledge_base.retrieve("tokyo", "世田谷区でガラスびんは何ごみ？", top_k=10)
    document = result.documents[0]
    assert document.meta["tenant"] == "tokyo" and document.meta["doc_id"] == result.hits[0].doc.doc_id
    assert document.meta["source"] and document.meta["as_of"] and document.score == result.hits[0].score
