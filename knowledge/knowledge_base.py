"""The knowledge base the rest of the system calls: one retrieval pipeline, one index per tenant (loaded lazily).

Where an index comes from (settings.index_source):
- "directory" (one instance): the tenant's index directory, reloaded when a re-ingest changes it on disk;
- "published" (many instances): the version published in the shared database (knowledge/publication.py), checked
  every index_poll_s; a new version is loaded in the background while the old one keeps answering, then swapped
  in, so no turn fails or waits during a swap.
A turn pins the index it started with (`pinned`): every step of it reads the same version, and the turn records it.
Repeated questions skip the embedding and the search (knowledge/query_cache.py).
A tenant that uses reviewed question variants (knowledge/variants.py) searches with them whichever index it serves:
they name documents by id and live in the tenant's index directory, rebuilt by `madoguchi variants`.
"""
from __future__ import annotations

import contextvars
import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from config.settings import Settings, get_settings
from config.tenancy import UnknownTenant, get_tenant
from knowledge.components import build_retrieval_pipeline, run_in_order
from knowledge.confidence import ConfidenceModel
from knowledge.embedder import get_embedder, limit_blas_threads
from knowledge.index import Hit, IndexFormatError, TenantIndex
from knowledge.ingestion import tenant_index_dir
from knowledge.lru import BoundedCache
from knowledge.publication import PublishedIndex, PublishedVersions
from knowledge.query_cache import CachingEmbedder, cache_text
from knowledge.rerank import Reranker
from knowledge.search_config import load_search_config
from knowledge.text import get_tokenizer
from knowledge.variants import VARIANTS_FILE, VariantIndex, variant_options

log = logging.getLogger(__name__)

# The indexes the running turn pinned, by (knowledge base, tenant): a context variable, so each thread's turn has
# its own and a swap in another thread never changes an index under a running turn.
_PINNED: contextvars.ContextVar[dict[tuple[int, str], TenantIndex]] = contextvars.ContextVar("pinned_indexes")


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


@dataclass
class _Served:
    """A published version in memory, and when to ask the database again whether it is still current."""

    index: TenantIndex
    check_after: float


