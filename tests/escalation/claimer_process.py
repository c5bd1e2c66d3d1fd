"""A separate operator process for the kill and pause tests: claims one escalation, then heartbeats.

    python claimer_process.py URL SCHEMA|- TENANT OPERATOR
It prints one JSON line {"escalation_id", "token"} after claiming, then "beat" after every committed heartbeat
(0.3 s apart). A line "resolve" on stdin makes it try to resolve and print {"resolved": bool, "heartbeat": bool}.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from escalation.queue import Claim, EscalationQueue  # noqa: E402
from storage import Database  # noqa: E402

HEARTBEAT_EVERY_S = 0.3


def heartbeat_until_lost(queue: EscalationQueue, claim: Claim) -> None:
    while queue.heartbeat(claim):
        print("beat", flush=True)  # printed after the commit: a SIGSTOP now never freezes a transaction
        time.sleep(HEARTBEAT_EVERY_S)


def main(url: str, schema: str, tenant: str, operator: str) -> None:
    queue = EscalationQueue(Database(url, schema=None if schema == "-" else schema, pool_size=2))
    claim = queue.claim([tenant], operator)
    print(json.dumps({"escalation_id": claim.escalation_id if claim else None,
                      "token": claim.token if claim else None}), flush=True)
    if claim is None:
        return
    threading.Thread(target=heartbeat_until_lost, args=(queue, claim), daemon=True).start()
    for line in sys.stdin:
        if line.strip() == "resolve":
            resolved = queue.resolve(claim, "answered after a long pause")
            print(json.dumps({"resolved": resolved, "heartbeat": queue.heartbeat(claim)}), flush=True)
            return


if __name__ == "__main__":
    main(*sys.argv[1:5])
