"""What the durable path counts for Prometheus (served at /metrics by madoguchi/web/operations.py).

Process-local, as Prometheus expects: every web instance and every `madoguchi channels worker` process exposes
its own (a worker with `--metrics-port`), Prometheus scrapes each and sums across instances
(`sum by (tenant, outcome) (rate(madoguchi_turns_total[5m]))`). Figures that live in the shared database (queue
depths, backlogs, SLA breaches) are not counted here but read at scrape time (storage/operations.py).

    observe_turn(tenant, channel, result)       # after a turn: its steps' latencies and its outcome
    observe_send(tenant, channel, ok=False)     # after an outbox delivery attempt
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

from core.outcomes import TurnResult

# Steps run in microseconds (normalise) to a second (a cold retrieval): buckets span both.
STEP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

TURN_STEP_SECONDS = Histogram(
    "madoguchi_turn_step_seconds", "Time of each step of a dialogue turn ('total': the whole turn)",
    ["tenant", "step"], buckets=STEP_BUCKETS)
TURNS = Counter(
    "madoguchi_turns", "Dialogue turns by outcome and hand-over reason ('none' when not handed over)",
    ["tenant", "channel", "outcome", "reason"])
OUTBOX_SENDS = Counter(
    "madoguchi_outbox_sends", "Outbox delivery attempts ('failed': the provider refused or could not be reached)",
    ["tenant", "channel", "result"])


def observe_turn(tenant: str, channel: str, result: TurnResult) -> None:
    for step, milliseconds in result.timings_ms.items():
        TURN_STEP_SECONDS.labels(tenant, step).observe(milliseconds / 1e3)
    reason = result.reason.value if result.reason is not None else "none"
    TURNS.labels(tenant, channel, result.outcome.value, reason).inc()


def observe_send(tenant: str, channel: str, *, ok: bool) -> None:
    OUTBOX_SENDS.labels(tenant, channel, "sent" if ok else "failed").inc()
