"""Escalation-queue benchmark: N escalations, M concurrent operators claiming and resolving, then a claimer
killed with SIGKILL and the time until its escalation is claimed again.

    .venv/bin/python bench/escalation_queue.py                       # PostgreSQL at 127.0.0.1:5432/test, 5,000 x 20
    .venv/bin/python bench/escalation_queue.py --url sqlite:///var/bench-queue.db --escalations 1000
Runs in a throw-away schema (PostgreSQL) or file (SQLite). Prints claims/s, claim latency, double claims (must be
0) and the SIGKILL re-claim delay against the stale interval.
"""
from __future__ import annotations

import sys
from pathlib import Path

# This file is named queue.py: take its folder off sys.path so the standard library's `queue` stays importable.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from uuid import uuid4  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from escalation.queue import EscalationQueue  # noqa: E402
from storage import Database, utcnow  # noqa: E402
from storage.schema import conversations, escalations  # noqa: E402
from storage.testing import temporary_postgres  # noqa: E402

TENANT = "tokyo"


def seed(db: Database, count: int) -> float:
    queue, now, started = EscalationQueue(db), utcnow(), time.perf_counter()
    ids = [str(uuid4()) for _ in range(count)]
    with db.transaction() as conn:
        conn.execute(conversations.insert(), [
            {"id": cid, "tenant": TENANT, "channel": "web", "resident_address": f"bench-{cid}", "state": "assistant",
             "language": "ja", "created_at": now, "updated_at": now, "last_activity_at": now, "deleted": False}
            for n, cid in enumerate(ids)])
        for n, cid in enumerate(ids):
            risky = n % 10 == 0
            queue.enqueue(conn, tenant=TENANT, conversation_id=cid, reason="risk" if risky else "low_confidence",
                          risk="health" if risky else None)
    return time.perf_counter() - started


def operator_loop(db: Database, name: str) -> list[tuple[str, bool, float]]:
    """Claim and resolve until the queue is empty; (escalation id, resolved?, claim seconds) per claim."""
    queue, done = EscalationQueue(db), []
    while True:
        started = time.perf_counter()
        claim = queue.claim([TENANT], name)
        elapsed = time.perf_counter() - started
        if claim is None:
            return done
        done.append((claim.escalation_id, queue.resolve(claim, "bench"), elapsed))


def _process_operator(args: tuple[str, str | None, str]) -> list[tuple[str, bool, float]]:
    url, schema, name = args
    db = Database(url, schema=schema, pool_size=1, max_overflow=0)
    try:
        return operator_loop(db, name)
    finally:
        db.dispose()


