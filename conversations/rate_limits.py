"""Rate limits per resident and per source address, counted in the shared database so that every web instance
and worker holds one limit (storage/rate_limits.py: one atomic upsert per hit).

    decision = hit(conn, RESIDENT, tenant="tokyo", who=sender, per_minute=15)
    if not decision.allowed: …  decision.retry_after_s

The count is a sliding window approximated from two fixed ones: this minute's hits plus the previous minute's,
weighted by how much of it still lies within the last 60 s. A refused hit is taken back, so only what was let
through counts (a resident who waits is served again, however often the page retried meanwhile).

Where each limit applies:
  - the web chat and the Rasa REST channel (madoguchi/api): per resident and per source address, refused with a
    polite reply in the resident's language (and Retry-After);
  - channels whose providers sign their webhooks (LINE, e-mail): never at the webhook — every event is recorded
    first — but per resident when the inbox worker takes the event: one past the limit is deferred (given back to
    the inbox to be taken again when the window has room, without spending an attempt), so it is answered late,
    in order, and never lost;
  - the phone is not limited: the caller is on the line, and a call cannot ask 15 questions a minute.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.settings import from_environment
from storage import Connection, utcnow
from storage.rate_limits import count_hit, prune_rate_limits, uncount_hit

RESIDENT = "resident"
ADDRESS = "address"
WINDOW = timedelta(minutes=1)
# Channels limited at the HTTP request (web chat, Rasa REST), and the live call: the worker does not limit these.
NOT_DEFERRED = frozenset({"web", "rest", "voice"})

RATE_LIMITED = Counter("madoguchi_rate_limited", "Requests refused or events deferred by a rate limit",
                       ["tenant", "channel", "scope", "action"])


class RateLimitSettings(BaseSettings):
    """Environment: MADOGUCHI_RATE_LIMIT_RESIDENT_PER_MINUTE=15 …; a tenant's `rate_limits:` in its YAML wins."""

    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_RATE_LIMIT_", extra="ignore")

    resident_per_minute: int = 15  # GOV.UK Chat's figure: questions a minute per user
    address_per_minute: int = 60  # one address may be a city office, a school or a mobile carrier's NAT
    conversations_per_minute: int = 30  # new web chat sessions per address (each one is a new resident)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    hits: float  # the sliding-window estimate, this hit included
    limit: int
    retry_at: datetime | None = None  # refused: when one more hit fits (the same instant for every refusal
    #                                   in the same state, so deferred events keep their order)
    now: datetime | None = None

    @property
    def retry_after_s(self) -> float:
        if self.retry_at is None or self.now is None:
            return 0.0
        return max((self.retry_at - self.now).total_seconds(), 0.0)


def limit_key(scope: str, tenant: str, who: str) -> str:
    """Who is limited, hashed: the table holds no address, LINE id or IP."""
    return hashlib.sha256(f"{scope}\x00{tenant}\x00{who}".encode()).hexdigest()[:64]


def window_start(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def hit(conn: Connection, scope: str, *, tenant: str, who: str, per_minute: int,
        now: datetime | None = None) -> Decision:
    """Count one hit against `per_minute` (0 or less: no limit) and say whether it may pass."""
    if per_minute <= 0:
        return Decision(True, 0.0, per_minute)
    now = now or utcnow()
    key, start = limit_key(scope, tenant, who), window_start(now)
    current, previous = count_hit(conn, key, start, start - WINDOW)
    elapsed = (now - start) / WINDOW
    estimate = current + previous * (1.0 - elapsed)
    if estimate <= per_minute:
        return Decision(True, estimate, per_minute, now=now)
    uncount_hit(conn, key, start)
    return Decision(False, estimate, per_minute, retry_at=start + WINDOW * _fits_at(current - 1, previous, per_minute),
                    now=now)


def _fits_at(allowed: int, previous: int, per_minute: int) -> float:
    """When one more hit fits, in windows from this one's start: allowed + 1 + previous·(1 − t) ≤ limit within
    this window if it can (t < 1), else in the next (where this window's hits are the previous ones)."""
    if allowed + 1 <= per_minute and previous > 0:
        return 1.0 - (per_minute - allowed - 1) / previous
    return 1.0 + (max(0.0, 1.0 - (per_minute - 1) / allowed) if allowed else 0.0)


def limits_for(tenant_raw: dict, settings: RateLimitSettings | None = None) -> RateLimitSettings:
    """The tenant YAML's `rate_limits: {resident_per_minute: 10}` over the environment's."""
    settings = settings or from_environment(RateLimitSettings)
    overrides = tenant_raw.get("rate_limits") or {}
    return settings.model_copy(update={k: int(v) for k, v in overrides.items() if k in RateLimitSettings.model_fields})


def prune(conn: Connection, now: datetime | None = None) -> int:
    """Drop counters no window looks at any more."""
    return prune_rate_limits(conn, window_start(now or utcnow()) - 2 * WINDOW)


def run_pruner(db: Any, stop: threading.Event, every_s: float = 300.0) -> None:
    """The loop that keeps the counters table small (madoguchi/background.py starts it)."""
    while not stop.wait(every_s):
        try:
            with db.transaction() as conn:
                prune(conn)
        except Exception:  # noqa: BLE001 - a database hiccup: try again next time
            logging.getLogger(__name__).exception("pruning rate-limit counters failed")


def counted(tenant: str, channel: str, scope: str, action: str) -> None:
    RATE_LIMITED.labels(tenant, channel, scope, action).inc()
