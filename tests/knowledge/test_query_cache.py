"""The query caches: a repeated question skips the embedding and the search; bounded; a new index version misses."""
from __future__ import annotations

import pytest

from config.settings import Settings
from knowledge import knowledge_base
from knowledge.embedcache import EmbeddingCache
from knowledge.index import build_index
from knowledge.knowledge_base import KnowledgeBase
from knowledge.lru import BoundedCache
from knowledge.query_cache import CachingEmbedder
from knowledge.text import get_tokenizer
from tests.knowledge.helpers import CITY_DOCS, CharGramEmbedder, doc


class TestBoundedCache:
    def test_the_least_recently_used_entry_leaves_first(self):
        cache: BoundedCache[int] = BoundedCache(2)
        cache.put("a", 1)
        cache.put("b", 2)
        assert cache.get("a") == 1  # "b" is now the least recently used
        cache.put("c", 3)
        assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
        assert len(cache) == 2 and (cache.hits, cache.misses) == (3, 1)

    def test_zero_entries_keeps_nothing(self):
        cache: BoundedCache[int] = BoundedCache(0)
        cache.put("a", 1)
        assert cache.get("a") is None and len(cache) == 0


class TestCachingEmbedder:
    def test_a_repeated_question_is_embedded_once_whatever_its_width_or_spacing(self):
        inner = CharGramEmbedder()
        embedder = CachingEmbedder(inner, max_entries=10)
        first = embedder.embed_queries(["ＰＤＦ の 申請書"])[0]
        again = embedder.embed_queries(["PDF  の 申請書"])[0]
        assert inner.calls == 1
        assert first.tolist() == again.tolist() == inner.embed_queries(["PDF の 申請書"])[0].tolist()

    def test_bulk_calls_and_passages_pass_through_uncached(self):
        inner = CharGramEmbedder()
        embedder = CachingEmbedder(inner, max_entries=100)
        examples = [f"例文{i}" for i in range(20)]
        embedder.embed_queries(examples)
        embedder.embed_passages(["本文"])
        assert inner.calls == 21 and len(embedder.vectors) == 0

    def test_the_cache_stays_within_its_bound(self):
        embedder = CachingEmbedder(CharGramEmbedder(), max_entries=3)
        for i in range(10):
            embedder.embed_queries([f"質問{i}"])
        assert len(embedder.vectors) == 3


def _index(docs, embedder, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite", embedder.dim)
    try:
        return build_index("t1", docs, get_tokenizer(), embedder, cache)[0]
    finally:
        cache.close()


@pytest.fixture
def kb(tmp_path, monkeypatch):
    embedder = CharGramEmbedder()
    monkeypatch.setattr(knowledge_base, "get_embedder", lambda *args, **kwargs: embedder)
    settings = Settings(data_dir=tmp_path / "data")
    _index(CITY_DOCS, embedder, tmp_path).save(settings.index_dir / "t1")
    kb = KnowledgeBase(settings)
    kb.inner_embedder = embedder  # what the test counts
    return kb


class TestRetrievalCache:
    def test_a_repeated_question_is_answered_from_the_cache_with_the_same_hits(self, kb):
        first = kb.retrieve("t1", "粗大ごみの出し方")
        calls = kb.inner_embedder.calls
        second = kb.retrieve("t1", "粗大ごみの出し方")
        assert kb.inner_embedder.calls == calls  # neither embedded nor searched again
        assert "cached" in second.timings_ms and "search" in first.timings_ms
        assert [h.doc.doc_id for h in second.hits] == [h.doc.doc_id for h in first.hits]
        assert second.confidence == first.confidence and second.index_version == first.index_version

    def test_a_step_filtering_its_hits_does_not_change_the_cached_ones(self, kb):
        first = kb.retrieve("t1", "粗大ごみの出し方")
        wanted = [h.doc.doc_id for h in first.hits]
        first.hits = first.hits[1:]
        kb.retrieve("t1", "粗大ごみの出し方").hits.clear()
        assert [h.doc.doc_id for h in kb.retrieve("t1", "粗大ごみの出し方").hits] == wanted

    def test_a_new_index_version_is_searched_afresh(self, kb, tmp_path):
        before = kb.retrieve("t1", "犬の登録")
        changed = CITY_DOCS + [doc("6", "犬の登録の変更", "犬の登録事項が変わったら届け出てください。")]
        _index(changed, kb.inner_embedder, tmp_path).save(kb.settings.index_dir / "t1")
        after = kb.retrieve("t1", "犬の登録")
        assert after.index_version != before.index_version and "search" in after.timings_ms
        assert "6" in [h.doc.doc_id for h in after.hits]
