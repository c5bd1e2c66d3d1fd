"""The hybrid index: lexical and dense runs, fusion, persistence, and the embedding cache."""
import numpy as np
import pytest

from knowledge.embedcache import EmbeddingCache
from knowledge.fusion import FusionConfig
from knowledge.index import FEEDBACK_RUN, FeedbackConfig, TenantIndex, build_index
from knowledge.text import get_tokenizer
from tests.knowledge.helpers import CITY_DOCS, CharGramEmbedder, doc

FUSION = FusionConfig(k=10, weights={"bm25_full": 1, "bm25_title": 0.5, "dense_title": 1, "dense_body": 1,
                                         "dense_title_sym": 0})



def search(index, embedder, query, top_k=5):
    terms = get_tokenizer().search_terms(query)
    runs = index.run_scores(terms, embedder.embed_queries([query])[0])
    return index.fuse(runs, FUSION, candidates=50, top_k=top_k)


class TestSearch:
    def test_finds_the_document_by_its_words(self, index, embedder):
        assert search(index, embedder, "住民票はコンビニで取れますか")[0].doc.doc_id == "1"

    def test_kana_variant_and_inflection_still_match(self, index, embedder):
        assert search(index, embedder, "ゴミの出し方")[0].doc.doc_id in {"2", "5"}

    def test_every_hit_carries_its_signals_and_citation(self, index, embedder):
        hit = search(index, embedder, "犬の登録")[0]
        assert hit.doc.doc_id == "4" and hit.doc.url and hit.doc.as_of == "2024"
        assert set(hit.scores) == {"bm25_full", "bm25_title", "dense_title", "dense_body", "dense_title_sym"}
        assert hit.ranks["bm25_full"] == 1 and hit.fused == hit.score > 0

    def test_a_query_with_no_known_word_still_gets_dense_candidates(self, index, embedder):
        hits = search(index, embedder, "zzzz")
        assert hits and all("bm25_full" not in h.ranks for h in hits)


class TestBuild:
    def test_repeated_doc_id_keeps_the_last_version(self, embedder, cache):
        built, report = build_index("t1", [doc("1", "古い", "古い本文"), doc("1", "新しい", "新しい本文")],
                                    get_tokenizer(), embedder, cache)
        assert len(built) == 1 and built.document("1").title == "新しい" and report.documents == 1

    def test_unchanged_content_is_not_embedded_again(self, embedder, cache):
        build_index("t1", CITY_DOCS, get_tokenizer(), embedder, cache)
        calls = embedder.calls
        _, report = build_index("t1", CITY_DOCS, get_tokenizer(), embedder, cache)
        assert report.embedded_new == 0 and embedder.calls == calls

    def test_only_changed_documents_are_embedded(self, embedder, cache):
        build_index("t1", CITY_DOCS, get_tokenizer(), embedder, cache)
        changed = CITY_DOCS[:-1] + [doc("5", "粗大ごみの出し方", "粗大ごみは予約制です。")]
        _, report = build_index("t1", changed, get_tokenizer(), embedder, cache)
        assert report.embedded_new == 1  # the body changed; the title vector is reused

    def test_version_changes_with_content(self, embedder, cache):
        first, _ = build_index("t1", CITY_DOCS, get_tokenizer(), embedder, cache)
        second, _ = build_index("t1", CITY_DOCS[:-1], get_tokenizer(), embedder, cache)
        assert first.version != second.version


class TestPersistence:
    def test_save_and_load_round_trip(self, index, embedder, tmp_path):
        index.save(tmp_path / "t1")
        loaded = TenantIndex.load(tmp_path / "t1")
        assert loaded.version == index.version and len(loaded) == len(index)
        assert np.allclose(loaded.title_vectors, index.title_vectors)
        assert search(loaded, embedder, "児童手当の申請")[0].doc.doc_id == "3"

    def test_a_loaded_index_holds_each_term_once(self, index, tmp_path):
        index.save(tmp_path / "t1")
        loaded = TenantIndex.load(tmp_path / "t1")
        terms = [term for terms in loaded.tokens_full + loaded.tokens_title for term in terms]
        assert len(terms) > len(set(terms))  # the city's documents share words
        assert len({id(term) for term in terms}) == len(set(terms))
        assert loaded.tokens_full == index.tokens_full and loaded.tokens_title == index.tokens_title

    def test_manifest_summarises_sources_for_the_transparency_page(self, index):
        (source,) = index.manifest["sources"]
        assert source["source"] == "テスト資料" and source["documents"] == 5 and source["as_of"] == "2024"


