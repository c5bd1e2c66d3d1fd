"""Slowing password guessing without locking anyone out.

Failed sign-ins are counted per (client address, username) and per client address (storage.staff). Past a few
free tries, each failure doubles the wait before that client may try that username again (1 s, 2 s, 4 s, … capped
at 15 minutes); a client that fails across many usernames waits the same way, from a larger allowance. The right
password from another client is never refused: a username is never locked for everyone (an attacker who knows
a name can no longer keep its operator out). A successful sign-in clears the client's count for that username.

    wait = wait_seconds(services, client, username)    # > 0: answer 429 with Retry-After, check no password
    failed(services, client, username) / succeeded(services, client, username)
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from madoguchi.composition import Services
from storage import (
    clear_sign_in_failures, record_sign_in_failure, sign_in_blocked_until, sign_in_failure_count, utcnow,
)

FREE_TRIES_PER_USERNAME = 3
FREE_TRIES_PER_CLIENT = 20
FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 15 * 60


def backoff_seconds(failures: int, free_tries: int) -> float:
    """How long to wait after `failures` failures: nothing for the free tries, then doubling from 1 s."""
    if failures <= free_tries:
        return 0.0
    return min(FIRST_WAIT_SECONDS * 2 ** (failures - free_tries - 1), MAX_WAIT_SECONDS)


def _scopes(client: str, username: str) -> tuple[str, str]:
    client = client[:200]
    return f"{client}|{username[:64]}", f"{client}|*"


def wait_seconds(services: Services, client: str, username: str, *, now: datetime | None = None) -> int:
    """Whole seconds this client must still wait before trying this username (0: go ahead)."""
    with services.db.read() as conn:
        until = sign_in_blocked_until(conn, list(_scopes(client, username)))
    if until is None:
        return 0
    return max(0, math.ceil((until - (now or utcnow())).total_seconds()))


def failed(services: Services, client: str, username: str) -> None:
    per_username, per_client = _scopes(client, username)
    now = utcnow()
    with services.db.transaction() as conn:
        for scope, free in ((per_username, FREE_TRIES_PER_USERNAME), (per_client, FREE_TRIES_PER_CLIENT)):
            wait = backoff_seconds(sign_in_failure_count(conn, scope) + 1, free)
            record_sign_in_failure(conn, scope, blocked_until=now + timedelta(seconds=wait) if wait else None)


def succeeded(services: Services, client: str, username: str) -> None:
    with services.db.transaction() as conn:
        clear_sign_in_failures(conn, _scopes(client, username)[0])
