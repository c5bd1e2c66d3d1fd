"""Email adapter: RFC 5322 in (SMTP endpoint, IMAP poller or an HTTP inbound-mail provider), threaded replies out
through SMTP. The rest of the package: mime.py (reading a mail), quoting.py (quoted history and signatures),
auto_replies.py (mail that must not be answered), smtp_server.py and imap.py (the two ways mail comes in).

parse() reads the message: the question is the body without quoted history and signature; the whole body stays in
meta for the operator. Mail that must not be answered (auto-replies, bounces, lists, no-reply senders) is flagged
`meta["do_not_answer"]` with reasons, never silently dropped. Attachments are listed, never opened. external_id is
the Message-ID.

send() builds the reply in the same thread (In-Reply-To, References, one "Re: "), quotes the question sparingly,
marks it Auto-Submitted: auto-replied (RFC 3834) so other robots do not answer it, and derives its Message-ID from
the idempotency key. verify() checks the bearer token of an HTTP inbound-mail provider (POST /webhooks/email/T,
`Authorization: Bearer $MADOGUCHI_<TENANT>_EMAIL_INBOUND_TOKEN`).

Who is answered is authentication.py's rule: the From address, a Reply-To only in From's own domain or when the
mail is authenticated (DKIM aligned with From, or dmarc=pass from the trusted MTA, where the tenant turns the check
on with `sender_authentication: dkim`); with the check on, an unauthenticated mail is stored for an operator and
not answered. A reply never quotes links (nor a subject's links) of a sender it could not authenticate.

external_id is the Message-ID with a digest of what the mail says: a redelivery of the same mail is recognised,
while another mail that reuses the Message-ID (a broken client, or someone hoping to have a mail dropped) is a new
event, not silently dropped.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr
from typing import Any, ClassVar

from channels.base import Channel, MissingSignature, PayloadError, SignatureError, WebhookOff
from channels.common import RecentKeys, header, uuid_for_key
from channels.config import ChannelConfig, env_name
from channels.email.authentication import SenderAuthentication, SenderCheck, answer_address
from channels.email.auto_replies import auto_reply_reasons
from channels.email.imap import ImapSettings
from channels.email.mime import attachments, body_text, date_of, header_text, mail_address, message_id_of
from channels.email.quoting import quote_sparingly, strip_links, strip_quoted
from config.settings import Settings
from core.messages import InboundEvent, OutboundMessage

log = logging.getLogger(__name__)

ENVELOPE_FROM_HEADER = "X-Envelope-From"  # the SMTP MAIL FROM, passed to parse() by the SMTP endpoint
QUOTE_LINES = 4
BODY_LIMIT = 20_000  # characters of the whole body kept in meta for the operator
SUBJECT_LIMIT = 300  # a subject is a line; more is an attack on what is kept and shown, not a question
REFERENCES_KEPT = 20  # the thread's latest Message-IDs: enough to thread a reply (RFC 5322 lets the list grow)
MAX_REFERENCES = 10
# What an operator needs of a mail that was handed over (the escalation's meta "email").
OPERATOR_KEYS = ("subject", "body", "attachments", "message_id", "html_only", "auto_reasons", "reply_to",
                 "authentication")
MESSAGE_ID_CHARS = 200  # of the 255 an external id may have; the rest is the content digest


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0


class EmailAdapter(Channel):
    name: ClassVar[str] = "email"
    replies_in_context: ClassVar[bool] = True
    threads_operator_replies: ClassVar[bool] = True
    secret_keys: ClassVar[frozenset[str]] = frozenset({"smtp_password", "imap_password", "inbound_token"})

    def __init__(self, tenant: str, address: str, smtp: SmtpSettings, *, display_name: str | None = None,
                 quote_lines: int = QUOTE_LINES, inbound_token: Callable[[], str | None] | None = None,
                 authentication: SenderAuthentication | None = None) -> None:
        if not address or "@" not in address or not smtp.host:
            raise ValueError("email needs the tenant's address and an SMTP host")
        self.tenant = tenant
        self.address = address.lower()
        self.smtp = smtp
        self.display_name = display_name
        self.quote_lines = quote_lines
        self.authentication = authentication or SenderAuthentication()
        # Read per request, so the token can be set or removed while running (default: from the environment).
        self._inbound_token = inbound_token or self._token_from_environment
        self._delivered = RecentKeys()

    # -- what is particular to e-mail ------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: ChannelConfig, settings: Settings) -> EmailAdapter:
        address, host = config.require("address", "smtp_host")
        smtp = SmtpSettings(host=host, port=int(config.get("smtp_port", 25)), username=config.get("smtp_username"),
                            password=config.get("smtp_password"), starttls=config.flag("smtp_starttls"))
        contact = config.tenant.contact or {}
        display = config.get("display_name") or contact.get("office") or config.tenant.display_name
        authentication = SenderAuthentication(mode=str(config.get("sender_authentication", "off")),
                                              trusted_authserv_id=config.get("trusted_authserv_id"))
        return cls(config.tenant.id, address, smtp, display_name=display,
                   inbound_token=lambda: config.get("inbound_token"), authentication=authentication)

    @classmethod
    def mailbox(cls, config: ChannelConfig) -> ImapSettings | None:
        """The mailbox to poll, when the channel names an IMAP host and its password is in the environment."""
        host = config.get("imap_host")
        if not host:
            return None
        password = config.get("imap_password")
        if password is None:
            log.warning("%s/email: IMAP polling off (missing %s)", config.tenant.id, config.env_name("imap_password"))
            return None
        return ImapSettings(host=host, username=config.get("imap_username") or config.get("address"),
                            password=password, port=int(config.get("imap_port", 993)),
                            mailbox=config.get("imap_mailbox", "INBOX"), use_ssl=not config.flag("imap_plain"))

    @classmethod
    def reply_meta(cls, event: InboundEvent) -> dict[str, Any]:
        """The reply goes in the resident's thread and quotes the question (without links, unless authenticated)."""
        return {"subject": _safe(event.meta.get("subject"), event.meta), "in_reply_to": event.meta.get("message_id"),
                "references": event.meta.get("references"), "quote": _safe(event.text, event.meta)}

    @classmethod
    def with_reply_context(cls, message: OutboundMessage, event: Mapping[str, Any]) -> OutboundMessage:
        """Thread headers, the reply address and a short quote of the question, from the mail it answers."""
        meta = dict(message.meta)
        event_meta = event.get("meta") or {}
        meta.setdefault("subject", _safe(event_meta.get("subject"), event_meta))
        meta.setdefault("in_reply_to", event_meta.get("message_id") or None)
        meta.setdefault("references", event_meta.get("references") or [])
        meta.setdefault("quote", _safe(event.get("text"), event_meta))
        return replace(message, recipient=event_meta.get("reply_to") or message.recipient, meta=meta)

    @classmethod
    def escalation_meta(cls, event: InboundEvent) -> dict[str, Any]:
        """The whole mail for the operator: body, subject, sender, attachments (names only)."""
        mail = {"from": event.sender, **{k: event.meta.get(k) for k in OPERATOR_KEYS if k in event.meta}}
        return {"email_body": event.meta.get("body"), "email": mail}

    def _token_from_environment(self) -> str | None:
        return os.environ.get(env_name(self.tenant, self.name, "inbound_token")) or None

    # -- I/O ---------------------------------------------------------------------------------------------------

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> None:
        """HTTP inbound mail: the provider's bearer token (the SMTP endpoint and the IMAP poller do not call this)."""
        token = self._inbound_token()
        if token is None:
            raise WebhookOff(f"HTTP inbound mail is off for {self.tenant}: set MADOGUCHI_<TENANT>_EMAIL_INBOUND_TOKEN")
        given = (header(headers, "Authorization") or "").removeprefix("Bearer ").strip()
        if not given:
            raise MissingSignature("missing Authorization")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise SignatureError("wrong token")

    def parse(self, raw: bytes, headers: Mapping[str, str] | None = None) -> list[InboundEvent]:
        event = parse_email(raw, self.tenant, envelope_from=header(headers, ENVELOPE_FROM_HEADER),
                            authentication=self.authentication)
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


