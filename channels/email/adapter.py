"""Email adapter: RFC 5322 in (SMTP endpoint or IMAP poller), threaded replies out through SMTP.

parse() reads the message with the stdlib parser (policy.default): ISO-2022-JP (NEC/IBM extension characters
included), UTF-8, Shift_JIS, quoted-printable, base64, HTML-only mail turned into text. The question is the body
without quoted history and signature; the whole body stays in meta for the operator. Mail that must not be answered
(auto-replies, bounces, lists, no-reply senders) is flagged `meta["do_not_answer"]` with reasons, never silently
dropped. Attachments are listed (name, type, size), never opened. external_id is the Message-ID.

send() builds the reply in the same thread (In-Reply-To, References, one "Re: "), quotes the question sparingly,
marks it Auto-Submitted: auto-replied (RFC 3834) so other robots do not answer it, and derives its Message-ID from
the idempotency key. verify() has no signature to check: mail authenticity (SPF/DKIM) is the receiving MTA's job.
"""
from __future__ import annotations

import asyncio
import hashlib
import imaplib
import inspect
import logging
import re
import smtplib
import threading
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, getaddresses
from datetime import datetime, UTC
from html.parser import HTMLParser
from typing import Any
from collections.abc import Awaitable, Callable, Iterable, Mapping

from aiosmtpd.controller import Controller

from channels.base import InboundEvent, OutboundMessage, PayloadError
from channels.common import RecentKeys, header, uuid_for_key

log = logging.getLogger(__name__)

ENVELOPE_FROM_HEADER = "X-Envelope-From"  # the SMTP MAIL FROM, passed to parse() by the SMTP endpoint
QUOTE_LINES = 4
BODY_LIMIT = 20_000  # characters of the whole body kept in meta for the operator
MAX_REFERENCES = 10

EventsCallback = Callable[[list[InboundEvent]], "None | Awaitable[None]"]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0


class EmailAdapter:
    name = "email"

    def __init__(self, tenant: str, address: str, smtp: SmtpSettings, *, display_name: str | None = None,
                 quote_lines: int = QUOTE_LINES) -> None:
        if not address or "@" not in address or not smtp.host:
            raise ValueError("email needs the tenant's address and an SMTP host")
        self.tenant = tenant
        self.address = address.lower()
        self.smtp = smtp
        self.display_name = display_name
        self.quote_lines = quote_lines
        self._delivered = RecentKeys()

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> None:
        """Nothing to verify at this layer (the MTA checks SPF/DKIM); present for the common interface."""

    def parse(self, raw: bytes, headers: Mapping[str, str] | None = None) -> list[InboundEvent]:
        event = parse_email(raw, self.tenant, envelope_from=header(headers, ENVELOPE_FROM_HEADER))
        if event.sender != self.address:
            return [event]
        # Our own mail coming back (a forward rule, a misconfigured alias): answering it would start a loop.
        reasons = [*event.meta["auto_reasons"], "own-address"]
        return [replace(event, meta={**event.meta, "do_not_answer": True, "auto_reasons": reasons})]

    def send(self, message: OutboundMessage) -> None:
        if message.idempotency_key in self._delivered:
            return
        reply = self.build_reply(message)
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.smtp.timeout_s) as smtp:
            if self.smtp.starttls:
                smtp.starttls()
            if self.smtp.username:
                smtp.login(self.smtp.username, self.smtp.password or "")
            smtp.send_message(reply, from_addr=self.address, to_addrs=[message.recipient])
        self._delivered.add(message.idempotency_key)

    def build_reply(self, message: OutboundMessage) -> EmailMessage:
        """The reply as an EmailMessage (pure). meta: subject, in_reply_to, references, quote, operator."""
        meta = message.meta
        reply = EmailMessage(policy=policy.SMTP)
        reply["From"] = formataddr((self.display_name, self.address)) if self.display_name else self.address
        reply["To"] = message.recipient
        reply["Subject"] = reply_subject(meta.get("subject") or "お問い合わせ")
        reply["Date"] = format_datetime(datetime.now(UTC))
        reply["Message-ID"] = f"<{uuid_for_key(message.idempotency_key)}@{self.address.split('@')[1]}>"
        _thread(reply, meta.get("in_reply_to"), meta.get("references") or [])
        if not meta.get("operator"):  # a person's reply is not automatic; ours is (RFC 3834)
            reply["Auto-Submitted"] = "auto-replied"
        # base64: 7-bit clean for any relay (8bit needs 8BITMIME all the way) and compact for Japanese text.
        reply.set_content(_reply_body(message, self.quote_lines), charset="utf-8", cte="base64")
        return reply


