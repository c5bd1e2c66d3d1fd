"""Reading a mail (pure, stdlib `email` with policy.default): headers, the body as text whatever its charset
(ISO-2022-JP with the NEC/IBM extension characters, UTF-8, Shift_JIS, quoted-printable, base64, HTML-only mail
turned into text) and the list of attachments (name, type, size: never opened)."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.message import Message
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any


def header_text(msg: Message, name: str) -> str:
    value = msg.get(name)
    return str(value).strip() if value is not None else ""


def mail_address(msg: Message, name: str) -> str:
    values = msg.get_all(name) or []
    pairs = getaddresses([str(v) for v in values])
    return next((addr.lower() for _, addr in pairs if "@" in addr), "")


def message_id_of(msg: Message, raw: bytes) -> str:
    message_id = header_text(msg, "Message-ID")
    # Without a Message-ID the same bytes delivered twice still map to one id.
    return message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


def date_of(msg: Message) -> datetime | None:
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
        return normalise_newlines(plain), False
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


def normalise_newlines(text: str) -> str:
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
