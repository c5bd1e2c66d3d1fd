"""`madoguchi sync --tenant T`: re-crawl the tenant's websites and update its index with what changed.

Only the website sources are fetched again (each page with a conditional GET); the other sources' passages are
taken from the index as it is. When no page is new, changed or removed, the index is left alone (nothing is
re-embedded, nothing rebuilt). Otherwise the index is rebuilt from the current passages, and the embedding cache
(keyed by content hash) means only the new and changed pages' passages are embedded. Removed pages leave the
index; the caller gets them in the report (the service flags curated answers that cited them for review).
Unchanged passages keep their lexical terms from the index (tokenising thousands of passages was most of a rebuild).

The schedule lives in the tenant YAML and the service runs it (the web shell's background loop):
```yaml
sync: {every_hours: 24}          # or {daily_at: "03:30"} (the tenant's local time, Asia/Tokyo by default)
```
"""
from __future__ import annotations

import fcntl
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.settings import Settings
from config.tenancy import SourceSpec, Tenant
from knowledge.crawl import CrawlResult, PageOutcome
from knowledge.documents import SourceDocument
from knowledge.embedder import get_embedder
from knowledge.index import IndexFormatError, TenantIndex, build_index, index_is_current
from knowledge.ingest.base import REMOTE_LOADERS, _import_loaders, source_state_dir
from knowledge.ingest.website import crawl_site
from knowledge.ingestion import IngestReport, embedding_cache, load_documents, tenant_index_dir
from knowledge.publication import publish_if_configured
from knowledge.search_config import load_search_config
from knowledge.text import get_tokenizer

log = logging.getLogger(__name__)


@dataclass
class RemovedPage:
    url: str
    doc_ids: list[str]


@dataclass
class SyncReport:
    tenant: str
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # source name → crawl summary
    removed: list[RemovedPage] = field(default_factory=list)
    changed_doc_ids: list[str] = field(default_factory=list)
    rebuilt: bool = False
    embedded_new: int = 0
    documents: int = 0
    index_version: str | None = None
    seconds: float = 0.0
    seconds_index: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant, "sources": self.sources, "rebuilt": self.rebuilt,
            "embedded_new": self.embedded_new, "documents": self.documents, "index_version": self.index_version,
            "removed": [{"url": r.url, "doc_ids": r.doc_ids} for r in self.removed],
            "seconds": round(self.seconds, 2), "seconds_index": round(self.seconds_index, 2),
        }


def website_sources(tenant: Tenant) -> list[SourceSpec]:
    _import_loaders()
    return [spec for spec in tenant.sources if spec.loader in REMOTE_LOADERS]


def source_name(spec: SourceSpec) -> str:
    return str(spec.options.get("name") or spec.options.get("start_url") or spec.options.get("sitemap") or "")


def sync_tenant(tenant: Tenant, settings: Settings,
                progress: Callable[[str, PageOutcome, int], None] | None = None) -> SyncReport:
    started = time.perf_counter()
    report = SyncReport(tenant.id)
    with tenant_lock(settings, tenant.id):
        crawls = {source_name(spec): _crawl(spec, tenant, settings, progress) for spec in website_sources(tenant)}
        for name, crawl in crawls.items():
            report.sources[name] = crawl.summary()
            report.removed += [RemovedPage(o.url, [d["doc_id"] for d in o.previous_documents])
                               for o in crawl.by_status("removed")]
            report.changed_doc_ids += [d["doc_id"] for o in crawl.outcomes if o.status in ("new", "changed")
                                       for d in o.documents]
        directory = tenant_index_dir(settings, tenant.id)
        if index_is_current(directory) and not any(crawl.changed_anything for crawl in crawls.values()):
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            report.documents, report.index_version = manifest["documents"], manifest["index_version"]
        else:
            _rebuild(tenant, settings, crawls, _existing_index(settings, tenant.id), report)
        mark_synced(settings, tenant.id)
    report.seconds = time.perf_counter() - started
    return report


