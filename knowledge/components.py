"""Retrieval as Haystack components: analyse the query, search a tenant's hybrid index, score confidence.

Each component validates its configuration in __init__ and returns a dict of declared outputs from run(), so a
deployment can replace one (e.g. the dense search with a pgvector or OpenSearch retriever) without touching
dialogue/. `build_retrieval_pipeline` wires them into a haystack Pipeline.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

import numpy as np
from haystack import Document, Pipeline, component

from knowledge.confidence import ANY_KIND, ConfidenceModel
from knowledge.embedder import Embedder
from knowledge.fusion import FusionConfig
from knowledge.index import FeedbackConfig, Hit, TenantIndex
from knowledge.rerank import Reranker
from knowledge.text import JapaneseTokenizer

IndexProvider = Callable[[str], TenantIndex]


@component
class QueryAnalyzer:
    """Query → lexical terms (Sudachi normalized forms and synonym groups) and a dense query vector (unless the caller brings one)."""

    def __init__(self, tokenizer: JapaneseTokenizer, embedder: Embedder) -> None:
        self.tokenizer = tokenizer
        self.embedder = embedder

    @component.output_types(terms=list, vector=np.ndarray, timings=dict)
    def run(self, query: str, vector: Optional[np.ndarray] = None) -> dict[str, Any]:
        started = time.perf_counter()
        terms = self.tokenizer.search_terms(query)
        tokenized = time.perf_counter()
        if vector is None:
            vector = self.embedder.embed_queries([query])[0]
        return {
            "terms": terms,
            "vector": vector,
            "timings": {"tokenize": (tokenized - started) * 1e3, "embed": (time.perf_counter() - tokenized) * 1e3},
        }


@component
class HybridIndexRetriever:
    """Lexical and dense runs over one tenant's index, fused by weighted reciprocal rank (`depth` candidates), with
    the feedback run recorded for the re-ranker when `feedback` is set."""

    def __init__(self, index_provider: IndexProvider, fusion: FusionConfig, candidates_per_run: int = 100,
                 feedback: FeedbackConfig | None = None) -> None:
        if candidates_per_run < 10:
            raise ValueError("candidates_per_run must be at least 10")
        if feedback is not None and min(feedback.documents, feedback.terms, feedback.query_weight) < 1:
            raise ValueError("feedback documents, terms and query_weight must be at least 1")
        self.index_provider = index_provider
        self.fusion = fusion
        self.candidates_per_run = candidates_per_run
        self.feedback = feedback

    @component.output_types(hits=list, best=dict, term_weights=dict, index_version=str, timings=dict)
    def run(self, tenant: str, terms: list, vector: np.ndarray, depth: int = 30) -> dict[str, Any]:
        started = time.perf_counter()
        index = self.index_provider(tenant)
        runs = index.search_runs(terms, vector, self.fusion, self.candidates_per_run, self.feedback)
        hits = index.fuse(runs, self.fusion, self.candidates_per_run, depth)
        return {"hits": hits, "best": index.best_scores(runs), "term_weights": index.term_weights(terms),
                "index_version": index.version,
                "timings": {"search": (time.perf_counter() - started) * 1e3}}


@component
class LearnedReranker:
    """Re-orders the fused candidates by a learned P(relevant) and keeps the best top_k."""

    def __init__(self, reranker: Reranker) -> None:
        self.reranker = reranker

    @component.output_types(hits=list)
    def run(self, hits: list, best: dict, terms: list, term_weights: dict, top_k: int = 10) -> dict[str, Any]:
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        return {"hits": self.reranker.rerank(hits, best, terms, term_weights)[:top_k]}


@component
class ConfidenceScorer:
    """Calibrated probabilities that the top hit answers the question, and that one of the top 3 does, for this
    tenant and the top hit's source type."""

    def __init__(self, model: ConfidenceModel) -> None:
        self.model = model

    @component.output_types(hits=list, confidence=float, confidence_top3=float, features=dict)
    def run(self, hits: list, terms: list, term_weights: dict, tenant: str = "") -> dict[str, Any]:
        features = self.model.features(hits, terms, term_weights)
        kind = hits[0].doc.kind if hits else ANY_KIND
        return {
            "hits": hits,
            "confidence": self.model.probability_top1(features, tenant, kind),
            "confidence_top3": self.model.probability_top3(features, tenant, kind),
            "features": features,
        }