def test_a_rebuild_reuses_the_terms_of_unchanged_passages(tmp_path):
    """A website sync rebuilds with the previous index: only new or changed passages are tokenised again."""
    from knowledge.embedcache import EmbeddingCache
    from knowledge.index import build_index
    from knowledge.text import get_tokenizer
    from tests.knowledge.helpers import CITY_DOCS, CharGramEmbedder, doc

    class CountingTokenizer:
        def __init__(self):
            self.inner, self.texts = get_tokenizer(), []
            self.version = self.inner.version

        def search_terms(self, text):
            self.texts.append(text)
            return self.inner.search_terms(text)

    cache = EmbeddingCache(tmp_path / "cache.sqlite", CharGramEmbedder.dim)
    tokenizer = CountingTokenizer()
    first, _ = build_index("t1", CITY_DOCS, tokenizer, CharGramEmbedder(), cache)
    tokenizer.texts.clear()
    changed = doc("2", "ごみの分別方法を知りたい", "燃やすごみは週3回になりました。")
    second, _ = build_index("t1", [changed if d.doc_id == "2" else d for d in CITY_DOCS], tokenizer,
                            CharGramEmbedder(), cache, reuse=first)
    assert tokenizer.texts == [f"{changed.title}\n{changed.body}", changed.title]
    assert second.tokens_full[1] == tokenizer.inner.search_terms(f"{changed.title}\n{changed.body}")
    assert second.tokens_full[0] == first.tokens_full[0]
    cache.close()


# Two certificates issued at the same counter: the second shares the first's words but not the word 住民票.
COUNTER_DOCS = [
    doc("r", "住民票の写しを取りたい", "住民票の写しは市民課の窓口とコンビニ交付で請求できます。"),
    doc("s", "印鑑登録証明書を取りたい", "印鑑登録証明書は市民課の窓口とコンビニ交付で請求できます。"),
    doc("d", "犬の登録について", "生後91日以上の犬は保健所で登録してください。"),
]
ONE_DOCUMENT = FeedbackConfig(documents=1, terms=5, query_weight=2)


class TestFeedback:
    @pytest.fixture
    def counter_index(self, embedder, cache):
        built, _ = build_index("t1", COUNTER_DOCS, get_tokenizer(), embedder, cache)
        return built

    def runs(self, index, embedder, query, feedback):
        terms = get_tokenizer().search_terms(query)
        return index.search_runs(terms, embedder.embed_queries([query])[0], FUSION, 50, feedback)

    def test_the_feedback_run_reaches_a_document_sharing_the_first_candidates_words(self, counter_index, embedder):
        runs = self.runs(counter_index, embedder, "住民票", ONE_DOCUMENT)
        row = {d.doc_id: i for i, d in enumerate(counter_index.docs)}
        assert runs["bm25_full"][row["s"]] == 0  # the question's own word is not in it
        assert runs[FEEDBACK_RUN][row["s"]] > runs[FEEDBACK_RUN][row["d"]] == 0
        assert runs[FEEDBACK_RUN].argmax() == row["r"]  # the question's words still count most

    def test_the_expansion_is_the_first_candidates_words_not_the_questions(self, counter_index):
        terms = get_tokenizer().search_terms("住民票")
        shared = counter_index._shared_terms([0], terms, 20)
        assert {"コンビニ", "窓口"} <= set(shared) and not set(shared) & set(terms)
        assert not any(t.startswith("syn:") for t in shared)

    def test_without_feedback_or_words_there_is_no_feedback_run(self, counter_index, embedder):
        assert FEEDBACK_RUN not in self.runs(counter_index, embedder, "住民票", None)
        assert FEEDBACK_RUN not in self.runs(counter_index, embedder, "教えてください", ONE_DOCUMENT)

    def test_the_feedback_run_is_recorded_for_the_hits_but_not_fused(self, counter_index, embedder):
        runs = self.runs(counter_index, embedder, "住民票", ONE_DOCUMENT)
        plain = {run: scores for run, scores in runs.items() if run != FEEDBACK_RUN}
        with_feedback, without = (counter_index.fuse(r, FUSION, 50, 3) for r in (runs, plain))
        assert [h.doc.doc_id for h in with_feedback] == [h.doc.doc_id for h in without]
        assert [h.fused for h in with_feedback] == [h.fused for h in without]
        assert all(FEEDBACK_RUN in h.scores for h in with_feedback)

    def test_the_configuration_switches_it_off_when_absent_or_disabled(self):
        assert FeedbackConfig.from_dict(None) is None
        assert FeedbackConfig.from_dict({"enabled": False, "documents": 3}) is None
        assert FeedbackConfig.from_dict({"documents": 3}) == FeedbackConfig(documents=3, terms=10, query_weight=2)
