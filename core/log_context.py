"""What every log line of a request or a turn carries (request id, inbound event id, turn id, tenant, channel).

    with log_context(request_id="3f2a…"):          # madoguchi/web/operations.py: every HTTP request
        …
    with log_context(event_id=row.id, tenant="tokyo", channel="line"):   # conversations/turns.py: every turn
        bind_log_context(turn_id=turn_id)          # once the turn has its id
    current_log_context()                          # the formatter's view (governance/logging.py)

Context variables, so concurrent requests and worker threads never mix their ids; a sync endpoint run in the
thread pool sees the request's (the pool copies the context). Ids only: never a resident's words.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_CONTEXT: ContextVar[dict[str, Any] | None] = ContextVar("madoguchi_log_context", default=None)


def current_log_context() -> dict[str, Any]:
    return dict(_CONTEXT.get() or {})


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **values})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind_log_context(**values: Any) -> None:
    """Add to the current context until the enclosing `log_context` ends."""
    _CONTEXT.set({**(_CONTEXT.get() or {}), **values})
