"""The outbox sender: delivers queued replies through the tenant's channel adapter, once per idempotency key.

    sender = OutboxSender(services, "outbox-1")
    sender.run(stop)          # until stop is set; or sender.run_once() -> how many rows it handled

Each pass leases due rows (`claim_outbox_batch`), finds the adapter for (tenant, channel) and calls
`adapter.send(message)`, then `mark_sent`; a failure is `mark_send_failed` (exponential backoff, given up after the
storage's max attempts, at once for errors a retry cannot fix: the channel is off, the provider said 4xx).
A sender that dies mid-send leaves the row leased; after the lease it is sent again with the same key, which the
adapters pass to the provider (LINE X-Line-Retry-Key, the e-mail Message-ID) or remember themselves.

Rows that need no provider call are marked sent at once: "web" (the chat page reads the transcript) and the
spoken reply of a phone call (Twilio hears it in the TwiML; only rows with meta deliver="sms" go out by SMS).

A reply to an inbound event (key "reply:<inbound id>") takes what the channel needs from that event when the
dialogue did not put it in the message: LINE's reply token and the time LINE received the event (the adapter
replies only while the token is fresh, else pushes with a retry key), and for e-mail the thread headers
(subject, In-Reply-To, References), the reply address and a short quote of the question. An operator's e-mail
reply (key "operator:<message id>") is threaded under the resident's latest message in the conversation.
"""
from __future__ import annotations

import logging
import os
import smtplib
import threading
from dataclasses import replace
from typing import Any

from channels.base import OutboundMessage
from conversations.inbox import inbound_by_id, inbound_id_of_reply, latest_inbound_of
from conversations.runtime import ChannelRuntime, poll_until_stopped, runtime_for
from storage import claim_outbox_batch, mark_send_failed, mark_sent, outbound_message_from_row

log = logging.getLogger(__name__)

BATCH = 20


class PermanentSendError(Exception):
    """Retrying cannot help (the channel is off for the tenant, the provider refused the request as invalid)."""


class OutboxSender:
    def __init__(self, services: Any, name: str, *, runtime: ChannelRuntime | None = None) -> None:
        self.services = services
        self.name = name
        self.runtime = runtime or runtime_for(services)

    def run(self, stop: threading.Event) -> None:
        poll_until_stopped(stop, self.runtime.outbox_wakeup, self.run_once, self.runtime.settings.worker_poll_s,
                           f"outbox sender {self.name}")

    def run_once(self) -> int:
        with self.services.db.transaction() as conn:
            rows = claim_outbox_batch(conn, self.name, lease_seconds=self.runtime.settings.outbox_lease_s,
                                      limit=BATCH)
        for row in rows:
            self.deliver(row)
        return len(rows)

    def deliver(self, row: Any) -> bool:
        """Send one leased row and record the result; True when it was delivered (or needed no delivery)."""
        try:
            self._send(outbound_message_from_row(row), row.conversation_id)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
            permanent = isinstance(exc, PermanentSendError) or is_permanent(exc)
            log.warning("outbox %s (%s/%s) not sent%s: %s", row.id, row.tenant, row.channel,
                        " (giving up)" if permanent else "", exc)
            with self.services.db.transaction() as conn:
                mark_send_failed(conn, row, f"{type(exc).__name__}: {exc}", permanent=permanent)
            return False
        with self.services.db.transaction() as conn:
            if not mark_sent(conn, row):
                log.warning("outbox %s was sent after its lease ran out", row.id)
        return True

    def _send(self, message: OutboundMessage, conversation_id: str | None = None) -> None:
        if not needs_provider(message):
            return
        adapter = self._adapter(message)
        adapter.send(self._with_reply_context(message, conversation_id))

    def _adapter(self, message: OutboundMessage) -> Any:
        built = self.services.channels.get(message.tenant)
        adapter = built.get(message.channel) if built is not None else None
        if adapter is None:
            raise PermanentSendError(f"channel {message.channel} is off for tenant {message.tenant}")
        return adapter

    def _with_reply_context(self, message: OutboundMessage, conversation_id: str | None = None) -> OutboundMessage:
        if message.channel not in ("line", "email"):
            return message
        if message.idempotency_key.startswith("operator:"):  # a person wrote it: not an automatic reply (RFC 3834)
            message = replace(message, meta={**message.meta, "operator": True})
        with self.services.db.read() as conn:
            inbound_id = inbound_id_of_reply(message.idempotency_key)
            if inbound_id is None and message.channel == "email" and conversation_id:
                # An operator's reply to mail: thread it under the resident's latest message.
                inbound_id = latest_inbound_of(conn, conversation_id)
            row = inbound_by_id(conn, inbound_id) if inbound_id is not None else None
        if row is None or not isinstance(row.payload, dict) or "channel" not in row.payload:
            return message  # erased or unknown: send as written
        return add_reply_context(message, row.payload)


def needs_provider(message: OutboundMessage) -> bool:
    if message.channel == "web":
        return False
    if message.channel == "voice":
        return message.meta.get("deliver") == "sms"
    return True


def add_reply_context(message: OutboundMessage, event: dict[str, Any]) -> OutboundMessage:
    """Fill in, from the inbound event's stored payload, what the channel needs to reply in context."""
    meta = dict(message.meta)
    if message.channel == "line":
        meta.setdefault("received_at", event.get("received_at"))
        return replace(message, reply_token=message.reply_token or event.get("reply_token"), meta=meta)
    event_meta = event.get("meta") or {}
    meta.setdefault("subject", event_meta.get("subject"))
    meta.setdefault("in_reply_to", event_meta.get("message_id") or None)
    meta.setdefault("references", event_meta.get("references") or [])
    meta.setdefault("quote", event.get("text"))
    return replace(message, recipient=event_meta.get("reply_to") or message.recipient, meta=meta)


def is_permanent(exc: Exception) -> bool:
    """A provider's 4xx (but not 408/409/429) or an SMTP 5xx: the same request will fail again."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    return isinstance(status, int) and 400 <= status < 500 and status not in (408, 409, 429)


def start_senders(services: Any, stop: threading.Event, count: int | None = None) -> list[threading.Thread]:
    runtime = runtime_for(services)
    count = runtime.settings.outbox_senders if count is None else count
    threads = []
    for i in range(count):
        sender = OutboxSender(services, f"outbox-{os.getpid()}-{i + 1}", runtime=runtime)
        thread = threading.Thread(target=sender.run, args=(stop,), name=f"madoguchi-outbox-{i + 1}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
