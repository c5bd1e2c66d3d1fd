"""Learned question variants: reviewed questions raise their document in search, are never documents themselves,
and a labelled question is measured without its own mark."""
import json

import numpy as np
import pytest

from config.settings import Settings
from config.tenancy import load_tenant_file
from knowledge import ingestion, variants_build
from knowledge.evaluation import EvalQuery
from knowledge.fusion import FusionConfig
from knowledge.index import TenantIndex
from knowledge.knowledge_base import KnowledgeBase
from knowledge.text import get_tokenizer
from knowledge.variants import (
    NO_VARIANT, VARIANTS_FILE, QuestionVariant, VariantIndex, embed_variants, question_key, variant_options,
    variants_from_labels,
)
from tests.knowledge.helpers import CITY_DOCS

FUSION = FusionConfig(k=10, weights={"bm25_full": 1, "dense_body": 1, "dense_variant": 3})
# How residents asked for the 粗大ごみ entry (doc 5), in words its official text does not use.
SOFA_QUESTION = "要らなくなったソファーを引き取ってほしい"



def search(index, embedder, query, leave_out=()):
    terms = get_tokenizer().search_terms(query)
    runs = index.run_scores(terms, embedder.embed_queries([query])[0], leave_out)
    return runs, index.fuse(runs, FUSION, candidates=50, top_k=5)


class TestVariantIndex:
    def test_each_document_scores_its_closest_variant_and_the_rest_none(self, embedder):
        variants = [QuestionVariant("5", SOFA_QUESTION, "a"), QuestionVariant("5", "自転車を捨てたい", "b"),
                    QuestionVariant("1", "住民票がほしい", "c")]
        built = VariantIndex(variants, embedder.embed_queries([v.question for v in variants]))
        scores = built.scores({"1": 0, "2": 1, "5": 2}, 3, embedder.embed_queries([SOFA_QUESTION])[0])
        assert scores[2] == pytest.approx(1.0, abs=1e-5)  # the same question was reviewed before
        assert scores[1] == NO_VARIANT and NO_VARIANT < scores[0] < scores[2]

    def test_a_left_out_question_does_not_score_its_document(self, embedder):
        variants = [QuestionVariant("5", SOFA_QUESTION, "a")]
        built = VariantIndex(variants, embedder.embed_queries([SOFA_QUESTION]))
        vector = embedder.embed_queries([SOFA_QUESTION])[0]
        scores = built.scores({"5": 0}, 1, vector, leave_out={question_key("要らなくなった ソファーを引き取ってほしい")})
        assert scores[0] == NO_VARIANT

    def test_saved_and_loaded_alike_and_a_half_written_pair_is_ignored(self, tmp_path, embedder):
        variants = [QuestionVariant("5", SOFA_QUESTION, "file:dev.jsonl:7")]
        VariantIndex(variants, embedder.embed_queries([SOFA_QUESTION])).save(tmp_path)
        loaded = VariantIndex.load(tmp_path)
        assert loaded.variants == variants and loaded.vectors.shape == (1, embedder.dim)
        np.save(tmp_path / "variant_vectors.npy", np.zeros((2, embedder.dim), dtype=np.float32))
        assert VariantIndex.load(tmp_path) is None
        VariantIndex.remove(tmp_path)
        assert VariantIndex.load(tmp_path) is None


class TestFromLabels:
    def test_only_answering_sources_still_indexed_and_each_question_once(self):
        queries = [EvalQuery("7", SOFA_QUESTION, {"5": 2, "2": 1, "gone": 2}),
                   EvalQuery("8", SOFA_QUESTION + " ", {"5": 2}), EvalQuery("9", "税金の相談", {})]
        variants = variants_from_labels(queries, {"1", "2", "5"}, "file:dev.jsonl")
        assert variants == [QuestionVariant("5", SOFA_QUESTION, "file:dev.jsonl:7")]

    def test_options_are_off_unless_the_tenant_turns_them_on(self):
        assert variant_options({}) is None
        assert variant_options({"question_variants": {"enabled": False, "labelled": []}}) is None
        assert variant_options({"question_variants": {"review_marks": True}}) == {"review_marks": True}


