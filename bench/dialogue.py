"""Dialogue benchmark: turn latency p50/p99 and turns per second at concurrency 1 and 16, through the real engine
(in process) and through the HTTP API (a real `uvicorn` server process on a temporary SQLite database).

    .venv/bin/python bench/dialogue.py                        # amagasaki, index under var/ (madoguchi ingest)
    .venv/bin/python bench/dialogue.py --data-dir var/test-cache --turns 300 --no-http
Questions are LocalgovFAQ dev-split queries (performance only; nothing is tuned on them). Targets: p99 ≤ 150 ms at
concurrency 1 and ≥ 40 turns/s on 2 cores.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

TARGET_P99_MS = 150
TARGET_TURNS_PER_SECOND = 40
WARM_UP_TURNS = 5


def load_questions(shared_dir: Path, limit: int) -> list[str]:
    path = shared_dir / "data" / "localgovfaq" / "queries-dev.jsonl"
    with path.open(encoding="utf-8") as lines:
        questions = [json.loads(line)["query"] for line in lines if line.strip()]
    return [questions[i % len(questions)] for i in range(limit)]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def measure(turn: Callable[[str], float], questions: list[str], concurrency: int) -> dict[str, float]:
    """Run every question once with `concurrency` threads; `turn` returns its own latency in ms."""
    latencies: list[float] = []
    lock = threading.Lock()

    def timed(question: str) -> None:
        elapsed = turn(question)
        with lock:
            latencies.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(timed, questions))
    wall = time.perf_counter() - started
    return {"concurrency": concurrency, "turns": len(latencies), "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1), "turns_per_s": round(len(latencies) / wall, 1)}


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1e3


def engine_turns(tenant_id: str, services: Any, step_ms: dict[str, list[float]]) -> Callable[[str], float]:
    """Turns through the service's engine in process; each turn's own step timings are collected into `step_ms`."""
    engine, tenant = services.engine, services.tenant(tenant_id)

    def turn(question: str) -> float:
        started = time.perf_counter()
        result = engine.run_turn(tenant, question)
        latency = elapsed_ms(started)
        for step, ms in result.timings_ms.items():
            step_ms.setdefault(step, []).append(ms)
        return latency

    return turn


def report_steps(step_ms: dict[str, list[float]]) -> None:
    """Where a turn's time goes at concurrency 1 (mean per step), slowest first."""
    print("\nmean ms per step at concurrency 1: " + ", ".join(
        f"{step} {statistics.fmean(values):.1f}" for step, values in
        sorted(step_ms.items(), key=lambda item: -statistics.fmean(item[1])) if step != "total"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, database: Path, embed_threads: int | None) -> tuple[subprocess.Popen, str]:
    """The real service (`create_app` with its background loops) on a throw-away SQLite file."""
    port = _free_port()
    env = {**os.environ, "MADOGUCHI_DATA_DIR": str(data_dir), "MADOGUCHI_DATABASE_URL": f"sqlite:///{database}"}
    if embed_threads is not None:
        env["MADOGUCHI_EMBED_THREADS"] = str(embed_threads)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "madoguchi.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env)
    return process, f"http://127.0.0.1:{port}"


def wait_until_up(base_url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not come up")


def http_turns(base_url: str, tenant: str) -> Callable[[str], float]:
    """Each worker thread is one resident with its own conversation, as on the web page. The client is the
    standard library's (one keep-alive connection a resident): it shares the cores with the server, and httpx
    cost ~5–11 ms of CPU a request at concurrency 16, time the server under test did not get."""
    local = threading.local()
    address = urlsplit(base_url)
    prefix = f"/api/v1/t/{tenant}"

    def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", **getattr(local, "headers", {})}
        local.connection.request("POST", prefix + path, body=json.dumps(body or {}).encode(), headers=headers)
        response = local.connection.getresponse()
        payload = response.read()
        if response.status >= 400:
            raise RuntimeError(f"POST {path}: HTTP {response.status} {payload[:200]!r}")
        return json.loads(payload)

    def resident() -> str:
        if not hasattr(local, "conversation"):
            local.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
            local.headers = {}
            started = post("/conversations")
            local.headers = {"X-Resident-Token": started["resident_token"]}
            local.conversation = started["conversation_id"]
        return local.conversation

    def turn(question: str) -> float:
        conversation = resident()  # starting a conversation is not part of the turn's latency
        started = time.perf_counter()
        reply = post(f"/conversations/{conversation}/messages",
                     {"text": question, "client_message_id": uuid.uuid4().hex})
        latency = elapsed_ms(started)
        if reply["outcome"] in ("escalated", "with_operator"):
            # An escalated conversation goes silent (the operator's turn): start afresh, like a new resident.
            local.connection.close()
            del local.conversation
        return latency

    return turn


def report(label: str, rows: list[dict[str, float]]) -> None:
    print(f"\n{label}")
    print(f"{'concurrency':>11} {'turns':>6} {'p50 ms':>8} {'p99 ms':>8} {'turns/s':>8}")
    for row in rows:
        print(f"{row['concurrency']:>11} {row['turns']:>6} {row['p50_ms']:>8} {row['p99_ms']:>8} "
              f"{row['turns_per_s']:>8}")
    single = next((r for r in rows if r["concurrency"] == 1), None)
    best = max(r["turns_per_s"] for r in rows)
    if single:
        print(f"p99 at concurrency 1: {single['p99_ms']} ms (target ≤ {TARGET_P99_MS}: "
              f"{'met' if single['p99_ms'] <= TARGET_P99_MS else 'NOT met'})")
    print(f"best rate: {best} turns/s (target ≥ {TARGET_TURNS_PER_SECOND}: "
          f"{'met' if best >= TARGET_TURNS_PER_SECOND else 'NOT met'})")


def engine_services(args: argparse.Namespace, stack: ExitStack) -> Any:
    """The service as the composition root builds it, with staff corrections read from a throw-away migrated
    database."""
    from config.settings import Settings
    from madoguchi.composition import build_services
    from storage.testing import temporary_database

    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    overrides = {"embed_threads": args.embed_threads} if args.embed_threads is not None else {}
    settings = Settings(data_dir=args.data_dir, shared_dir=args.shared_dir, **overrides)
    return build_services(settings, db=stack.enter_context(temporary_database("sqlite", tmp)), channels={})


def run(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    with ExitStack() as stack:
        return _run(args, stack)


def _run(args: argparse.Namespace, stack: ExitStack) -> dict[str, list[dict[str, float]]]:
    questions = load_questions(args.shared_dir, args.turns)
    results: dict[str, list[dict[str, float]]] = {}
    step_ms: dict[str, list[float]] = {}
    turn = engine_turns(args.tenant, engine_services(args, stack), step_ms)
    for question in questions[:WARM_UP_TURNS]:
        turn(question)
    results["engine"], steps_at_1 = [], {}
    for concurrency in args.concurrency:
        step_ms.clear()
        results["engine"].append(measure(turn, questions, concurrency))
        if concurrency == 1:
            steps_at_1 = {step: list(values) for step, values in step_ms.items()}
    # Other work on the machine skews every figure: say how busy it was.
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    report(f"engine.run_turn in process ({args.tenant}, {os.cpu_count()} cores, load average {load})",
           results["engine"])
    if steps_at_1:
        report_steps(steps_at_1)
    if args.http:
        results["http"] = run_http(args, questions)
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        report(f"HTTP API (uvicorn, SQLite; record_inbound + process_event + reply; load average {load})",
               results["http"])
    return results


def run_http(args: argparse.Namespace, questions: list[str]) -> list[dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        process, base_url = start_server(args.data_dir, Path(tmp) / "bench.db", args.embed_threads)
        try:
            wait_until_up(base_url, process)
            turn = http_turns(base_url, args.tenant)
            for question in questions[:WARM_UP_TURNS]:
                turn(question)
            return [measure(turn, questions, c) for c in args.concurrency]
        finally:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", default="amagasaki")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var", help="holds index/<tenant> (madoguchi ingest)")
    parser.add_argument("--shared-dir", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--embed-threads", type=int, default=None,
                        help="threads per query embedding (default: the settings'); 1 avoids oversubscription")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    args = parser.parse_args()
    results = run(args)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
