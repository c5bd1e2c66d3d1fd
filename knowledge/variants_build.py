"""Build a tenant's question variants (knowledge/variants.py) from what its reviewers marked: the labelled files
its YAML names and the review page's "right source" marks in the database. Run by `madoguchi variants --tenant T`
and after every `madoguchi ingest` of a tenant that uses them (documents that left the index lose their
variants)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from config.settings import PROJECT_ROOT, Settings
from config.tenancy import Tenant
from knowledge.calibration_labels import read_labelled, review_marks
from knowledge.embedder import get_embedder
from knowledge.index import TenantIndex
from knowledge.ingestion import embedding_cache, tenant_index_dir
from knowledge.variants import QuestionVariant, VariantIndex, embed_variants, variant_options, variants_from_labels


def labelled_path(entry: dict[str, Any], settings: Settings) -> Path:
    """`{shared}/…` is the shared data directory; a relative path is the project's own (eval/…)."""
    path = Path(str(entry["path"]).format(shared=settings.shared_dir))
    return path if path.is_absolute() else PROJECT_ROOT / path


def reviewed_variants(tenant: Tenant, settings: Settings, index: TenantIndex, db: Any = None) -> list[QuestionVariant]:
    """Every reviewed (question, right source) pair the tenant's options name, on documents still indexed."""
    options = variant_options(tenant.raw) or {}
    doc_ids = {d.doc_id for d in index.docs}
    variants: list[QuestionVariant] = []
    for entry in options.get("labelled") or []:
        path = labelled_path(entry, settings)
        # A follow-up only means something after its conversation: it teaches no way of asking a document.
        queries = [q for q in read_labelled(path, index.docs, entry.get("split")) if not q.context]
        variants += variants_from_labels(queries, doc_ids, f"file:{path.name}")
    if db is not None and options.get("review_marks", True):
        variants += variants_from_labels(review_marks(db, tenant.id), doc_ids, "review")
    return _unique(variants)


def _unique(variants: list[QuestionVariant]) -> list[QuestionVariant]:
    seen: set[tuple[str, str]] = set()
    out = []
    for variant in variants:
        if (variant.doc_id, variant.question) not in seen:
            seen.add((variant.doc_id, variant.question))
            out.append(variant)
    return out


def rebuild_variants(tenant: Tenant, settings: Settings, db: Any = None) -> dict[str, Any]:
    """Write the tenant's variants next to its index (or remove them when its YAML turns them off)."""
    started = time.perf_counter()
    directory = tenant_index_dir(settings, tenant.id)
    if variant_options(tenant.raw) is None:
        VariantIndex.remove(directory)
        return {"tenant": tenant.id, "variants": 0, "enabled": False}
    index = TenantIndex.load(directory)
    variants = reviewed_variants(tenant, settings, index, db)
    embedder = get_embedder(settings.embedder, settings.ingest_threads)
    cache = embedding_cache(settings, embedder.name, embedder.dim)
    try:
        built = embed_variants(variants, embedder, cache)
    finally:
        cache.close()
    built.save(directory)
    return {"tenant": tenant.id, "enabled": True, "variants": len(built),
            "documents": len({v.doc_id for v in variants}), "seconds": round(time.perf_counter() - started, 2)}
