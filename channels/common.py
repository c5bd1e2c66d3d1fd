"""Small helpers shared by the adapters: idempotency keys and case-insensitive header lookup.

Where the provider dedupes for us (LINE's X-Line-Retry-Key) we derive its key deterministically from ours. Where it
does not (SMTP, Twilio Messages, Slack chat.postMessage) an adapter remembers the keys it delivered recently, so a
retry inside one process after a success is a no-op; across processes the outbox's own record is the guard.
"""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping

# A fixed namespace so the same idempotency key maps to the same UUID on every machine and every run.
MADOGUCHI_NAMESPACE = uuid.UUID("6f1c3c1e-6a43-5b8e-9d0e-6d61646f6775")


def uuid_for_key(idempotency_key: str) -> str:
    """The UUID (version 5) that stands for an idempotency key at a provider that wants UUIDs."""
    return str(uuid.uuid5(MADOGUCHI_NAMESPACE, idempotency_key))


class RecentKeys:
    """A bounded, thread-safe record of idempotency keys already delivered by this process."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._keys

    def add(self, key: str) -> None:
        with self._lock:
            self._keys[key] = None
            self._keys.move_to_end(key)
            while len(self._keys) > self._capacity:
                self._keys.popitem(last=False)


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header by name, whatever the case the web framework or test used (Starlette lower-cases, WSGI does not)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
