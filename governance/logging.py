"""Logging that cannot leak personal data: a filter that redacts every record before any handler writes it, and
a formatter that redacts the final line (for handlers whose records may bypass filters, e.g. added later).

    from governance.logging import install_redacting_logging
    install_redacting_logging()          # at start-up, after handlers are configured
    configure_logging("INFO", "json")    # `madoguchi serve` / `channels worker`: one JSON object per line on
                                         # stderr with the request or turn ids (core/log_context.py), redacted

A filter on a *logger* only sees records logged on that very logger, not those propagated from children; that is
why `install_redacting_logging` puts the filter on the root logger's *handlers*.
"""
from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import datetime, timezone

from core.log_context import current_log_context
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


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request/turn ids of the context, the record's
    own extras and the exception. Behind the redacting filter (and wrapped in RedactingFormatter by
    `configure_logging`), so what it writes is already redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            **current_log_context(), **_extras(record),
        }
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {key: value for key, value in vars(record).items()
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_") and key != "color_message"}


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Servers' own loggers write through the root handler, so their lines are JSON and redacted too.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "aiosmtpd", "mail.log")


def configure_logging(level: str = "INFO", fmt: str = "json") -> logging.Handler:
    """One stderr handler on the root logger ("json" or "text"), the redacting filter in front of it."""
    inner = JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(inner))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
        # A uvicorn started earlier in the process (log_level=...) or a dictConfig may have set a level or
        # disabled the logger; the root's level and handler decide from now on.
        server_logger.setLevel(logging.NOTSET)
        server_logger.disabled = False
    install_redacting_logging()
    return handler
