"""`madoguchi ingest --tenant T`: every configured source through its loader into the tenant's own index."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from config.settings import Settings
from config.tenancy import Tenant
from knowledge.documents import IngestProblem, SourceDocument
from knowledge.embedcache import EmbeddingCache
from knowledge.embedder import get_embedder
from knowledge.freshness import stale_sources
from knowledge.index import BuildReport, build_index
from knowledge.ingest import load_source
from knowledge.publication import publish_if_configured
from knowledge.search_config import load_search_config
from knowledge.text import get_tokenizer

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    tenant: str
    documents_per_source: dict[str, int] = field(default_factory=dict)
    problems: list[IngestProblem] = field(default_factory=list)
    build: BuildReport | None = None
    seconds_loading: float = 0.0
    stale_sources: list[dict] = field(default_factory=list)  # past their review date (knowledge/freshness.py)

    def to_dict(self) -> dict:
        build = self.build
        return {
            "tenant": self.tenant,
            "documents": build.documents if build else 0,
            "documents_per_source": self.documents_per_source,
            "problems": [str(p) for p in self.problems],
            "stale_sources": self.stale_sources,
            "embedded_new": build.embedded_new if build else 0,
            "seconds_total": round(self.seconds_loading + (build.seconds if build else 0), 2),
            "seconds_embedding": round(build.seconds_embedding, 2) if build else 0,
            "index_version": build.index_version if build else None,
        }


def tenant_index_dir(settings: Settings, tenant_id: str) -> Path:
    return settings.index_dir / tenant_id


def embedding_cache(settings: Settings, embedder_name: str, dim: int) -> EmbeddingCache:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in embedder_name)
    return EmbeddingCache(settings.index_dir / "embedding-cache" / f"{safe}.sqlite", dim)


def load_documents(tenant: Tenant, shared_dir: Path, report: IngestReport, data_dir: Path | None = None,
                   skip: Callable[[Any], bool] = lambda spec: False) -> list[SourceDocument]:
    docs: list[SourceDocument] = []
    for spec in tenant.sources:
        if skip(spec):
            continue
        name = spec.options.get("name", spec.path)
        count = 0
        for item in load_source(spec, tenant.id, shared_dir, data_dir):
            if isinstance(item, IngestProblem):
                report.problems.append(item)
                log.warning("ingest problem: %s", item)
            else:
                docs.append(item)
                count += 1
        report.documents_per_source[name] = count
    return docs


def _kinds_per_source(docs: list[SourceDocument]) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for doc in docs:
        kinds.setdefault(doc.source, set()).add(doc.kind)
    return kinds


def ingest_tenant(
    tenant: Tenant, settings: Settings, progress: Callable[[str, int, int], None] | None = None
) -> IngestReport:
    report = IngestReport(tenant.id)
    started = time.perf_counter()
    docs = load_documents(tenant, settings.shared_dir, report, settings.data_dir)
    report.seconds_loading = time.perf_counter() - started
    report.stale_sources = stale_sources(tenant, _kinds_per_source(docs))
    for stale in report.stale_sources:
        log.warning("stale source: %s (as of %s, review by %s)", stale["name"], stale["as_of"], stale["review_by"])
    search = load_search_config()
    embedder = get_embedder(settings.embedder, settings.ingest_threads)
    cache = embedding_cache(settings, embedder.name, embedder.dim)
    try:
        index, report.build = build_index(
            tenant.id, docs, get_tokenizer(), embedder, cache,
            body_chars=search.body_chars_embedded, progress=progress,
        )
    finally:
        cache.close()
    index.save(tenant_index_dir(settings, tenant.id))
    publish_if_configured(settings, index, published_by="ingest")
    return report