# -- parsing (pure) ----------------------------------------------------------------------------------------------

def parse_email(raw: bytes, tenant: str, envelope_from: str | None = None) -> InboundEvent:
    if not raw or not raw.strip():
        raise PayloadError("empty message")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        sender = _address(msg, "From")
    except (ValueError, TypeError, IndexError) as exc:  # a header the parser cannot make sense of
        raise PayloadError(f"unreadable message headers: {exc}") from None
    if not sender:
        raise PayloadError("message without a From address")
    body, html_only = body_text(msg)
    subject = _header_text(msg, "Subject")
    question = strip_quoted(body).strip() or subject
    reasons = auto_reply_reasons(msg, sender, envelope_from)
    return InboundEvent(
        channel="email", external_id=_message_id(msg, raw), tenant=tenant, sender=sender, kind="message",
        text=question, received_at=_date(msg),
        meta={"subject": subject, "message_id": _header_text(msg, "Message-ID"),
              "in_reply_to": _header_text(msg, "In-Reply-To") or None,
              "references": _header_text(msg, "References").split(),
              "reply_to": _address(msg, "Reply-To") or sender, "to": _address(msg, "To"),
              "body": body[:BODY_LIMIT], "html_only": html_only, "attachments": attachments(msg),
              "do_not_answer": bool(reasons), "auto_reasons": reasons},
    )


def _header_text(msg: Message, name: str) -> str:
    value = msg.get(name)
    return str(value).strip() if value is not None else ""


def _address(msg: Message, name: str) -> str:
    values = msg.get_all(name) or []
    pairs = getaddresses([str(v) for v in values])
    return next((addr.lower() for _, addr in pairs if "@" in addr), "")


def _message_id(msg: Message, raw: bytes) -> str:
    message_id = _header_text(msg, "Message-ID")
    # Without a Message-ID the same bytes delivered twice still map to one id.
    return message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


def _date(msg: Message) -> datetime | None:
    value = msg.get("Date")
    return getattr(value, "datetime", None) if value is not None else None


# -- body and attachments ------------------------------------------------------------------------------------------

def body_text(msg: Message) -> tuple[str, bool]:
    """(text, html_only): the first text/plain part that is not an attachment, else the first HTML part as text."""
    plain = html = None
    for part in msg.walk():
        if part.is_multipart() or _is_attachment(part):
            continue
        if part.get_content_type() == "text/plain" and plain is None:
            plain = decode_part(part)
        elif part.get_content_type() == "text/html" and html is None:
            html = decode_part(part)
    if plain is not None:
        return _normalise_newlines(plain), False
    if html is not None:
        return html_to_text(html), True
    return "", False


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or (part.get_filename() is not None and disposition != "inline") \
        or part.get_content_maintype() not in ("text", "multipart")


def attachments(msg: Message) -> list[dict[str, Any]]:
    """Name, type and size of every attachment: noted for the operator, never opened."""
    found = []
    for part in msg.walk():
        if part.is_multipart() or not _is_attachment(part):
            continue
        payload = part.get_payload(decode=True) or b""
        found.append({"filename": part.get_filename() or "", "content_type": part.get_content_type(),
                      "size": len(payload)})
    return found


# Japanese mail often says iso-2022-jp or shift_jis but uses the Windows supersets (①, ㈱, 髙, half-width kana).
CHARSET_FALLBACKS = {"shift_jis": ["cp932"], "sjis": ["cp932"], "x-sjis": ["cp932"], "shift-jis": ["cp932"],
                     "euc-jp": ["euc_jp", "euc_jis_2004"], "iso-2022-jp": ["iso2022_jp", "iso2022_jp_2004"]}


