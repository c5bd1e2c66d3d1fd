"""Logging that cannot leak personal data: a filter that redacts every record before any handler writes it, and
a formatter that redacts the final line (for handlers whose records may bypass filters, e.g. added later).

    from governance.logging import install_redacting_logging
    install_redacting_logging()          # at start-up, after handlers are configured

A filter on a *logger* only sees records logged on that very logger, not those propagated from children; that is
why `install_redacting_logging` puts the filter on the root logger's *handlers*.
"""
from __future__ import annotations

import logging
import traceback

from governance.pii import Redactor

# Attributes every LogRecord has; anything else on a record came from `extra=` and is redacted too.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Replaces the message (with its arguments), exception and stack text, and string extras by their redacted
    form. It never drops a record."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pii_redacted", False):
            return True  # already done by another handler's filter: the record object is shared
        self._redact_message(record)
        self._redact_exception(record)
        self._redact_extras(record)
        record._pii_redacted = True
        return True

    def _redact_message(self, record: logging.LogRecord) -> None:
        # Arguments first (a %r would escape them), then the whole line (data split across msg and args).
        record.args = self.redactor.redact_value(record.args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # msg and args do not match: keep both, redacted, rather than raise
            message = f"{record.msg} {record.args!r}"
        record.msg = self.redactor.redact(message)
        record.args = None

    def _redact_exception(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None:
            # Render now and drop exc_info, so no formatter can render the raw exception again.
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)

    def _redact_extras(self, record: logging.LogRecord) -> None:
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, self.redactor.redact(value))


class RedactingFormatter(logging.Formatter):
    """Wraps another formatter and redacts the finished line: the last line of defence."""

    def __init__(self, inner: logging.Formatter | None = None, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(self.inner.format(record))


def install_redacting_logging(logger: logging.Logger | None = None,
                              redactor: Redactor | None = None) -> RedactingFilter:
    """Put one RedactingFilter on every handler of `logger` (default: root) and on logging.lastResort (what writes
    when no handler exists); idempotent. Call it after logging is configured (basicConfig, uvicorn's dictConfig):
    handlers added later are not covered. No handler is added here, so a later basicConfig still takes effect."""
    logger = logger or logging.getLogger()
    handlers = [*logger.handlers, *([logging.lastResort] if logging.lastResort else [])]
    existing = _installed_filter(handlers)
    redacting = existing if existing is not None and redactor is None else RedactingFilter(redactor)
    for handler in handlers:
        for other in [f for f in handler.filters if isinstance(f, RedactingFilter) and f is not redacting]:
            handler.removeFilter(other)  # a tenant's redactor replaces the default one
        if redacting not in handler.filters:
            handler.addFilter(redacting)
    return redacting


def _installed_filter(handlers: list[logging.Handler]) -> RedactingFilter | None:
    for handler in handlers:
        for candidate in handler.filters:
            if isinstance(candidate, RedactingFilter):
                return candidate
    return None
