"""The outbox sender: delivers queued replies through the tenant's channel adapter, once per idempotency key.

    sender = OutboxSender(services, "outbox-1")
    sender.run(stop)          # until stop is set; or sender.run_once() -> how many rows it handled

Each pass leases due rows (`claim_outbox_batch`), finds the adapter for (tenant, channel) and calls
`adapter.send(message)`, then `mark_sent`; a failure is `mark_send_failed` (exponential backoff, given up after the
storage's max attempts, at once for errors a retry cannot fix: the channel is off, the provider said 4xx).
A sender that dies mid-send leaves the row leased; after the lease it is sent again with the same key, which the
adapters pass to the provider (LINE X-Line-Retry-Key, the e-mail Message-ID) or remember themselves.

Rows that need no provider call are marked sent at once (the channel says so: the spoken reply of a phone call is
heard in the TwiML, only rows with meta deliver="sms" go out by SMS).

A reply to an inbound event (conversations/tell.py: key "reply:<inbound id>") takes what the channel needs from
that event when the turn did not put it in the message (channels.base.Channel.with_reply_context: LINE's reply
token and when LINE received the event, e-mail's thread headers, reply address and a short quote). A channel that
threads operator replies (e-mail) puts an operator's reply under the resident's latest message.
"""
from __future__ import annotations

import logging
import os
import smtplib
import threading

from channels.base import Channel
from channels.registry import channel_class
from conversations.metrics import observe_send
from conversations.ports import ConversationServices
from conversations.runtime import poll_until_stopped
from conversations.tell import inbound_id_of_reply
from core.messages import OutboundMessage
from storage import (
    Row, claim_outbox_batch, inbound_by_id, latest_inbound_of, mark_send_failed, mark_sent, outbound_message_from_row,
    release_outbox,
)

log = logging.getLogger(__name__)

BATCH = 20


class PermanentSendError(Exception):
    """Retrying cannot help (the channel is off for the tenant, the provider refused the request as invalid)."""


class OutboxSender:
    def __init__(self, services: ConversationServices, name: str) -> None:
        self.services = services
        self.name = name
        self.runtime = services.runtime
        self._stop = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        poll_until_stopped(stop, self.runtime.outbox_wakeup, self.run_once, self.runtime.settings.worker_poll_s,
                           f"outbox sender {self.name}")

    def run_once(self) -> int:
        with self.services.db.transaction() as conn:
            rows = claim_outbox_batch(conn, self.name, lease_seconds=self.runtime.settings.outbox_lease_s,
                                      limit=BATCH)
        for n, row in enumerate(rows):
            if self._stop.is_set():
                self._give_back(rows[n:])  # shutting down: another sender takes the rest at once
                break
            self.deliver(row)
        return len(rows)

    def _give_back(self, rows: list[Row]) -> None:
        with self.services.db.transaction() as conn:
            for row in rows:
                release_outbox(conn, row)

    def deliver(self, row: Row) -> bool:
        """Send one leased row and record the result; True when it was delivered (or needed no delivery)."""
        try:
            self._send(outbound_message_from_row(row), row.conversation_id)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
            permanent = isinstance(exc, PermanentSendError) or is_permanent(exc)
            log.warning("outbox %s (%s/%s) not sent%s: %s", row.id, row.tenant, row.channel,
                        " (giving up)" if permanent else "", exc)
            observe_send(row.tenant, row.channel, ok=False)
            with self.services.db.transaction() as conn:
                mark_send_failed(conn, row, f"{type(exc).__name__}: {exc}", permanent=permanent)
            return False
        observe_send(row.tenant, row.channel, ok=True)
        with self.services.db.transaction() as conn:
            if not mark_sent(conn, row):
                log.warning("outbox %s was sent after its lease ran out", row.id)
        return True

    def _send(self, message: OutboundMessage, conversation_id: str | None = None) -> None:
        channel = channel_class(message.channel)
        if not channel.needs_provider(message):
            return
        adapter = self._adapter(message)
        adapter.send(self._with_reply_context(channel, message, conversation_id))

    def _adapter(self, message: OutboundMessage) -> Channel:
        built = self.services.channels.get(message.tenant)
        adapter = built.get(message.channel) if built is not None else None
        if adapter is None:
            raise PermanentSendError(f"channel {message.channel} is off for tenant {message.tenant}")
        return adapter

    def _with_reply_context(self, channel: type[Channel], message: OutboundMessage,
                            conversation_id: str | None = None) -> OutboundMessage:
        if not channel.replies_in_context:
            return message
        with self.services.db.read() as conn:
            inbound_id = inbound_id_of_reply(message.idempotency_key)
            if inbound_id is None and channel.threads_operator_replies and conversation_id:
                inbound_id = latest_inbound_of(conn, conversation_id)
            row = inbound_by_id(conn, inbound_id) if inbound_id is not None else None
        if row is None or not isinstance(row.payload, dict) or "channel" not in row.payload:
            return message  # erased or unknown: send as written
        return channel.with_reply_context(message, row.payload)


def is_permanent(exc: Exception) -> bool:
    """A provider's 4xx (but not 408/409/429) or an SMTP 5xx: the same request will fail again."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    return isinstance(status, int) and 400 <= status < 500 and status not in (408, 409, 429)


def start_senders(services: ConversationServices, stop: threading.Event,
                  count: int | None = None) -> list[threading.Thread]:
    runtime = services.runtime
    count = runtime.settings.outbox_senders if count is None else count
    threads = []
    for i in range(count):
        sender = OutboxSender(services, f"outbox-{os.getpid()}-{i + 1}")
        thread = threading.Thread(target=sender.run, args=(stop,), name=f"madoguchi-outbox-{i + 1}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
