#!/usr/bin/env python
"""Scale benchmark: one query against plain Haystack BM25 at 1.8k and 20k documents, turns per second through the
engine and the HTTP API, memory with both tenants, and a LINE surge on a cluster (2 web instances + 2 workers on
PostgreSQL) with an instance and a worker killed, an index version hot-swapped and answering switched off midway.

    nice -n 10 .venv/bin/python bench/scale.py [--quick] [--only retrieval,engine,http,surge] [--data-dir DIR]

DIR holds index/amagasaki and index/tokyo (`madoguchi ingest`, or the test cache). The 20k-document tenant
("scale20k") is built there once from the real ../shared data, read in place: both tenants' passages and the
LocalgovFAQ answers split into sentence passages (each titled by its FAQ question, with its own lexical terms and
its FAQ entry's dense vectors: see build_big_tenant). Questions are LocalgovFAQ
dev-split queries (speed only; nothing is tuned on them). Figures depend on the machine's load: each section
prints the core count and load average it ran under, and next to each wall-clock figure the CPU ms a query or a
turn cost the process that answered (its CPU time over the run), which the load changes least.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import functools  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

BIG_TENANT = "scale20k"
BIG_DOCUMENTS = 20_000
POSTGRES_URL = os.environ.get("MADOGUCHI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _bench_dialogue() -> Any:
    """bench/dialogue.py's measuring helpers (a script, not a package: loaded by path)."""
    spec = importlib.util.spec_from_file_location("bench_dialogue", ROOT / "bench" / "dialogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine() -> str:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load} (a shared machine)"


def ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2),
            "p99": round(ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)], 2)}


