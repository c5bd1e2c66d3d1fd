"""The one text normaliser: the first step of every turn (make the resident's text safe and uniform before anything
reads it) and the search normalisation of knowledge/text.py share its definition of an invisible character.

NFKC folds full-width letters and half-width katakana so 「ＰＤＦ」 and 「PDF」 match; invisible characters
(zero-width, bidi controls, Unicode tags) are removed because they can hide instructions from a human reader
while a model still sees them, and they break keyword and lexical matching.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_CHARS = 1000
# What is kept of one message from any channel (the web chat refuses longer ones; a LINE message or a mail cannot be
# refused, so it is cut and the resident told): one long message must not cost the service a core.
MAX_MESSAGE_CHARS = DEFAULT_MAX_CHARS

# Characters that render as nothing but are not Unicode "format" (Cf) characters.
_INVISIBLE_NOT_CF = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # hangul fillers
    "\u2800"  # braille pattern blank
)
_KEEP_CONTROLS = frozenset("\n\t\r")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")


@dataclass(frozen=True)
class NormalisedText:
    text: str
    truncated: bool
    removed_invisible: int


def is_invisible(char: str) -> bool:
    """Zero-width, bidi-control, tag, variation-selector, soft-hyphen and control characters."""
    if char in _KEEP_CONTROLS:
        return False
    if char in _INVISIBLE_NOT_CF:
        return True
    code = ord(char)
    # Variation selectors (incl. ideographic variation sequences): presentation only, never meaning.
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:
        return True
    # Cf covers U+200B–U+200F, U+202A–U+202E, U+2060–U+2064, U+2066–U+2069, U+FEFF, U+00AD, U+E0000–U+E007F.
    return unicodedata.category(char) in ("Cf", "Cc", "Co", "Cn", "Cs")


def strip_invisible(text: str) -> tuple[str, int]:
    kept = [c for c in text if not is_invisible(c)]
    return "".join(kept), len(text) - len(kept)


def collapse_whitespace(text: str) -> str:
    """Runs of spaces become one space; runs of line breaks (with their spaces) become one line break."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _HORIZONTAL_SPACE.sub(" ", text)
    return _NEWLINES.sub("\n", text).strip()


def normalise_input(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> NormalisedText:
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    visible, removed = strip_invisible(text)
    # NFKC can (rarely) produce a format character from a compatibility form: strip again after it.
    visible, removed_after = strip_invisible(unicodedata.normalize("NFKC", visible))
    cleaned = collapse_whitespace(visible)
    truncated = len(cleaned) > max_chars
    if truncated:
        cleaned = cleaned[:max_chars].rstrip()
    return NormalisedText(text=cleaned, truncated=truncated, removed_invisible=removed + removed_after)


# Bidirectional controls: an RLO (U+202E) makes 「gpj.exe」 read as 「exe.jpg」 and can reverse what a staff member
# reads of a resident's message. Staff views show each one as a visible token instead (the stored text is kept).
BIDI_CONTROLS = {
    "\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO",
    "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI",
    "\u200e": "LRM", "\u200f": "RLM", "\u061c": "ALM",
}
_BIDI = re.compile("[" + "".join(BIDI_CONTROLS) + "]")


def neutralise_bidi(text: str) -> str:
    """`text` with every bidi control replaced by a visible ⟦U+202E RLO⟧ token: nothing reorders what follows."""
    return _BIDI.sub(lambda m: f"⟦U+{ord(m.group()):04X} {BIDI_CONTROLS[m.group()]}⟧", text)


# NUL: PostgreSQL text and jsonb refuse it. A lone surrogate ("\ud800" in JSON is valid JSON): UTF-8 cannot encode
# it, so neither SQLite nor PostgreSQL can store it.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """`value` (a string, or a JSON-like document of them) as a database can store it on every back end: NUL
    removed, each lone surrogate replaced by U+FFFD. Everything else is kept exactly."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(_replacement, value) if _UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(storable(item) for item in value)
    return value


def _replacement(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else "\ufffd"
