"""What is new in a message: its text without quoted history ("> " lines, attributions, forwarded header blocks)
and without the sender's signature; and the short quote of the question a reply carries."""
from __future__ import annotations

import re

from channels.email.mime import normalise_newlines


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
    lines = normalise_newlines(text).split("\n")
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


# Anything a mail client would turn into a link: scheme URLs, www. hosts, mailto:, and host names with a path.
LINK = re.compile(
    r"(?:(?:https?|ftp|mailto|file|data|javascript):\S+|www\.\S+|\b[\w.-]+\.[a-z]{2,24}/\S*)", re.IGNORECASE)
LINK_REMOVED = "［リンク省略］"


def strip_links(text: str) -> str:
    """The text without its links: what the city's reply may quote of a sender it could not authenticate."""
    return LINK.sub(LINK_REMOVED, text)


def quote_sparingly(text: str, max_lines: int) -> str:
    lines = [line for line in strip_quoted(text).splitlines() if line.strip()]
    quoted = [f"> {line}" for line in lines[:max_lines]]
    if len(lines) > max_lines:
        quoted.append("> …")
    return "お問い合わせ内容:\n" + "\n".join(quoted)