def parse_email(raw: bytes, tenant: str, envelope_from: str | None = None,
                authentication: SenderAuthentication | None = None) -> InboundEvent:
    if not raw or not raw.strip():
        raise PayloadError("empty message")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        sender = mail_address(msg, "From")
    except (ValueError, TypeError, IndexError) as exc:  # a header the parser cannot make sense of
        raise PayloadError(f"unreadable message headers: {exc}") from None
    if not sender:
        raise PayloadError("message without a From address")
    body, html_only = body_text(msg)
    subject = header_text(msg, "Subject")[:SUBJECT_LIMIT]
    question = strip_quoted(body).strip() or subject
    reasons = auto_reply_reasons(msg, sender, envelope_from)
    authentication = authentication or SenderAuthentication()
    checked = authentication.check(raw, msg, sender)
    if authentication.required and not checked.authenticated:
        reasons = [*reasons, "unauthenticated-sender"]
    found = attachments(msg)
    return InboundEvent(
        channel="email", external_id=_external_id(msg, raw, sender, subject, body, found), tenant=tenant,
        sender=sender, kind="message", text=question, received_at=date_of(msg),
        meta={"subject": subject, "message_id": header_text(msg, "Message-ID"),
              "in_reply_to": header_text(msg, "In-Reply-To") or None,
              "references": header_text(msg, "References").split()[-REFERENCES_KEPT:],
              "reply_to": answer_address(sender, mail_address(msg, "Reply-To"), checked.authenticated),
              "to": mail_address(msg, "To"), "body": body[:BODY_LIMIT], "html_only": html_only, "attachments": found,
              "do_not_answer": bool(reasons), "auto_reasons": reasons,
              "sender_authenticated": checked.authenticated, "authentication": checked.how},
    )


def _external_id(msg: Any, raw: bytes, sender: str, subject: str, body: str, found: list[Any]) -> str:
    """The Message-ID and a digest of what the mail says: the same mail again is the same event, another mail under
    a reused Message-ID is not (it used to be acknowledged with 250 and never stored)."""
    message_id = message_id_of(msg, raw)
    if message_id.startswith("sha256:"):
        return message_id  # no Message-ID: the bytes themselves are the identity
    said = "\x1f".join([sender, subject, body, repr(found)]).encode("utf-8", "surrogatepass")
    return f"{message_id[:MESSAGE_ID_CHARS]}#{hashlib.sha256(said).hexdigest()[:24]}"


def _safe(text: Any, meta: Mapping[str, Any]) -> Any:
    """What a reply may repeat of the sender's words: everything if authenticated, else the words without links."""
    if not isinstance(text, str) or meta.get("sender_authenticated"):
        return text
    return strip_links(text)


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