@component
class HaystackDocumentConverter:
    """Hits → haystack Documents carrying their citation fields and scores (for Haystack-native consumers)."""

    @component.output_types(documents=list)
    def run(self, hits: list) -> dict[str, Any]:
        return {"documents": [to_haystack_document(h) for h in hits]}


def to_haystack_document(hit: Hit) -> Document:
    doc = hit.doc
    meta = {
        "doc_id": doc.doc_id, "tenant": doc.tenant, "title": doc.title, "url": doc.url, "citation": doc.citation,
        "source": doc.source, "licence": doc.licence, "attribution": doc.attribution, "as_of": doc.as_of,
        "kind": doc.kind, "ranks": hit.ranks, "run_scores": hit.scores,
    }
    return Document(id=f"{doc.tenant}:{doc.doc_id}", content=doc.body, meta=meta, score=hit.score)


def run_in_order(pipeline: Pipeline, inputs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every component's outputs, the components run in the graph's order, each fed the outputs connected to it and
    its entry of `inputs`. What `pipeline.run` computes for a pipeline without loops or type conversions, without
    its deep copy of every input of every component: that checks each term and hit against Haystack's Component
    protocol, ~40% of a query's time once its vector is known. The components here never change their inputs."""
    graph = pipeline.graph
    if any(data.get("conversion_strategy") for _, _, data in graph.edges(data=True)):
        raise ValueError("run_in_order runs pipelines without type conversions: use pipeline.run")
    outputs: dict[str, dict[str, Any]] = {}
    for name in _senders_first(graph):
        arguments = dict(inputs.get(name, {}))
        for sender, _, data in graph.in_edges(name, data=True):
            arguments[data["to_socket"].name] = outputs[sender][data["from_socket"].name]
        outputs[name] = pipeline.get_component(name).run(**arguments)
    return outputs


def _senders_first(graph: Any) -> list[str]:
    """The components in an order where each comes after every component connected to its inputs."""
    order: list[str] = []
    placed: set[str] = set()

    def place(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"run_in_order runs pipelines without loops ({' → '.join((*path, name))}): use pipeline.run")
        if name not in placed:
            for sender in graph.predecessors(name):
                place(sender, (*path, name))
            placed.add(name)
            order.append(name)

    for name in graph.nodes:
        place(name, ())
    return order


def build_retrieval_pipeline(
    tokenizer: JapaneseTokenizer,
    embedder: Embedder,
    index_provider: IndexProvider,
    fusion: FusionConfig,
    reranker: Reranker,
    confidence: ConfidenceModel,
    candidates_per_run: int = 100,
    feedback: FeedbackConfig | None = None,
) -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("analyze", QueryAnalyzer(tokenizer, embedder))
    pipeline.add_component("retrieve", HybridIndexRetriever(index_provider, fusion, candidates_per_run, feedback))
    pipeline.add_component("rerank", LearnedReranker(reranker))
    pipeline.add_component("confidence", ConfidenceScorer(confidence))
    pipeline.add_component("documents", HaystackDocumentConverter())
    pipeline.connect("analyze.terms", "retrieve.terms")
    pipeline.connect("analyze.vector", "retrieve.vector")
    pipeline.connect("retrieve.hits", "rerank.hits")
    pipeline.connect("retrieve.best", "rerank.best")
    pipeline.connect("retrieve.term_weights", "rerank.term_weights")
    pipeline.connect("analyze.terms", "rerank.terms")
    pipeline.connect("rerank.hits", "confidence.hits")
    pipeline.connect("analyze.terms", "confidence.terms")
    pipeline.connect("retrieve.term_weights", "confidence.term_weights")
    pipeline.connect("confidence.hits", "documents.hits")
    return pipeline
