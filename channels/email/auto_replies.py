"""Mail that must not get an automatic answer (auto-replies, bounces, mailing lists, no-reply senders): answering
could start a mail loop. Such mail is flagged, never silently dropped."""
from __future__ import annotations

import re
from email.message import Message

from channels.email.mime import header_text


NO_REPLY_LOCALPARTS = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|noreply|donotreply)(?:[-+_.].*)?$")
BOUNCE_LOCALPARTS = {"mailer-daemon", "postmaster", "mail-daemon"}
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Autoresponder", "X-Mail-Autoreply")


def auto_reply_reasons(msg: Message, sender: str, envelope_from: str | None = None) -> list[str]:
    """Why this message must not get an automatic answer (empty: answer it). Loops and bounces are the risk."""
    reasons = []
    auto_submitted = header_text(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        reasons.append(f"auto-submitted:{auto_submitted}")
    precedence = header_text(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        reasons.append(f"precedence:{precedence}")
    reasons += [f"header:{h.lower()}" for h in AUTO_REPLY_HEADERS if msg.get(h) is not None]
    if any(s in header_text(msg, "X-Auto-Response-Suppress") for s in ("All", "OOF", "AutoReply")):
        reasons.append("x-auto-response-suppress")
    if msg.get("List-Id") is not None or msg.get("List-Unsubscribe") is not None:
        reasons.append("mailing-list")
    reasons += _sender_reasons(sender)
    if msg.get_content_type() == "multipart/report" or msg.get("X-Failed-Recipients") is not None:
        reasons.append("delivery-report")
    if _null_sender(envelope_from) or _null_sender(header_text(msg, "Return-Path"), absent_is_null=False):
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