def run_operators(db: Database, operators: int, mode: str) -> tuple[list[tuple[str, bool, float]], float]:
    started = time.perf_counter()
    if mode == "processes":
        url = db.url.render_as_string(hide_password=False)
        with multiprocessing.get_context("spawn").Pool(operators) as pool:
            batches = pool.map(_process_operator, [(url, db.schema, f"op{n}") for n in range(operators)])
        return [item for batch in batches for item in batch], time.perf_counter() - started
    results: list[list] = [[] for _ in range(operators)]
    threads = [threading.Thread(target=lambda n=n: results[n].extend(operator_loop(db, f"op{n}")))
               for n in range(operators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [item for batch in results for item in batch], time.perf_counter() - started


# --- the SIGKILL measurement -----------------------------------------------------------------------------------

def child_claim_and_heartbeat(url: str, schema: str, heartbeat_every: float) -> None:
    """Run as a separate process: claim one, report it, heartbeat until killed."""
    queue = EscalationQueue(Database(url, schema=None if schema == "-" else schema, pool_size=1))
    claim = queue.claim([TENANT], "doomed")
    print(json.dumps({"escalation_id": claim.escalation_id}), flush=True)
    while queue.heartbeat(claim):
        time.sleep(heartbeat_every)


def sweep_until(stop: threading.Event, queue: EscalationQueue, stale_after: float, every: float) -> None:
    """What a real worker runs: put back stale claims every `every` seconds."""
    while not stop.is_set():
        queue.requeue_stale(stale_after)
        stop.wait(every)


def heartbeat_age(db: Database, escalation_id: str) -> float:
    with db.read() as conn:
        beat = conn.execute(select(escalations.c.heartbeat_at).where(escalations.c.id == escalation_id)).scalar_one()
    return (utcnow() - beat).total_seconds()


def sigkill_reclaim_delay(db: Database, stale_after: float, sweep_every: float,
                          heartbeat_every: float) -> dict[str, float]:
    """Kill a heartbeating claimer with SIGKILL; seconds until a rescuer's claim() gets its escalation."""
    seed(db, 1)
    url = db.url.render_as_string(hide_password=False)
    child = subprocess.Popen([sys.executable, __file__, "--child", url, db.schema or "-", str(heartbeat_every)],
                             stdout=subprocess.PIPE, text=True)
    held = json.loads(child.stdout.readline())["escalation_id"]
    time.sleep(max(2 * heartbeat_every, 0.5))  # let it heartbeat for a while: a live claim is never stolen
    queue, stop = EscalationQueue(db), threading.Event()
    threading.Thread(target=sweep_until, args=(stop, queue, stale_after, sweep_every), daemon=True).start()
    child.send_signal(signal.SIGKILL)
    killed_at = time.perf_counter()
    child.wait()
    age_at_kill = heartbeat_age(db, held)
    try:
        while (claim := queue.claim([TENANT], "rescuer")) is None:
            time.sleep(0.02)
        assert claim.escalation_id == held, "the rescuer claimed something else"
        return {"sigkill_reclaim_delay_s": round(time.perf_counter() - killed_at, 2),
                "last_heartbeat_age_at_kill_s": round(age_at_kill, 2)}
    finally:
        stop.set()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def report(db: Database, results: list[tuple[str, bool, float]], seconds: float, expected: int) -> dict:
    claimed = Counter(escalation_id for escalation_id, _, _ in results)
    with db.read() as conn:
        states = {s: c for s, c in conn.execute(
            select(escalations.c.state, func.count()).group_by(escalations.c.state))}
    latencies = [elapsed * 1000 for _, _, elapsed in results]
    return {
        "claims": len(results), "claims_per_s": round(len(results) / seconds, 1),
        "claim_ms_p50": round(percentile(latencies, 50), 2), "claim_ms_p99": round(percentile(latencies, 99), 2),
        "double_claims": sum(count - 1 for count in claimed.values() if count > 1),
        "never_claimed": expected - len(claimed), "resolve_failures": sum(not ok for _, ok, _ in results),
        "states": states,
    }


def open_database(url: str | None) -> tuple[Database, callable]:
    if url and url.startswith("sqlite"):
        db = Database(url)
        db.migrate()
        return db, db.dispose
    db = temporary_postgres(url or "postgresql+psycopg://postgres@127.0.0.1:5432/test", pool_size=25)
    return db, lambda: (db.drop_schema(), db.dispose())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=None, help="database URL (default: PostgreSQL test database)")
    parser.add_argument("--escalations", type=int, default=5000)
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--mode", choices=["threads", "processes"], default="threads")
    parser.add_argument("--stale-after", type=float, default=2.0, help="stale interval in seconds")
    parser.add_argument("--sweep-every", type=float, default=0.5, help="how often requeue_stale runs")
    parser.add_argument("--heartbeat-every", type=float, default=0.5)
    args = parser.parse_args()
    db, close = open_database(args.url)
    try:
        seeding = seed(db, args.escalations)
        results, seconds = run_operators(db, args.operators, args.mode)
        summary = {"backend": db.dialect, "mode": args.mode, "escalations": args.escalations,
                   "operators": args.operators, "seed_s": round(seeding, 2), "claim_phase_s": round(seconds, 2),
                   **report(db, results, seconds, args.escalations)}
        print(json.dumps(summary, ensure_ascii=False), flush=True)
        summary.update({"stale_after_s": args.stale_after, "sweep_every_s": args.sweep_every,
                        "heartbeat_every_s": args.heartbeat_every,
                        **sigkill_reclaim_delay(db, args.stale_after, args.sweep_every, args.heartbeat_every)})
    finally:
        close()
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    ok = summary["double_claims"] == 0 and summary["never_claimed"] == 0 and summary["resolve_failures"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_claim_and_heartbeat(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        main()
