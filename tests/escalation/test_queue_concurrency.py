"""Reliability with real concurrency: many claimer threads, a claimer process killed with SIGKILL, one frozen
with SIGSTOP. PostgreSQL takes the large case (20 threads, 500 escalations); SQLite a smaller one."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from escalation.queue import Claim, EscalationQueue, HeldClaim
from storage import Database, utcnow
from storage.schema import conversations, escalations

CLAIMER = Path(__file__).with_name("claimer_process.py")
STALE_AFTER_S = 1.5
HANG_GUARD_S = 20  # only stops a broken test from hanging; not a speed target


def seed(db: Database, count: int, tenant: str = "tokyo") -> None:
    """`count` conversations, each handed over once, through EscalationQueue.enqueue in one transaction."""
    queue, now = EscalationQueue(db), utcnow()
    ids = [str(uuid4()) for _ in range(count)]
    with db.transaction() as conn:
        conn.execute(conversations.insert(), [
            {"id": cid, "tenant": tenant, "channel": "web", "resident_address": f"s-{n}", "state": "assistant",
             "language": "ja", "created_at": now, "updated_at": now, "last_activity_at": now, "deleted": False}
            for n, cid in enumerate(ids)])
        for n, cid in enumerate(ids):
            queue.enqueue(conn, tenant=tenant, conversation_id=cid,
                          reason="risk" if n % 10 == 0 else "low_confidence", risk="health" if n % 10 == 0 else None)


def claim_and_resolve_until_empty(db: Database, operators: int) -> tuple[list[Claim], list[bool]]:
    queue = EscalationQueue(db)
    claims: list[Claim] = []
    resolutions: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(operators)

    def operator(name: str) -> None:
        start.wait()
        while (claim := queue.claim(["tokyo"], name)) is not None:
            resolved = queue.resolve(claim, "done")
            with lock:
                claims.append(claim)
                resolutions.append(resolved)

    threads = [threading.Thread(target=operator, args=(f"op{n}",)) for n in range(operators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD_S * 3)
    return claims, resolutions


def states(db: Database) -> Counter[str]:
    with db.read() as conn:
        rows = conn.execute(select(escalations.c.state, func.count()).group_by(escalations.c.state))
        return Counter({state: count for state, count in rows})


@pytest.mark.slow
def test_concurrent_operators_never_claim_the_same_escalation_twice(db: Database) -> None:
    operators, count = (20, 500) if db.dialect == "postgresql" else (8, 120)
    seed(db, count)
    claims, resolutions = claim_and_resolve_until_empty(db, operators)
    claimed = Counter(claim.escalation_id for claim in claims)
    assert len(claimed) == count and max(claimed.values()) == 1  # every one claimed, none twice
    assert all(resolutions) and len(resolutions) == count  # each resolved exactly once
    assert states(db) == Counter({"resolved": count})
    assert len({claim.operator for claim in claims}) > 1  # the work really was shared


def start_claimer(db: Database) -> tuple[subprocess.Popen, dict]:
    url = db.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, str(CLAIMER), url, db.schema or "-", "tokyo", "doomed"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    first = json.loads(process.stdout.readline())
    assert first["escalation_id"], "the claimer process found nothing to claim"
    return process, first


def wait_for_beats(process: subprocess.Popen, count: int = 1, *, for_at_least: float = 0.0) -> None:
    """Read `count` heartbeat lines, and more until `for_at_least` seconds have passed."""
    started = time.monotonic()
    while count > 0 or time.monotonic() - started < for_at_least:
        assert process.stdout.readline().strip() == "beat"
        count -= 1


def requeue_until_stale(queue: EscalationQueue) -> None:
    """Sweep like the real worker does until the dead claim is put back."""
    deadline = time.monotonic() + HANG_GUARD_S
    while not queue.requeue_stale(STALE_AFTER_S):
        assert time.monotonic() < deadline, "the dead claim was never re-queued"
        time.sleep(0.1)


def test_a_claimer_killed_with_sigkill_is_claimable_again_after_the_stale_interval(db: Database) -> None:
    seed(db, 3)
    queue = EscalationQueue(db)
    process, held = start_claimer(db)
    try:
        # Held for longer than the stale interval, but heartbeating: a live claim is never taken away.
        wait_for_beats(process, for_at_least=STALE_AFTER_S)
        assert queue.requeue_stale(STALE_AFTER_S) == 0
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert queue.requeue_stale(3600) == 0  # dead, but only stale once the interval has passed
        requeue_until_stale(queue)
        taken = {queue.claim(["tokyo"], "rescuer").escalation_id for _ in range(3)}
        assert held["escalation_id"] in taken
        ghost = HeldClaim(held["escalation_id"], held["token"], "doomed")
        assert queue.resolve(ghost, "from beyond the grave") is False
    finally:
        process.kill()
        process.wait()


def test_a_frozen_claimer_that_resumes_after_its_claim_moved_on_cannot_resolve(db: Database) -> None:
    seed(db, 1)
    queue = EscalationQueue(db)
    process, held = start_claimer(db)
    try:
        wait_for_beats(process)
        process.send_signal(signal.SIGSTOP)
        requeue_until_stale(queue)
        rescuer = queue.claim(["tokyo"], "rescuer")
        assert rescuer.escalation_id == held["escalation_id"]
        process.send_signal(signal.SIGCONT)
        process.stdin.write("resolve\n")
        process.stdin.flush()
        answer = next(json.loads(line) for line in process.stdout if line.strip() != "beat")
        assert answer == {"resolved": False, "heartbeat": False}  # 0 rows changed
        assert queue.resolve(rescuer, "answered by the rescuer")
        assert states(db) == Counter({"resolved": 1})
    finally:
        process.kill()
        process.wait()
