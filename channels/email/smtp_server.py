"""The SMTP endpoint (aiosmtpd) for the tenants' addresses: parses each accepted message with the tenant's adapter
and hands the events to a callback (the durable path records them) before answering 250."""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiosmtpd.controller import Controller

from channels.base import PayloadError
from channels.email.adapter import ENVELOPE_FROM_HEADER, EmailAdapter
from core.messages import InboundEvent

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
EventsCallback = Callable[[list[InboundEvent]], "None | Awaitable[None]"]


class _PortZeroController(Controller):
    """aiosmtpd's Controller, able to listen on port 0 (any free port) and report the port it got."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class EmailInboundServer:
    """An SMTP endpoint (aiosmtpd) for the tenants' addresses. Each accepted message is parsed and handed to
    `callback(events)` (sync callbacks run in a thread); 250 is answered only after the callback returned, so a
    failure makes the sending server retry (451) instead of losing the message."""

    def __init__(self, adapters: Iterable[EmailAdapter], callback: EventsCallback, *,
                 host: str = "127.0.0.1", port: int = 8025, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.adapters = {a.address: a for a in adapters}
        self.callback = callback
        # Larger mail is refused with 552 while it is sent (aiosmtpd counts the DATA), never stored in part.
        self._controller = _PortZeroController(_SmtpHandler(self), hostname=host, port=port,
                                               data_size_limit=max_bytes)

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def host(self) -> str:
        return self._controller.hostname

    def start(self) -> EmailInboundServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> EmailInboundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _SmtpHandler:
    def __init__(self, server: EmailInboundServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address.lower() not in self.server.adapters:
            return "550 5.1.1 No such mailbox here"  # never an open relay
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        try:
            events = self._events(raw, envelope)
        except PayloadError as exc:
            return f"550 5.6.0 Malformed message: {exc}"
        except Exception as exc:  # noqa: BLE001 - accepted means stored: refuse, saying why, rather than 250 and lose it
            log.exception("an inbound mail could not be read")
            return f"554 5.6.0 This message could not be read ({type(exc).__name__}); it was not stored"
        try:
            await _call(self.server.callback, events)
        except Exception:  # noqa: BLE001 - any failure to record must make the sender retry
            log.exception("recording inbound email failed; asking the sender to retry")
            return "451 4.3.0 Could not record the message, try again later"
        return "250 Message accepted"

    def _events(self, raw: bytes, envelope: Any) -> list[InboundEvent]:
        headers = {ENVELOPE_FROM_HEADER: envelope.mail_from or "<>"}
        recipients = dict.fromkeys(r.lower() for r in envelope.rcpt_tos)
        return [e for r in recipients for e in self.server.adapters[r].parse(raw, headers)]


async def _call(callback: EventsCallback, events: list[InboundEvent]) -> None:
    if inspect.iscoroutinefunction(callback):
        await callback(events)
    else:
        await asyncio.get_running_loop().run_in_executor(None, callback, events)