class KnowledgeBase:
    def __init__(self, settings: Settings | None = None, published: PublishedVersions | None = None,
                 question_variants: bool = True) -> None:
        """`question_variants`: search with the reviewed question variants of tenants that use them (off: every
        tenant searches its official text only, as a new city does on its first day)."""
        self.settings = settings or get_settings()
        self.question_variants = question_variants
        self._variants: dict[str, tuple[float, VariantIndex | None]] = {}
        limit_blas_threads(self.settings.blas_threads)
        search = load_search_config()
        self.tokenizer = get_tokenizer()
        self.embedder = CachingEmbedder(get_embedder(self.settings.embedder, self.settings.embed_threads),
                                        self.settings.query_cache_entries)
        self.retrievals: BoundedCache[Retrieval] = BoundedCache(self.settings.retrieval_cache_entries)
        self.reranker = Reranker.load()
        self.confidence_model = ConfidenceModel.load()
        self._indexes: dict[str, tuple[float, TenantIndex]] = {}
        self._lock = threading.Lock()
        self.published = published
        self._served: dict[str, _Served] = {}
        self._loading: set[tuple[str, str]] = set()
        self._first_load = threading.Lock()
        self.pipeline = build_retrieval_pipeline(
            self.tokenizer, self.embedder, self.index, search.fusion, self.reranker, self.confidence_model,
            search.candidates_per_run, search.feedback,
        )
        self.rerank_depth = int(search.raw.get("rerank_depth", 30))

    def use_models(self, reranker: Reranker, confidence_model: ConfidenceModel) -> None:
        """Answer with newly learned models from now on (calibration scores what it just learned)."""
        self.reranker, self.confidence_model = reranker, confidence_model
        self.pipeline.get_component("rerank").reranker = reranker
        self.pipeline.get_component("confidence").model = confidence_model
        self.retrievals.clear()  # the cached retrievals were scored by the old models

    def index(self, tenant: str) -> TenantIndex:
        """The turn's pinned index, else the published version, else the tenant directory's index."""
        pinned = _PINNED.get({}).get((id(self), tenant))
        if pinned is not None:
            return pinned
        index = self._published_index(tenant) if self.published is not None else None
        index = index if index is not None else self._directory_index(tenant)
        index.variants = self._variants_of(tenant) if self.question_variants else None
        return index

    def _variants_of(self, tenant: str) -> VariantIndex | None:
        """The tenant's variants if its YAML turns them on and they were built (reloaded when rebuilt)."""
        directory = tenant_index_dir(self.settings, tenant)
        path = directory / VARIANTS_FILE
        if not path.exists() or not _uses_variants(tenant, self.settings):
            return None
        stamp = path.stat().st_mtime
        cached = self._variants.get(tenant)
        if cached is None or cached[0] != stamp:
            cached = (stamp, VariantIndex.load(directory))
            self._variants[tenant] = cached
        return cached[1]

    @contextmanager
    def pinned(self, tenant: str) -> Iterator[TenantIndex | None]:
        """Every read of the tenant's index inside the block gets the same index (None: there is none yet)."""
        try:
            index = self.index(tenant)
        except IndexMissing:
            index = None
        if index is None:
            yield None
            return
        token = _PINNED.set({**_PINNED.get({}), (id(self), tenant): index})
        try:
            yield index
        finally:
            _PINNED.reset(token)

    def refresh(self, tenant: str) -> TenantIndex | None:
        """Ask the database now and load a new published version before returning (tests, the publishing CLI)."""
        if self.published is None:
            return None
        return self._published_index(tenant, wait=True)

    # --- published versions -----------------------------------------------------------------------------------
    def _published_index(self, tenant: str, wait: bool = False) -> TenantIndex | None:
        served = self._served.get(tenant)
        now = time.monotonic()
        if served is not None and now < served.check_after and not wait:
            return served.index
        if served is not None:
            served.check_after = now + self.settings.index_poll_s  # the other threads keep answering meanwhile
        current = self._current_version(tenant)
        if current is None:
            return served.index if served is not None else None
        if served is None or wait:
            with self._first_load:  # concurrent first turns load the index once, not once each
                served = self._served.get(tenant)
                if served is None or served.index.version != current.version:
                    self._load_published(current)
        elif served.index.version != current.version:
            self._load_in_background(current)
        served = self._served.get(tenant, served)
        return served.index if served is not None else None

    def _current_version(self, tenant: str) -> PublishedIndex | None:
        try:
            return self.published.current(tenant) if self.published is not None else None
        except Exception:  # noqa: BLE001 - the database away for a moment: keep answering with what is loaded
            log.warning("could not read the published index version of %s", tenant, exc_info=True)
            return None

    def _load_published(self, published: PublishedIndex) -> None:
        try:
            index = TenantIndex.load(published.directory)
        except (OSError, ValueError, IndexFormatError):
            # Published but not readable here (index_dir not shared, or a snapshot deleted): keep what is served.
            log.error("index %s of %s is published but cannot be read from %s", published.version,
                      published.tenant, published.directory, exc_info=True)
            return
        with self._lock:
            self._served[published.tenant] = _Served(index, time.monotonic() + self.settings.index_poll_s)
        log.info("serving index %s of %s (%d documents)", index.version, published.tenant, len(index))

    def _load_in_background(self, published: PublishedIndex) -> None:
        key = (published.tenant, published.version)
        with self._lock:
            if key in self._loading:
                return
            self._loading.add(key)

        def load() -> None:
            try:
                self._load_published(published)
            finally:
                with self._lock:
                    self._loading.discard(key)

        threading.Thread(target=load, name=f"index-load-{published.tenant}", daemon=True).start()

    # --- the tenant directory ---------------------------------------------------------------------------------
    def _directory_index(self, tenant: str) -> TenantIndex:
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
            return cached[1]

    def has_index(self, tenant: str) -> bool:
        if self.published is not None and self._published_index(tenant) is not None:
            return True
        return (tenant_index_dir(self.settings, tenant) / "manifest.json").exists()

    def retrieve(self, tenant: str, query: str, top_k: int = 10, vector: Any = None) -> Retrieval:
        """`vector`: the query's embedding when the caller already has it (the turn embeds once). A question asked
        before of the same index version is answered from the cache (a copy: a step may filter its hits)."""
        started = time.perf_counter()
        with self.pinned(tenant) as index:
            if index is None:
                self.index(tenant)  # raise IndexMissing before the pipeline wraps it
            assert index is not None
            # With or without variants, and which: the same question is searched differently.
            variants = index.variants.version if index.variants is not None else ""
            key = (tenant, index.version, variants, cache_text(query), top_k)
            cached = self.retrievals.get(key)
            if cached is not None:
                return _copy_of(cached, started)
            retrieval = self._run_pipeline(tenant, query, top_k, vector, started)
        self.retrievals.put(key, retrieval)
        return _copy_of(retrieval, started, cached=False)

    def _run_pipeline(self, tenant: str, query: str, top_k: int, vector: Any, started: float) -> Retrieval:
        out = run_in_order(self.pipeline, {
            "analyze": {"query": query, "vector": vector},
            "retrieve": {"tenant": tenant, "depth": max(self.rerank_depth, top_k)},
            "rerank": {"top_k": top_k}, "confidence": {"tenant": tenant}})
        timings = {**out["analyze"]["timings"], **out["retrieve"]["timings"],
                   "total": (time.perf_counter() - started) * 1e3}
        return Retrieval(
            query=query, tenant=tenant, hits=out["confidence"]["hits"],
            confidence=out["confidence"]["confidence"], confidence_top3=out["confidence"]["confidence_top3"],
            features=out["confidence"]["features"], index_version=out["retrieve"]["index_version"],
            terms=out["analyze"]["terms"], timings_ms=timings, documents=out["documents"]["documents"],
            vector=out["analyze"]["vector"],
        )


def _copy_of(retrieval: Retrieval, started: float, cached: bool = True) -> Retrieval:
    """A copy whose lists a step may replace or filter without touching the cached entry."""
    timings = ({"cached": (time.perf_counter() - started) * 1e3} if cached else dict(retrieval.timings_ms))
    return dataclasses.replace(retrieval, hits=list(retrieval.hits), documents=list(retrieval.documents),
                               features=dict(retrieval.features), terms=list(retrieval.terms), timings_ms=timings)


def _uses_variants(tenant: str, settings: Settings) -> bool:
    try:
        return variant_options(get_tenant(tenant, settings.tenants_dir).raw) is not None
    except UnknownTenant:
        return False