class TestSearchWithVariants:
    def test_a_reviewed_way_of_asking_brings_its_document_first(self, index, embedder, cache):
        _, before = search(index, embedder, SOFA_QUESTION)
        index.variants = embed_variants([QuestionVariant("5", SOFA_QUESTION, "review:1")], embedder, cache)
        runs, after = search(index, embedder, SOFA_QUESTION)
        assert before[0].doc.doc_id != "5" and after[0].doc.doc_id == "5"
        # It joins the question-to-title run, which takes the closer of the title and the reviewed question.
        assert runs["dense_title_sym"][index._by_id["5"]] == pytest.approx(1.0, abs=1e-5)
        assert after[0].ranks["dense_variant"] == 1 and "dense_variant" not in after[1].ranks

    def test_the_variant_is_never_the_answer_text(self, index, embedder, cache):
        index.variants = embed_variants([QuestionVariant("5", SOFA_QUESTION, "review:1")], embedder, cache)
        _, hits = search(index, embedder, SOFA_QUESTION)
        assert all(SOFA_QUESTION not in h.doc.body and SOFA_QUESTION != h.doc.title for h in hits)

    def test_measured_without_its_own_mark_search_is_as_before(self, index, embedder, cache):
        runs_before, before = search(index, embedder, SOFA_QUESTION)
        index.variants = embed_variants([QuestionVariant("5", SOFA_QUESTION, "review:1")], embedder, cache)
        runs, after = search(index, embedder, SOFA_QUESTION, leave_out={question_key(SOFA_QUESTION)})
        assert [h.doc.doc_id for h in after] == [h.doc.doc_id for h in before]
        assert np.allclose(runs["dense_title_sym"], runs_before["dense_title_sym"])


@pytest.fixture
def tenant_with_marks(tmp_path, monkeypatch, embedder):
    """A tenant whose YAML names a labelled file of reviewed questions, ingested into a temporary data dir."""
    monkeypatch.setattr(ingestion, "get_embedder", lambda *args, **kwargs: embedder)
    monkeypatch.setattr(variants_build, "get_embedder", lambda *args, **kwargs: embedder)
    faq = tmp_path / "faq.jsonl"
    faq.write_text("\n".join(json.dumps({"id": d.doc_id, "question": d.title, "answer": d.body}, ensure_ascii=False)
                             for d in CITY_DOCS) + "\n", encoding="utf-8")
    labelled = tmp_path / "reviewed.jsonl"
    labelled.write_text(json.dumps({"id": "7", "query": SOFA_QUESTION, "relevant": {"5": 2}}, ensure_ascii=False)
                        + "\n", encoding="utf-8")
    tenants_dir = tmp_path / "tenants"
    tenants_dir.mkdir()
    (tenants_dir / "city.yaml").write_text(
        f"id: city\ndisplay_name: 市\nsources:\n  - loader: faq_jsonl\n    path: \"{faq}\"\n    as_of: '2024'\n"
        f"question_variants:\n  labelled:\n    - path: \"{labelled}\"\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", tenants_dir=tenants_dir, shared_dir=tmp_path)
    tenant = load_tenant_file(tenants_dir / "city.yaml")
    ingestion.ingest_tenant(tenant, settings)
    return tenant, settings


class TestBuiltForATenant:
    def test_rebuilt_from_the_tenants_labelled_file(self, tenant_with_marks):
        tenant, settings = tenant_with_marks
        report = variants_build.rebuild_variants(tenant, settings)
        assert report["variants"] == 1 and report["documents"] == 1
        loaded = VariantIndex.load(settings.index_dir / "city")
        assert [(v.doc_id, v.question) for v in loaded.variants] == [("5", SOFA_QUESTION)]

    def test_turned_off_in_the_yaml_they_are_removed(self, tenant_with_marks):
        tenant, settings = tenant_with_marks
        variants_build.rebuild_variants(tenant, settings)
        off = tenant.__class__(**{**tenant.__dict__, "raw": {**tenant.raw, "question_variants": {"enabled": False}}})
        assert variants_build.rebuild_variants(off, settings)["enabled"] is False
        assert not (settings.index_dir / "city" / VARIANTS_FILE).exists()

    def test_the_knowledge_base_searches_with_them_unless_told_not_to(self, tenant_with_marks, embedder,
                                                                        monkeypatch):
        tenant, settings = tenant_with_marks
        variants_build.rebuild_variants(tenant, settings)
        monkeypatch.setattr("knowledge.knowledge_base.get_embedder", lambda *args, **kwargs: embedder)
        assert len(KnowledgeBase(settings).index("city").variants) == 1
        assert KnowledgeBase(settings, question_variants=False).index("city").variants is None
        assert isinstance(KnowledgeBase(settings).index("city"), TenantIndex)
