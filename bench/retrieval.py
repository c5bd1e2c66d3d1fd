#!/usr/bin/env python
"""Retrieval benchmark on LocalgovFAQ (tenant amagasaki): ingest speed (from nothing and unchanged), query
latency with a warm index, service memory, quality on the test split, and the same queries through a plain
Haystack InMemoryBM25Retriever with its default tokenizer, with ratios.

    .venv/bin/python bench/retrieval.py [--split test] [--skip-cold]

Speed is measured here, never asserted in tests. The test split is reported, never tuned on.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from config.settings import Settings, get_settings  # noqa: E402
from config.tenancy import get_tenant  # noqa: E402
from knowledge.evaluation import evaluate, read_queries  # noqa: E402
from knowledge.ingestion import ingest_tenant  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(values: list[float]) -> dict:
    return {"p50": round(float(np.percentile(values, 50)), 2), "p99": round(float(np.percentile(values, 99)), 2),
            "mean": round(float(np.mean(values)), 2)}


def bench_ingest(shared: Path, skip_cold: bool) -> dict:
    """From nothing (an empty data dir: no index, no embedding cache), then unchanged data on the service's own
    data dir (which also brings its index up to date for the query measurements below)."""
    tenant = get_tenant("amagasaki")
    out = {}
    if not skip_cold:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            report = ingest_tenant(tenant, Settings(shared_dir=shared, data_dir=Path(tmp)))
            seconds = time.perf_counter() - started
        out["cold"] = {"documents": report.build.documents, "seconds": round(seconds, 1),
                       "docs_per_second": round(report.build.documents / seconds, 2),
                       "seconds_embedding": round(report.build.seconds_embedding, 1),
                       "seconds_other": round(seconds - report.build.seconds_embedding, 1),
                       "embedded": report.build.embedded_new}
        print("ingest from nothing:", json.dumps(out["cold"]), flush=True)
    service = Settings(shared_dir=shared, data_dir=get_settings().data_dir)
    ingest_tenant(tenant, service)
    started = time.perf_counter()
    report = ingest_tenant(tenant, service)
    out["unchanged"] = {"seconds": round(time.perf_counter() - started, 2), "embedded_new": report.build.embedded_new}
    print("re-ingest unchanged:", json.dumps(out["unchanged"]), flush=True)
    return out


def bench_ours(queries) -> tuple[dict, list[float]]:
    from knowledge.knowledge_base import KnowledgeBase

    kb = KnowledgeBase()
    kb.retrieve("amagasaki", "ウォームアップ")
    rankings, latencies = {}, []
    for q in queries:
        started = time.perf_counter()
        result = kb.retrieve("amagasaki", q.text, top_k=10)
        latencies.append((time.perf_counter() - started) * 1e3)
        rankings[q.id] = [h.doc.doc_id for h in result.hits]
    return evaluate(rankings, queries), latencies


def bench_haystack_default(shared: Path, queries) -> tuple[dict, list[float], float]:
    from haystack import Document
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    rows = [json.loads(line) for line in (shared / "data" / "localgovfaq" / "corpus.jsonl").open(encoding="utf-8")]
    store = InMemoryDocumentStore()
    started = time.perf_counter()
    store.write_documents([Document(id=r["id"], content=f"{r['question']}\n{r['answer']}") for r in rows])
    index_seconds = time.perf_counter() - started
    retriever = InMemoryBM25Retriever(store, top_k=10)
    rankings, latencies = {}, []
    for q in queries:
        started = time.perf_counter()
        docs = retriever.run(query=q.text)["documents"]
        latencies.append((time.perf_counter() - started) * 1e3)
        rankings[q.id] = [d.id for d in docs]
    return evaluate(rankings, queries), latencies, index_seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="test")
    parser.add_argument("--skip-cold", action="store_true", help="skip ingesting from nothing (minutes)")
    args = parser.parse_args()
    shared = get_settings().shared_dir
    if not (shared / "data" / "localgovfaq").is_dir():
        print(f"../shared is absent ({shared}): nothing to measure", file=sys.stderr)
        return 0
    queries = read_queries(shared / "data" / "localgovfaq" / f"queries-{args.split}.jsonl")
    report = {"split": args.split, "queries": len(queries), "cpus": os.cpu_count()}
    # Ingestion runs in its own process, as `madoguchi ingest` does: the embedding engine fixes its thread count
    # once per process (all cores for ingest batches, one per query for answering).
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        report["ingest"] = pool.apply(bench_ingest, (shared, args.skip_cold))
    ours, latency = bench_ours(queries)
    report["madoguchi"] = {"quality": ours, "latency_ms": percentiles(latency), "rss_mb": round(rss_mb(), 1)}
    theirs, their_latency, index_seconds = bench_haystack_default(shared, queries)
    report["haystack_default_bm25"] = {"quality": theirs, "latency_ms": percentiles(their_latency),
                                       "index_seconds": round(index_seconds, 2)}
    report["ratios"] = {
        "recall@10": round(ours["recall@10"] / theirs["recall@10"], 3),
        "mrr@10": round(ours["mrr@10"] / theirs["mrr@10"], 3),
        "latency_p50 (haystack/ours)": round(percentiles(their_latency)["p50"] / percentiles(latency)["p50"], 2),
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    print(f"\n{'':24}{'madoguchi':>12}{'haystack bm25':>15}{'ratio':>8}")
    for key in ("recall@10", "mrr@10", "ndcg@10", "hit@1_grade2"):
        print(f"{key:24}{ours[key]:>12.4f}{theirs[key]:>15.4f}{ours[key] / max(theirs[key], 1e-9):>8.2f}")
    print(f"{'query p50 ms':24}{percentiles(latency)['p50']:>12}{percentiles(their_latency)['p50']:>15}")
    print(f"{'query p99 ms':24}{percentiles(latency)['p99']:>12}{percentiles(their_latency)['p99']:>15}")
    print(f"{'service RSS MB':24}{rss_mb():>12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