def _crawl(spec: SourceSpec, tenant: Tenant, settings: Settings,
           progress: Callable[[str, PageOutcome, int], None] | None) -> CrawlResult:
    name = source_name(spec)
    on_page = (lambda outcome, done: progress(name, outcome, done)) if progress else None
    return crawl_site(source_state_dir(settings.data_dir, tenant.id, spec), tenant.id, spec.options, progress=on_page)


def _existing_index(settings: Settings, tenant_id: str) -> TenantIndex | None:
    directory = tenant_index_dir(settings, tenant_id)
    if not (directory / "manifest.json").exists():
        return None
    try:
        return TenantIndex.load(directory)
    except IndexFormatError:
        return None


def _rebuild(tenant: Tenant, settings: Settings, crawls: dict[str, CrawlResult], existing: TenantIndex | None,
             report: SyncReport) -> None:
    started = time.perf_counter()
    if existing is not None:
        # The other sources as they are in the index: a sync re-reads websites, `madoguchi ingest` everything.
        others = [doc for doc in existing.docs if doc.source not in crawls]
    else:
        others = load_documents(tenant, settings.shared_dir, IngestReport(tenant.id), settings.data_dir,
                                skip=lambda spec: spec.loader in REMOTE_LOADERS)
    crawled = [SourceDocument.from_dict(d) for crawl in crawls.values() for d in crawl.documents()]
    embedder = get_embedder(settings.embedder, settings.ingest_threads)
    cache = embedding_cache(settings, embedder.name, embedder.dim)
    try:
        index, build = build_index(tenant.id, others + crawled, get_tokenizer(), embedder, cache,
                                   body_chars=load_search_config().body_chars_embedded, reuse=existing)
    finally:
        cache.close()
    index.save(tenant_index_dir(settings, tenant.id))
    publish_if_configured(settings, index, published_by="sync")
    report.rebuilt, report.embedded_new = True, build.embedded_new
    report.documents, report.index_version = build.documents, build.index_version
    report.seconds_index = time.perf_counter() - started


@contextmanager
def tenant_lock(settings: Settings, tenant_id: str) -> Iterator[None]:
    """One sync or ingest of a tenant at a time on this machine (the service's schedule and a CLI run)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / f".sync-{tenant_id}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --- the schedule ------------------------------------------------------------------------------------------------
def _state_file(settings: Settings, tenant_id: str) -> Path:
    return settings.data_dir / "sites" / tenant_id / "last_sync.json"


def mark_synced(settings: Settings, tenant_id: str, at: datetime | None = None) -> None:
    path = _state_file(settings, tenant_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"at": (at or datetime.now(timezone.utc)).isoformat()}), encoding="utf-8")


def last_synced(settings: Settings, tenant_id: str) -> datetime | None:
    try:
        return datetime.fromisoformat(json.loads(_state_file(settings, tenant_id).read_text())["at"])
    except (OSError, ValueError, KeyError):
        return None


@dataclass(frozen=True)
class SyncSchedule:
    every: timedelta | None = None
    daily_at: tuple[int, int] | None = None  # (hour, minute) in `zone`
    zone: str = "Asia/Tokyo"

    @classmethod
    def for_tenant(cls, tenant: Tenant) -> SyncSchedule | None:
        raw = tenant.get("sync") or {}
        if not raw or not website_sources(tenant):
            return None
        zone = raw.get("timezone", "Asia/Tokyo")
        if raw.get("daily_at"):
            hour, minute = (int(part) for part in str(raw["daily_at"]).split(":"))
            return cls(daily_at=(hour, minute), zone=zone)
        if raw.get("every_hours") or raw.get("every_minutes"):
            minutes = float(raw.get("every_minutes") or 0) + 60 * float(raw.get("every_hours") or 0)
            return cls(every=timedelta(minutes=minutes), zone=zone)
        raise ValueError(f"tenant {tenant.id}: sync needs every_hours, every_minutes or daily_at")

    def due(self, last: datetime | None, now: datetime) -> bool:
        """Whether a run is due at `now`, given the last run (None: never ran)."""
        if self.every is not None:
            return last is None or now - last >= self.every
        hour, minute = self.daily_at
        local = now.astimezone(ZoneInfo(self.zone))
        slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if slot > local:
            slot -= timedelta(days=1)
        return last is None or last < slot.astimezone(timezone.utc)
