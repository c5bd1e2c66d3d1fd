"""The knowledge base the rest of the system calls: one retrieval pipeline, one index per tenant (loaded lazily,
reloaded when a re-ingest changes it on disk)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from config.settings import Settings, get_settings
from config.tenancy import UnknownTenant, get_tenant
from knowledge.components import build_retrieval_pipeline
from knowledge.confidence import ConfidenceModel
from knowledge.embedder import get_embedder, limit_blas_threads
from knowledge.index import Hit, IndexFormatError, TenantIndex
from knowledge.ingestion import tenant_index_dir
from knowledge.rerank import Reranker
from knowledge.search_config import load_search_config
from knowledge.text import get_tokenizer
from knowledge.variants import VARIANTS_FILE, VariantIndex, variant_options


class IndexMissing(LookupError):
    """The tenant has no index yet: run `madoguchi ingest --tenant T`."""


@dataclass
class Retrieval:
    query: str
    tenant: str
    hits: list[Hit]
    confidence: float  # P(top hit answers the question)
    confidence_top3: float  # P(one of the top 3 does)
    features: dict[str, float]
    index_version: str
    terms: list[str]
    timings_ms: dict[str, float] = field(default_factory=dict)
    documents: list[Any] = field(default_factory=list)  # haystack Documents, for Haystack-native consumers
    vector: Any = None  # the query's dense vector (reused, e.g. to match curated answers without re-embedding)


class KnowledgeBase:
    def __init__(self, settings: Settings | None = None, question_variants: bool = True) -> None:
        """`question_variants`: search with the reviewed question variants of tenants that use them (off: every
        tenant searches its official text only, as a new city does on its first day)."""
        self.settings = settings or get_settings()
        self.question_variants = question_variants
        self._variants: dict[str, tuple[float, VariantIndex | None]] = {}
        limit_blas_threads(self.settings.blas_threads)
        search = load_search_config()
        self.tokenizer = get_tokenizer()
        self.embedder = get_embedder(self.settings.embedder, self.settings.embed_threads)
        self.reranker = Reranker.load()
        self.confidence_model = ConfidenceModel.load()
        self._indexes: dict[str, tuple[float, TenantIndex]] = {}
        self._lock = threading.Lock()
        self.pipeline = build_retrieval_pipeline(
            self.tokenizer, self.embedder, self.index, search.fusion, self.reranker, self.confidence_model,
            search.candidates_per_run,
        )
        self.rerank_depth = int(search.raw.get("rerank_depth", 30))

    def use_models(self, reranker: Reranker, confidence_model: ConfidenceModel) -> None:
        """Answer with newly learned models from now on (calibration scores what it just learned)."""
        self.reranker, self.confidence_model = reranker, confidence_model
        self.pipeline.get_component("rerank").reranker = reranker
        self.pipeline.get_component("confidence").model = confidence_model

    def index(self, tenant: str) -> TenantIndex:
        directory = tenant_index_dir(self.settings, tenant)
        manifest = directory / "manifest.json"
        if not manifest.exists():
            raise IndexMissing(f"no index for tenant {tenant!r}: run `madoguchi ingest --tenant {tenant}`")
        stamp = manifest.stat().st_mtime
        with self._lock:
            cached = self._indexes.get(tenant)
            if cached is None or cached[0] != stamp:
                try:
                    cached = (stamp, TenantIndex.load(directory))
                except IndexFormatError as exc:
                    raise IndexMissing(str(exc)) from exc
                self._indexes[tenant] = cached
            cached[1].variants = self._variants_of(tenant, directory) if self.question_variants else None
            return cached[1]

    def _variants_of(self, tenant: str, directory: Any) -> VariantIndex | None:
        """The tenant's variants if its YAML turns them on and they were built (reloaded when rebuilt)."""
        path = directory / VARIANTS_FILE
        if not path.exists() or not _uses_variants(tenant, self.settings):
            return None
        stamp = path.stat().st_mtime
        cached = self._variants.get(tenant)
        if cached is None or cached[0] != stamp:
            cached = (stamp, VariantIndex.load(directory))
            self._variants[tenant] = cached
        return cached[1]

    def has_index(self, tenant: str) -> bool:
        return (tenant_index_dir(self.settings, tenant) / "manifest.json").exists()

    def retrieve(self, tenant: str, query: str, top_k: int = 10, vector: Any = None) -> Retrieval:
        """`vector`: the query's embedding when the caller already has it (the turn embeds once)."""
        started = time.perf_counter()
        self.index(tenant)  # raise IndexMissing before the pipeline wraps it
        out = self.pipeline.run(
            {"analyze": {"query": query, "vector": vector}, "retrieve": {"tenant": tenant, "depth": max(self.rerank_depth, top_k)},
             "rerank": {"top_k": top_k}, "confidence": {"tenant": tenant}},
            include_outputs_from={"analyze", "retrieve", "confidence"},
        )
        timings = {**out["analyze"]["timings"], **out["retrieve"]["timings"],
                   "total": (time.perf_counter() - started) * 1e3}
        return Retrieval(
            query=query, tenant=tenant, hits=out["confidence"]["hits"],
            confidence=out["confidence"]["confidence"], confidence_top3=out["confidence"]["confidence_top3"],
            features=out["confidence"]["features"], index_version=out["retrieve"]["index_version"],
            terms=out["analyze"]["terms"], timings_ms=timings, documents=out["documents"]["documents"],
            vector=out["analyze"]["vector"],
        )


def _uses_variants(tenant: str, settings: Settings) -> bool:
    try:
        return variant_options(get_tenant(tenant, settings.tenants_dir).raw) is not None
    except UnknownTenant:
        return False
