"""Rewriting an answer written for the eye into one written for the ear (the phone channel).

A caller cannot see a link, a table or a citation mark, and a speech engine reads 03-1234-5678 as a subtraction and
9:00〜17:00 as a ratio. `for_the_ear` removes what cannot be heard (URLs, markdown, brackets, citations, symbols),
reads numbers the way a person at the counter would, breaks long sentences into short spoken pieces, and caps the
length. The links it removed are returned so the caller can be offered them by SMS.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

DIGIT_READINGS = {"0": "ゼロ", "1": "イチ", "2": "ニー", "3": "サン", "4": "ヨン",
                  "5": "ゴー", "6": "ロク", "7": "ナナ", "8": "ハチ", "9": "キュウ"}
MAX_SPOKEN_CHARS = 300  # about 45 seconds of Japanese speech
MAX_PIECE_CHARS = 50  # longer sentences are spoken in pieces split at 、


@dataclass(frozen=True)
class Spoken:
    text: str  # what to say, pieces joined
    pieces: tuple[str, ...]  # short spoken pieces, one <Say> each
    links: tuple[str, ...]  # URLs removed from the answer (offer them by SMS)
    truncated: bool  # the answer was longer than the cap


def for_the_ear(text: str, max_chars: int = MAX_SPOKEN_CHARS, max_piece_chars: int = MAX_PIECE_CHARS) -> Spoken:
    text = unicodedata.normalize("NFKC", text)
    text, links = extract_links(text)
    for step in (strip_citations, strip_markdown, strip_brackets, read_numbers, strip_symbols):
        text = step(text)
    pieces = [p for s in sentences(text) for p in split_long(s, max_piece_chars)]
    kept, truncated = cap(pieces, max_chars)
    return Spoken("".join(kept), tuple(kept), tuple(links), truncated)


# -- what cannot be heard ----------------------------------------------------------------------------------------

MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")
URL_CHARS = r"(?:https?://|www\.)[\w\-.~:/?#\[\]@!$&'*+,;=%]+"
URL_IN_PARENTHESES = re.compile(r"\([ \t]*(" + URL_CHARS + r")[ \t]*\)")
BARE_URL = re.compile(URL_CHARS)


def extract_links(text: str) -> tuple[str, list[str]]:
    links: list[str] = []

    def keep_label(match: re.Match[str]) -> str:
        links.append(match.group(2))
        return match.group(1)

    def drop(match: re.Match[str]) -> str:
        links.append(match.group(0).rstrip(".,、。"))
        return ""

    def name_it(match: re.Match[str]) -> str:
        drop(match)
        return "ホームページ"  # 詳しくは <URL> をご覧ください → 詳しくはホームページをご覧ください

    text = MARKDOWN_LINK.sub(keep_label, text)
    text = URL_IN_PARENTHESES.sub(lambda m: drop(re.match(URL_CHARS, m.group(1))), text)  # an aside: just drop
    return BARE_URL.sub(name_it, text), links


CITATION_PATTERNS = [
    re.compile(r"\[\^?\d+(?:[,\-]\d+)*\]"),  # [1] [^2] [1,3]
    re.compile(r"[\[【〔(](?:出典|参照|参考|引用|ソース|source)[^\]】〕)]*[\]】〕)]", re.IGNORECASE),
    re.compile(r"^\s*(?:出典|参照|参考|引用|ソース|Source)\s*[:：].*$", re.MULTILINE | re.IGNORECASE),
    re.compile(r"※\d+"),  # footnote marks
]


def strip_citations(text: str) -> str:
    for pattern in CITATION_PATTERNS:
        text = pattern.sub("", text)
    return text


MARKDOWN_LINE_PREFIX = re.compile(r"^\s*(?:#{1,6}\s*|>\s*|[-*+・•]\s+|\d{1,2}[.)]\s+)", re.MULTILINE)
MARKDOWN_EMPHASIS = re.compile(r"\*\*|__|~~|`+|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}.*$|^\s*[-=_*]{3,}\s*$", re.MULTILINE)


def strip_markdown(text: str) -> str:
    text = TABLE_RULE.sub("", text)
    text = MARKDOWN_LINE_PREFIX.sub("", text)
    text = MARKDOWN_EMPHASIS.sub("", text)
    text = re.sub(r"^[ \t]*\||\|[ \t]*$", "", text, flags=re.MULTILINE)
    return re.sub(r"[ \t]*\|[ \t]*", "、", text)  # table cells are read as a list


def strip_brackets(text: str) -> str:
    text = re.sub(r"[「」『』【】\[\]〔〕《》<>〈〉\"]", "", text)
    return re.sub(r"[ \t]*[()][ \t]*", "、", text)  # an aside in parentheses becomes a pause either side


PAUSE_SYMBOLS = ":;→⇒"  # 受付時間:9時 → 受付時間、9時


def _unspeakable(ch: str) -> bool:
    return ch in "※←↑↓⇔■□◆◇●○★☆" or (unicodedata.category(ch) in ("So", "Sk") and ch != "〒")


def strip_symbols(text: str) -> str:
    """Emoji, arrows and other pictographs; then tidy the pauses left behind."""
    text = "".join("、" if ch in PAUSE_SYMBOLS else ch for ch in text if not _unspeakable(ch))
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"、(?:[ \t]*、)+", "、", text)
    text = re.sub(r"、[ \t]*([。!?\n])", r"\1", text)
    return re.sub(r"(^|\n)[ \t]*、", r"\1", text)


# -- numbers as a person reads them ------------------------------------------------------------------------------

PHONE = re.compile(r"\+81[\s\-]?\d{1,4}-\d{1,4}-\d{3,4}(?![\d\-])"
                   r"|(?<![\d\-])0\d{1,4}-\d{1,4}-\d{3,4}(?![\d\-])"
                   r"|(?<!\d)0[5-9]0\d{8}(?!\d)")
POSTCODE = re.compile(r"〒\s*(\d{3})-(\d{4})|(?<![\d\-])(\d{3})-(\d{4})(?![\d\-])")
TIME_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*[~〜\-–]\s*(\d{1,2}):(\d{2})")
TIME = re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?!\d)")
FULL_DATE = re.compile(r"(?<!\d)(\d{4})[/\-.](\d{1,2})[/\-.](\d{1,2})(?!\d)")
MONTH_DAY = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])")
ADDRESS_NUMBER = re.compile(r"(?<![\d\-])\d{1,4}(?:-\d{1,4}){1,3}(?![\d\-])")
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def read_numbers(text: str) -> str:
    text = PHONE.sub(lambda m: read_digit_groups(m.group(0)), text)
    text = POSTCODE.sub(_postcode, text)
    text = TIME_RANGE.sub(lambda m: f"{_clock(m[1], m[2])}から{_clock(m[3], m[4])}", text)
    text = TIME.sub(lambda m: _clock(m[1], m[2]), text)
    text = FULL_DATE.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", text)
    text = MONTH_DAY.sub(_month_day, text)
    text = THOUSANDS.sub("", text)
    text = ADDRESS_NUMBER.sub(lambda m: m.group(0).replace("-", "の"), text)  # 西新宿2-8-1 → 2の8の1
    return re.sub(r"\s*[~〜～]\s*", "から", text)  # any remaining range: 月〜金, 4月1日〜30日


def read_digit_groups(number: str) -> str:
    """03-1234-5678 → ゼロサンの、イチニーサンヨンの、ゴーロクナナハチ (digit by digit, as on the phone)."""
    if number.startswith("+81"):  # +81 3-1234-5678 is read as the domestic 03-1234-5678
        number = "0" + number[3:].lstrip(" -")
    if number.isdigit() and len(number) == 11:  # 09012345678 → 090-1234-5678
        number = f"{number[:3]}-{number[3:7]}-{number[7:]}"
    groups = [g for g in number.split("-") if g]
    return "の、".join("".join(DIGIT_READINGS[d] for d in g) for g in groups)


def _postcode(match: re.Match[str]) -> str:
    first, second = (match[1], match[2]) if match[1] else (match[3], match[4])
    return "郵便番号、" + read_digit_groups(f"{first}-{second}")


def _clock(hours: str, minutes: str) -> str:
    h, m = int(hours), int(minutes)
    if h > 24 or m > 59:
        return f"{hours}:{minutes}"
    return f"{h}時" if m == 0 else f"{h}時{m}分"


def _month_day(match: re.Match[str]) -> str:
    month, day = int(match[1]), int(match[2])
    if 1 <= month <= 12 and 1 <= day <= 31:
        return f"{month}月{day}日"
    return match.group(0)


# -- short spoken pieces -----------------------------------------------------------------------------------------

def sentences(text: str) -> list[str]:
    """Sentences ending in 。!? or a line break; a line without an ending gets 。 so the voice pauses."""
    found = []
    for line in text.splitlines():
        for sentence in re.findall(r"[^。!?]+[。!?]?", line.strip()):
            sentence = sentence.strip(" 、")
            if sentence:
                found.append(sentence if sentence[-1] in "。!?" else sentence + "。")
    return found


def split_long(sentence: str, limit: int) -> list[str]:
    """A long sentence becomes pieces at 、 so no piece runs past `limit` characters where that is possible."""
    if len(sentence) <= limit:
        return [sentence]
    pieces, current = [], ""
    for clause in re.findall(r"[^、]+、?", sentence):
        if current and len(current) + len(clause) > limit:
            pieces.append(current)
            current = ""
        current += clause
    pieces.append(current)
    return pieces


def cap(pieces: list[str], max_chars: int) -> tuple[list[str], bool]:
    kept, total = [], 0
    for piece in pieces:
        if total + len(piece) > max_chars:
            if not kept:  # even the first piece is too long: cut it rather than say nothing
                kept.append(piece[: max_chars - 1] + "。")
            return kept, True
        kept.append(piece)
        total += len(piece)
    return kept, False