# --- the 20k-document tenant -----------------------------------------------------------------------------------
def sentence_passages(shared: Path, tenant: str) -> list[Any]:
    """LocalgovFAQ answers, one passage per sentence, titled by the FAQ's question (real official text)."""
    from knowledge.documents import SourceDocument

    passages = []
    for line in (shared / "data" / "localgovfaq" / "corpus.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        sentences = [s.strip() for s in re.split(r"(?<=[。\n])", row["answer"]) if len(s.strip()) >= 8]
        passages += [SourceDocument(doc_id=f"faq{row['id']}-s{n}", tenant=tenant, title=row["question"], body=s,
                                    source="LocalgovFAQ (sentences)", as_of="2019")
                     for n, s in enumerate(sentences)]
    return passages


def build_big_tenant(data_dir: Path, shared: Path, documents: int) -> dict[str, Any]:
    """Both tenants' indexes as they are, plus LocalgovFAQ sentence passages up to `documents`. A passage has its
    own lexical terms; its dense vectors are its FAQ entry's (the entry's title and title+answer head): embedding
    16k more texts takes hours on a busy 2-core machine, and a query's cost does not depend on the vectors'
    values, only on how many there are."""
    import hashlib

    import numpy as np

    from config.settings import Settings
    from knowledge.index import INDEX_FORMAT, TenantIndex
    from knowledge.ingestion import tenant_index_dir
    from knowledge.text import get_tokenizer

    settings = Settings(data_dir=data_dir, shared_dir=shared)
    directory = tenant_index_dir(settings, BIG_TENANT)
    if (directory / "manifest.json").exists() and len(existing := TenantIndex.load(directory)) == documents:
        return {"documents": len(existing), "built_seconds": 0.0, "reused": True}
    started = time.perf_counter()
    parts = [TenantIndex.load(tenant_index_dir(settings, t)) for t in ("amagasaki", "tokyo")]
    docs = [d.__class__.from_dict({**d.to_dict(), "tenant": BIG_TENANT, "doc_id": f"{p.tenant}:{d.doc_id}"})
            for p in parts for d in p.docs]
    full = [terms for p in parts for terms in p.tokens_full]
    title = [terms for p in parts for terms in p.tokens_title]
    vectors = {name: [np.asarray(getattr(p, name)) for p in parts]
               for name in ("title_vectors", "body_vectors", "title_query_vectors")}
    faq_row = {d.doc_id: i for i, d in enumerate(parts[0].docs)}
    tokenizer = get_tokenizer()
    extra = [p for p in sentence_passages(shared, BIG_TENANT) if _faq_id(p) in faq_row][: documents - len(docs)]
    rows = [faq_row[_faq_id(p)] for p in extra]
    docs += extra
    full += [tokenizer.search_terms(f"{p.title}\n{p.body}") for p in extra]
    title += [parts[0].tokens_title[row] for row in rows]
    stacked = {name: np.vstack([*arrays, arrays[0][rows]]).astype(np.float32) for name, arrays in vectors.items()}
    version = hashlib.sha256("".join(d.doc_id for d in docs).encode()).hexdigest()[:16]
    manifest = {"format": INDEX_FORMAT, "tenant": BIG_TENANT, "documents": len(docs), "index_version": version,
                "embedder": parts[0].manifest["embedder"], "tokenizer": parts[0].manifest["tokenizer"],
                "body_chars": parts[0].manifest["body_chars"], "sources": []}
    index = TenantIndex(BIG_TENANT, docs, full, title, stacked["title_vectors"], stacked["body_vectors"],
                        stacked["title_query_vectors"], manifest)
    index.save(directory)
    return {"documents": len(index), "built_seconds": round(time.perf_counter() - started, 1), "reused": False,
            "sentence_passages": len(extra)}


def _faq_id(passage: Any) -> str:
    return passage.doc_id.split("-s")[0].removeprefix("faq")


# --- one query -------------------------------------------------------------------------------------------------
def haystack_bm25(index: Any) -> Any:
    from haystack import Document
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    store = InMemoryDocumentStore()
    store.write_documents([Document(id=d.doc_id, content=f"{d.title}\n{d.body}") for d in index.docs])
    return InMemoryBM25Retriever(store, top_k=10)


def bench_query(kb: Any, tenant: str, questions: list[str]) -> dict[str, Any]:
    """Ours with the caches off (every query embedded and searched), ours repeated (cached), and Haystack's. Each
    also in CPU ms a query (this process's CPU time over the run / queries): what the work costs whatever the load,
    where wall time also counts the other processes that had the cores."""
    kb.retrieve(tenant, "ウォームアップ")
    saved = kb.embedder.vectors.max_entries, kb.retrievals.max_entries
    kb.embedder.vectors.max_entries = kb.retrievals.max_entries = 0
    ours, ours_cpu = timed_each(lambda q: kb.retrieve(tenant, q), questions)
    kb.embedder.vectors.max_entries, kb.retrievals.max_entries = saved
    for q in questions:
        kb.retrieve(tenant, q)
    repeated, _ = timed_each(lambda q: kb.retrieve(tenant, q), questions)
    retriever = haystack_bm25(kb.index(tenant))
    theirs, theirs_cpu = timed_each(lambda q: retriever.run(query=q), questions)
    row = {"documents": len(kb.index(tenant)), "ours_ms": ms(ours), "ours_repeated_ms": ms(repeated),
           "haystack_bm25_ms": ms(theirs), "ours_cpu_ms": ours_cpu, "haystack_cpu_ms": theirs_cpu}
    row["speedup_p50"] = round(row["haystack_bm25_ms"]["p50"] / row["ours_ms"]["p50"], 2)
    row["speedup_p50_repeated"] = round(row["haystack_bm25_ms"]["p50"] / row["ours_repeated_ms"]["p50"], 2)
    row["speedup_cpu"] = round(theirs_cpu / ours_cpu, 2)
    return row


def timed_each(run: Callable[[str], Any], questions: list[str]) -> tuple[list[float], float]:
    """Wall ms of each call, and the mean CPU ms a call."""
    wall = []
    cpu_started = time.process_time()
    for q in questions:
        started = time.perf_counter()
        run(q)
        wall.append((time.perf_counter() - started) * 1e3)
    return wall, round((time.process_time() - cpu_started) * 1e3 / len(questions), 2)


def run_retrieval(args: argparse.Namespace, questions: list[str]) -> dict[str, Any]:
    from config.settings import Settings
    from knowledge.knowledge_base import KnowledgeBase

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        built = pool.apply(build_big_tenant, (args.data_dir, args.shared_dir, BIG_DOCUMENTS))
    print(f"{BIG_TENANT}: {json.dumps(built)}", flush=True)
    kb = KnowledgeBase(Settings(data_dir=args.data_dir, shared_dir=args.shared_dir))
    rows = {tenant: bench_query(kb, tenant, questions) for tenant in ("amagasaki", BIG_TENANT)}
    print(f"\none query ({machine()}; {len(questions)} questions)")
    print(f"{'tenant':>10} {'docs':>6} {'ours p50/p99':>14} {'repeated':>12} {'haystack p50/p99':>18} "
          f"{'ratio':>6} {'ratio rep.':>10} {'CPU ms ours/hay.':>17} {'CPU ratio':>9}")
    for tenant, row in rows.items():
        print(f"{tenant:>10} {row['documents']:>6} {row['ours_ms']['p50']:>6}/{row['ours_ms']['p99']:<7} "
              f"{row['ours_repeated_ms']['p50']:>5}/{row['ours_repeated_ms']['p99']:<6} "
              f"{row['haystack_bm25_ms']['p50']:>8}/{row['haystack_bm25_ms']['p99']:<9} "
              f"{row['speedup_p50']:>6} {row['speedup_p50_repeated']:>10} "
              f"{row['ours_cpu_ms']:>8}/{row['haystack_cpu_ms']:<8} {row['speedup_cpu']:>9}")
    print("ratio = haystack p50 / ours p50 (targets: ≥ 1 at 1.8k, ≥ 5 at 20k); CPU ratio = the same in mean CPU ms "
          "a query")
    return {"big_tenant": built, **rows}


# --- turns per second ------------------------------------------------------------------------------------------
def run_engine(args: argparse.Namespace, questions: list[str]) -> dict[str, Any]:
    """Unique questions (every cache cold) at concurrency 1 and 16, then the same questions again (repeated), each
    with its CPU ms a turn; then where a unique turn's time goes at concurrency 1 (mean ms per step)."""
    bench = _bench_dialogue()
    step_ms: dict[str, list[float]] = {}
    with ExitStack() as stack:
        services = bench.engine_services(_dialogue_args(args), stack)
        kb = services.knowledge
        turn = bench.engine_turns(args.tenant, services, step_ms)
        for question in ["ウォームアップ", "住民票", "ごみ"]:
            turn(question)
        rows, steps_at_1 = {}, {}
        for concurrency in (1, 16):
            kb.embedder.vectors.clear()
            kb.retrievals.clear()
            step_ms.clear()
            rows[f"unique_c{concurrency}"] = with_cpu(lambda: bench.measure(turn, questions, concurrency),
                                                      time.process_time)
            if concurrency == 1:
                steps_at_1 = {step: list(values) for step, values in step_ms.items()}
        rows["repeated_c16"] = with_cpu(lambda: bench.measure(turn, questions, 16), time.process_time)
    _print_rates(f"engine.run_turn in process ({args.tenant}; {machine()})", rows)
    bench.report_steps(steps_at_1)
    rows["steps_ms_c1"] = {step: round(statistics.fmean(values), 2) for step, values in steps_at_1.items()}
    return rows


def with_cpu(measure: Callable[[], dict[str, Any]], cpu_seconds: Callable[[], float]) -> dict[str, Any]:
    """A measured run and its CPU ms a turn (`cpu_seconds`: the CPU time of the process doing the work)."""
    started = cpu_seconds()
    row = measure()
    row["cpu_ms_per_turn"] = round((cpu_seconds() - started) * 1e3 / row["turns"], 1)
    return row


def run_http(args: argparse.Namespace, questions: list[str]) -> dict[str, Any]:
    """A real server process; its caches cannot be cleared from here, so each unique run gets questions of its
    own and the repeated run asks them all again. Then memory: the server's RSS with both tenants answered."""
    bench = _bench_dialogue()
    half = len(questions) // 2
    # One load generator on one address stands for many residents: the per-address and per-resident limits
    # (conversations/rate_limits.py) would measure the limiter, not the service.
    for name in ("RESIDENT_PER_MINUTE", "ADDRESS_PER_MINUTE", "CONVERSATIONS_PER_MINUTE"):
        os.environ[f"MADOGUCHI_RATE_LIMIT_{name}"] = "1000000"
    with tempfile.TemporaryDirectory() as tmp:
        process, base_url = bench.start_server(args.data_dir, Path(tmp) / "bench.db", None)
        try:
            bench.wait_until_up(base_url, process)
            turn = bench.http_turns(base_url, args.tenant)
            for question in ["ウォームアップ", "住民票", "ごみ"]:
                turn(question)
            server_cpu = functools.partial(_cpu_seconds, process.pid)  # the server's, not this client's
            runs = {"unique_c1": (questions[:half], 1), "unique_c16": (questions[half:], 16),
                    "repeated_c16": (questions, 16), "repeated_c1": (questions[:half], 1)}
            rows = {name: with_cpu(lambda part=part, c=c: bench.measure(turn, part, c), server_cpu)
                    for name, (part, c) in runs.items()}
            other = bench.http_turns(base_url, "tokyo")
            for question in ["粗大ごみの出し方", "避難所はどこ", "児童手当"]:
                other(question)
            rows["rss_mb_both_tenants"] = round(_rss_mb(process.pid), 1)
            rows["rss_mb_private"] = round(_rss_mb(process.pid, "RssAnon"), 1)
            rows["rss_mb_file_backed"] = round(_rss_mb(process.pid, "RssFile"), 1)
        finally:
            process.terminate()
            process.wait(timeout=30)
    _print_rates(f"HTTP API (uvicorn, SQLite; {machine()})", rows)
    print(f"RSS of the server with both tenants loaded: {rows['rss_mb_both_tenants']} MB (target ≤ 600): "
          f"{rows['rss_mb_private']} MB its own, {rows['rss_mb_file_backed']} MB file-backed (libraries and the "
          "mapped dictionaries: one copy in the page cache for every instance on a host, given back under pressure)")
    return rows


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _dialogue_args(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(data_dir=args.data_dir, shared_dir=args.shared_dir, embed_threads=None)


def _print_rates(label: str, rows: dict[str, Any]) -> None:
    print(f"\n{label}")
    print(f"{'run':>14} {'turns':>6} {'p50 ms':>8} {'p99 ms':>8} {'turns/s':>8} {'CPU ms/turn':>12}")
    for name, row in rows.items():
        if isinstance(row, dict):
            print(f"{name:>14} {row['turns']:>6} {row['p50_ms']:>8} {row['p99_ms']:>8} {row['turns_per_s']:>8} "
                  f"{row['cpu_ms_per_turn']:>12}")
    print("CPU ms/turn: the answering process's CPU time over the run / turns (the load generator's not counted); "
          "what a turn costs whatever else the cores run")


# --- the surge -------------------------------------------------------------------------------------------------
def tokyo_questions(shared: Path) -> list[str]:
    """The tokyo tenant's templated questions (speed only): questions it can answer, so a resident's conversation
    stays with the assistant and every message makes a turn (a handed-over one goes silent)."""
    path = shared / "data" / "tokyo-eval" / "dev-templated.jsonl"
    return [json.loads(line)["question"] for line in path.open(encoding="utf-8") if line.strip()]


def run_surge(args: argparse.Namespace, questions: list[str]) -> dict[str, Any]:
    from tests.acceptance.surge import surge_on_postgres

    seconds = 20.0 if args.quick else 60.0
    # "Normal" is taken as one message every 2 s for the tenant; the surge is 50× that.
    rate = 50 * 0.5
    residents = max(10, int(rate * seconds / 4))  # four messages each: well inside the per-resident rate limit
    # Limits a disaster-day surge passes (the shipped 1,000 events / 180 s are sized for a whole city's day), and one
    # message in 50 an emergency: new residents are told busy, emergencies overtake the backlog, nothing is lost.
    report = surge_on_postgres(POSTGRES_URL, args.data_dir, tokyo_questions(args.shared_dir), residents=residents,
                               messages=4, seconds=seconds, work_dir=args.data_dir / "surge",
                               backpressure={"max_backlog": 100, "max_wait_s": 20}, emergency_every=50)
    print(f"\nLINE surge: 2 web + 2 workers on PostgreSQL, {report['events']} events in {seconds:.0f} s "
          f"({report['rate_per_s']}/s; {machine()})")
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return report


SECTIONS = {"retrieval": run_retrieval, "engine": run_engine, "http": run_http, "surge": run_surge}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache = os.environ.get("MADOGUCHI_TEST_CACHE")
    parser.add_argument("--data-dir", type=Path, default=Path(cache) if cache else ROOT / "var")
    parser.add_argument("--shared-dir", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--tenant", default="amagasaki")
    parser.add_argument("--quick", action="store_true", help="fewer questions and a 20 s surge")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ", ".join(SECTIONS))
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON object")
    args = parser.parse_args()
    if not (args.shared_dir / "data" / "localgovfaq").is_dir():
        print(f"../shared is absent ({args.shared_dir}): nothing to measure", file=sys.stderr)
        return 0
    questions = _bench_dialogue().load_questions(args.shared_dir, 225)
    questions = list(dict.fromkeys(questions))[: 60 if args.quick else 225]
    results = {"machine": machine()}
    for name in args.only.split(","):
        results[name] = SECTIONS[name.strip()](args, questions)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
