"""The IMAP poller: reads UNSEEN mail from a mailbox and hands the parsed events to a callback (the durable path
records them) before marking the message seen."""
from __future__ import annotations

import imaplib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channels.base import Channel, PayloadError
from core.messages import InboundEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    username: str
    password: str
    port: int = 993
    mailbox: str = "INBOX"
    use_ssl: bool = True
    timeout_s: float = 30.0


class ImapPoller:
    """Reads UNSEEN mail from a mailbox: fetch without marking (BODY.PEEK[]), hand to the callback, then mark
    \\Seen. A callback failure leaves the message unseen for the next poll (the Message-ID dedupes a repeat);
    a malformed message is marked \\Seen and \\Flagged for a person to look at, so it cannot block the box."""

    def __init__(self, adapter: Channel, settings: ImapSettings,
                 callback: Callable[[list[InboundEvent]], None]) -> None:
        self.adapter = adapter
        self.settings = settings
        self.callback = callback

    def poll_once(self) -> int:
        """One pass over the mailbox; returns how many messages were handed over."""
        with self._connect() as imap:
            imap.login(self.settings.username, self.settings.password)
            _ok(imap.select(self.settings.mailbox), "SELECT")
            uids = _ok(imap.uid("SEARCH", None, "UNSEEN"), "SEARCH")[0].split()
            return sum(self._handle(imap, uid) for uid in uids)

    def run(self, stop: threading.Event, interval_s: float = 60.0) -> None:
        """Poll until `stop` is set; a failed pass is logged and retried at the next interval."""
        while not stop.is_set():
            try:
                self.poll_once()
            except (OSError, imaplib.IMAP4.error):
                log.exception("IMAP poll of %s failed", self.settings.host)
            stop.wait(interval_s)

    def _connect(self) -> imaplib.IMAP4:
        cls = imaplib.IMAP4_SSL if self.settings.use_ssl else imaplib.IMAP4
        return cls(self.settings.host, self.settings.port, timeout=self.settings.timeout_s)

    def _handle(self, imap: imaplib.IMAP4, uid: bytes) -> bool:
        raw = _fetched_bytes(_ok(imap.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH"))
        try:
            events = self.adapter.parse(raw, {})
        except PayloadError as exc:
            log.warning("malformed mail uid %s flagged for an operator: %s", uid.decode(), exc)
            imap.uid("STORE", uid, "+FLAGS", "(\\Seen \\Flagged)")
            return False
        try:
            self.callback(events)
        except Exception:  # noqa: BLE001 - leave it unseen: the next poll retries
            log.exception("recording mail uid %s failed; left unseen", uid.decode())
            return False
        _ok(imap.uid("STORE", uid, "+FLAGS", "(\\Seen)"), "STORE")
        return True


def _ok(result: tuple[str, list[Any]], command: str) -> list[Any]:
    status, data = result
    if status != "OK":
        raise imaplib.IMAP4.error(f"{command} failed: {data!r}")
    return data


def _fetched_bytes(data: list[Any]) -> bytes:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    raise imaplib.IMAP4.error(f"FETCH returned no message: {data!r}")