def decode_part(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = (part.get_content_charset() or "utf-8").lower()
    for candidate in CHARSET_FALLBACKS.get(charset, [charset]):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    if charset.startswith("iso-2022-jp"):
        return decode_iso2022jp_windows(payload)
    return payload.decode("utf-8", errors="replace")


def decode_iso2022jp_windows(data: bytes) -> str:
    """ISO-2022-JP as Windows writes it (CP50220): JIS X 0208 rows mapped through CP932, so NEC/IBM extension
    characters (①, ㈱, Ⅲ) decode instead of turning into replacement marks."""
    out, mode, i = bytearray(), "ascii", 0
    while i < len(data):
        if data[i] == 0x1B and i + 2 < len(data):
            mode = {b"$B": "jis", b"$@": "jis", b"(I": "kana"}.get(bytes(data[i + 1:i + 3]), "ascii")
            i += 3
        elif mode == "jis" and 0x21 <= data[i] <= 0x7E and i + 1 < len(data):
            out += _jis_to_sjis(data[i], data[i + 1])
            i += 2
        else:
            out.append(data[i] + 0x80 if mode == "kana" and 0x21 <= data[i] <= 0x5F else data[i])
            i += 1
    return out.decode("cp932", errors="replace")


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    s1 = ((j1 - 0x21) >> 1) + 0x81
    s1 = s1 + 0x40 if s1 > 0x9F else s1
    if j1 % 2:  # odd rows use the lower half of the trail byte range, skipping 0x7F
        s2 = j2 + 0x1F + (1 if j2 + 0x1F >= 0x7F else 0)
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _HtmlText(HTMLParser):
    """HTML to plain text: blocks become lines; scripts, styles and quoted history are skipped."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr"}
    SKIPPED = {"script", "style", "head", "title", "blockquote"}
    QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "divRplyFwdMsg")
    VOID = {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._open: list[tuple[str, bool]] = []  # open elements: (tag, starts a skipped region)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = " ".join(v or "" for k, v in attrs if k in ("class", "id"))
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag not in self.VOID:
            self._open.append((tag, tag in self.SKIPPED or any(c in classes for c in self.QUOTE_CLASSES)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")
        # Close up to the matching element: mail HTML leaves <p> and <li> unclosed.
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break

    @property
    def _skipping(self) -> bool:
        return any(skipped for _, skipped in self._open)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\u00a0\u3000]+", " ", line).strip() for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- quoted history and signatures ---------------------------------------------------------------------------------

ATTRIBUTION_LINES = [
    re.compile(r"^On .{4,200}wrote:\s*$"),
    re.compile(r"^\d{4}[年/-]\d{1,2}[月/-]\d{1,2}日?.{0,120}(?:wrote|書きました|:|：)\s*$"),
    re.compile(r"^-{2,}\s*(?:Original Message|元のメッセージ|Forwarded message|転送されたメッセージ|転送メッセージ)",
               re.IGNORECASE),
    re.compile(r"^_{10,}\s*$"),  # Outlook puts a rule above the quoted header block
]
HEADER_BLOCK_START = re.compile(r"^(?:From|差出人|送信者)\s*[:：]")
HEADER_BLOCK_NEXT = re.compile(r"^(?:Sent|Date|送信日時|日時|To|宛先|Subject|件名)\s*[:：]")
SIGNATURE_RULE = re.compile(r"^\s*(?:--\s*|[-=_＿━─＝*＊~〜・]{4,}.*)$")
SIGNATURE_MAX_LINES = 12


def strip_quoted(text: str) -> str:
    """The new part of a message: without quoted history ("> " lines, attributions, forwarded headers) and
    without the sender's signature."""
    lines = _normalise_newlines(text).split("\n")
    lines = lines[:_history_start(lines)]
    lines = [line for line in lines if not line.lstrip().startswith((">", "＞"))]
    lines = lines[:_signature_start(lines)]
    return "\n".join(lines).strip()


def _history_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        stripped = line.strip()
        if any(p.match(stripped) for p in ATTRIBUTION_LINES):
            return i
        if HEADER_BLOCK_START.match(stripped) and any(HEADER_BLOCK_NEXT.match(n.strip()) for n in lines[i + 1:i + 4]):
            return i
    return len(lines)


def _signature_start(lines: list[str]) -> int:
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content:
        return 0
    last = content[-1]
    for i in range(max(1, last - SIGNATURE_MAX_LINES + 1), last + 1):
        if SIGNATURE_RULE.match(lines[i]) and any(lines[j].strip() for j in range(i)):
            return i
    return len(lines)


# -- mail that must not be answered --------------------------------------------------------------------------------

NO_REPLY_LOCALPARTS = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|noreply|donotreply)(?:[-+_.].*)?$")
BOUNCE_LOCALPARTS = {"mailer-daemon", "postmaster", "mail-daemon"}
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Autoresponder", "X-Mail-Autoreply")


