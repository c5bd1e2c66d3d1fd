"""E-mail in: the SMTP endpoint (aiosmtpd) for every tenant's address, and an IMAP poller per configured mailbox.

Both hand parsed events to `record_events` (the inbox, unique on the Message-ID) and so to the inbox worker; the
SMTP endpoint answers 250 only after the event is recorded, the poller marks a message \\Seen only after it is
recorded, so a failure makes the sender (or the next poll) try again instead of losing mail. What happens next is
the worker's: mail flagged do_not_answer is stored for the operator without a reply (see conversations/inbox_worker.py).

Settings (environment, see conversations.runtime.ChannelSettings): MADOGUCHI_SMTP_INBOUND_ENABLED,
MADOGUCHI_SMTP_INBOUND_HOST (127.0.0.1), MADOGUCHI_SMTP_INBOUND_PORT (8025; put the MTA's relay or port 25 in front
of it), MADOGUCHI_IMAP_POLL_INTERVAL_S (60).
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from channels.email import EmailAdapter, EmailInboundServer, ImapPoller
from conversations.inbox import record_events
from conversations.ports import ConversationServices
from core.messages import InboundEvent

log = logging.getLogger(__name__)


class EmailGateway:
    def __init__(self, services: ConversationServices) -> None:
        self.services = services
        self.runtime = services.runtime
        self.smtp: EmailInboundServer | None = None
        self.pollers: list[ImapPoller] = []

    def record(self, events: list[InboundEvent]) -> None:
        record_events(self.services, events)

    def email_adapters(self) -> list[EmailAdapter]:
        found = (built.get(EmailAdapter.name) for built in self.services.channels.values())
        return [adapter for adapter in found if adapter is not None]

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        threads = []
        if self._start_smtp():
            threads.append(_thread(f"madoguchi-smtp-{self.smtp.port}", self._stop_smtp_when, stop))
        for built in self.services.channels.values():
            adapter = built.get(EmailAdapter.name)
            if adapter is not None and built.imap is not None:
                poller = ImapPoller(adapter, built.imap, self.record)
                self.pollers.append(poller)
                interval = self.runtime.settings.imap_poll_interval_s
                threads.append(_thread(f"madoguchi-imap-{built.tenant}", poller.run, stop, interval))
                log.info("IMAP poller for %s: %s every %.0f s", built.tenant, built.imap.host, interval)
        self.runtime.email_gateway = self
        return threads

    def _start_smtp(self) -> bool:
        settings = self.runtime.settings
        adapters = self.email_adapters()
        if not adapters or not settings.smtp_inbound_enabled:
            return False
        self.smtp = EmailInboundServer(adapters, self.record, host=settings.smtp_inbound_host,
                                       port=settings.smtp_inbound_port, max_bytes=self.services.settings.max_mail_bytes)
        try:
            self.smtp.start()
        except (OSError, RuntimeError) as exc:  # the port is taken: the rest of the service still runs
            log.error("SMTP endpoint on %s:%s did not start: %s", settings.smtp_inbound_host,
                      settings.smtp_inbound_port, exc)
            self.smtp = None
            return False
        log.info("SMTP endpoint for %s on %s:%s", ", ".join(a.address for a in adapters), self.smtp.host,
                 self.smtp.port)
        return True

    def _stop_smtp_when(self, stop: threading.Event) -> None:
        stop.wait()
        if self.smtp is not None:
            self.smtp.stop()


def _thread(name: str, target: Any, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def start_email(services: ConversationServices, stop: threading.Event) -> list[threading.Thread]:
    return EmailGateway(services).start(stop)