def auto_reply_reasons(msg: Message, sender: str, envelope_from: str | None = None) -> list[str]:
    """Why this message must not get an automatic answer (empty: answer it). Loops and bounces are the risk."""
    reasons = []
    auto_submitted = _header_text(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        reasons.append(f"auto-submitted:{auto_submitted}")
    precedence = _header_text(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        reasons.append(f"precedence:{precedence}")
    reasons += [f"header:{h.lower()}" for h in AUTO_REPLY_HEADERS if msg.get(h) is not None]
    if any(s in _header_text(msg, "X-Auto-Response-Suppress") for s in ("All", "OOF", "AutoReply")):
        reasons.append("x-auto-response-suppress")
    if msg.get("List-Id") is not None or msg.get("List-Unsubscribe") is not None:
        reasons.append("mailing-list")
    reasons += _sender_reasons(sender)
    if msg.get_content_type() == "multipart/report" or msg.get("X-Failed-Recipients") is not None:
        reasons.append("delivery-report")
    if _null_sender(envelope_from) or _null_sender(_header_text(msg, "Return-Path"), absent_is_null=False):
        reasons.append("null-sender")
    return reasons


def _sender_reasons(sender: str) -> list[str]:
    local = sender.split("@")[0].lower()
    if local in BOUNCE_LOCALPARTS:
        return ["bounce-sender"]
    return ["no-reply-sender"] if NO_REPLY_LOCALPARTS.match(local) else []


def _null_sender(value: str | None, absent_is_null: bool = True) -> bool:
    """The SMTP null reverse-path `<>` marks a bounce; an envelope we were given but that is empty does too."""
    if value is None:
        return False
    return value.strip() in ("<>", "") if absent_is_null else value.strip() == "<>"


# -- replies -------------------------------------------------------------------------------------------------------

REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|sv|vs)(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|返信\s*[:：]\s*)+",
                          re.IGNORECASE)


def reply_subject(subject: str) -> str:
    """One "Re: " however many the thread has collected (Re: RE: Re[2]: 返信:)."""
    return "Re: " + REPLY_PREFIX.sub("", subject).strip()


def _thread(reply: EmailMessage, in_reply_to: str | None, references: list[str]) -> None:
    if not in_reply_to:
        return
    chain = [r for r in references if r != in_reply_to] + [in_reply_to]
    if len(chain) > MAX_REFERENCES:  # keep the thread's root and the most recent ancestors (RFC 5322 §3.6.4)
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1):]
    reply["In-Reply-To"] = in_reply_to
    reply["References"] = " ".join(chain)


def _reply_body(message: OutboundMessage, quote_lines: int) -> str:
    parts = [message.text.rstrip()]
    if message.choices:
        numbered = "\n".join(f"{i}. {c}" for i, c in enumerate(message.choices, start=1))
        parts.append("次のうち、どれについてのお問い合わせですか。番号でご返信ください。\n" + numbered)
    quote = message.meta.get("quote")
    if quote:
        parts.append(quote_sparingly(str(quote), quote_lines))
    return "\n\n".join(parts) + "\n"


def quote_sparingly(text: str, max_lines: int) -> str:
    lines = [line for line in strip_quoted(text).splitlines() if line.strip()]
    quoted = [f"> {line}" for line in lines[:max_lines]]
    if len(lines) > max_lines:
        quoted.append("> …")
    return "お問い合わせ内容:\n" + "\n".join(quoted)


# -- inbound: SMTP endpoint ----------------------------------------------------------------------------------------

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
                 host: str = "127.0.0.1", port: int = 8025) -> None:
        self.adapters = {a.address: a for a in adapters}
        self.callback = callback
        self._controller = _PortZeroController(_SmtpHandler(self), hostname=host, port=port)

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


# -- inbound: IMAP poller ------------------------------------------------------------------------------------------

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

    def __init__(self, adapter: EmailAdapter, settings: ImapSettings,
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
