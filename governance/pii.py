"""Redaction of Japanese personal data before text is logged, stored for analytics or shown outside the conversation.

`redact(text)` replaces every detected item with a typed placeholder; `find_pii(text)` returns the spans;
`contains_pii(text)` says whether there is any. Detection runs on an NFKC-normalised copy (full-width digits,
＠, （）, and dash look-alikes between digits become ASCII; \\uXXXX escapes as found in logs and JSON are read as
the character they stand for) whose every character remembers where it came from, so spans always point into the
ORIGINAL text and full-width input is redacted in place. Phone and My Number/card numbers written in kanji digits
(〇九〇-一二三四-五六七八) are found too.

Placeholders (one per kind):
    my_number    〔個人番号〕  12 digits with a valid check digit (any grouping by spaces/hyphens); a 12-digit
                              number with an INVALID check digit only right after マイナンバー/個人番号 (a mistyped
                              My Number is still one); otherwise it is left alone (receipt and document numbers).
    card_number  〔カード番号〕13–19 digits passing Luhn, one kind of separator, a shape people write (4-4-4-4,
                              4-6-5 …).
    bank_account 〔口座番号〕  7 digits right after 口座番号/口座 (普通/当座 allowed between): residents give them
                              for refunds and benefits.
    phone        〔電話番号〕  mobile 070/080/090/020, IP 050, fixed 0X…(10 digits, every area-code shape), +81
                              forms, parentheses, with or without separators.
    email        〔メール〕
    postal_code  〔郵便番号〕  〒 always; NNN-NNNN only next to an address or after 郵便番号/住所; 7 bare digits
                              only after 〒 or 郵便番号.
    address      〔住所〕      the specific part only: town (町域) + 丁目/番地/号/house numbers + building + room.
                              The coarse area up to and including the last 市/区/町/村/郡 (and the prefecture) is
                              KEPT, because analytics wants the area (a town whose name ends in 町, e.g. 大手町,
                              is therefore kept too).
    birth_date   〔生年月日〕  a date (western, era, abbreviated era, numeric, month-day) next to 生年月日/誕生日/
                              生まれ/DOB …; a year alone (1985年生まれ) is kept.
    name         〔氏名〕      explicit patterns only: 名前は/氏名:/お名前 … 〜です/様, 〜と申します.

Choices worth knowing:
- Free-dial and navi-dial numbers (0120, 0800, 0570, 0180, 0990) are only ever assigned to organisations, so they
  are not personal data and are kept by default (`Redactor(redact_free_dial=True)` redacts them too).
  Redaction is never applied to the answer shown to the resident; for logs and analytics a tenant passes its own
  public numbers/addresses as `Redactor(keep=[...])` so they survive in the records.
- A random 12-digit number passes the My Number check about one time in ten and a random 13–19 digit number
  passes Luhn one time in ten: such numbers are redacted even when they were something else (safe side).
- A bare house number (2-8-1) is an address only right after a municipality or a cue word (住所は, 在住 …);
  番地 and N番N号 are addresses on their own. A 丁目 with no house number or building after it (目黒区目黒二丁目に
  住んでいます: garbage days are per 丁目) is an area, kept like the municipality.
- Not handled (tests/governance/pii_corpus.py KNOWN_MISSES): names without an explicit cue or in hiragana,
  spaced or spelled-out e-mail (taro . yamada @ …, taro[at]example.com), house numbers in kanji with の
  (二の八の一), country code without + (81-90-…).
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from typing import Callable, Collection, Iterable, NamedTuple

PLACEHOLDERS: dict[str, str] = {
    "my_number": "〔個人番号〕",
    "card_number": "〔カード番号〕",
    "bank_account": "〔口座番号〕",
    "phone": "〔電話番号〕",
    "email": "〔メール〕",
    "postal_code": "〔郵便番号〕",
    "birth_date": "〔生年月日〕",
    "address": "〔住所〕",
    "name": "〔氏名〕",
}
# Never stored and never kept, whatever a tenant configures: the resident is told they were not kept.
NEVER_STORED = frozenset({"my_number", "card_number"})
# An address stored or shown without its house number: the town and 丁目 stay (areas answer garbage days).
ADDRESS_DETAIL = "〔番地〕"
# When spans of two kinds overlap they are merged and the earlier kind names the placeholder.
KIND_PRIORITY = {kind: rank for rank, kind in enumerate(PLACEHOLDERS)}


class Match(NamedTuple):
    kind: str
    start: int  # offsets into the original text
    end: int


# --- normalisation with an offset map -------------------------------------------------------------------------

# Dash look-alikes residents type between digits (長音符 ー included: IMEs produce 090ー1234ー5678).
_DASHES = frozenset("‐‑‒–—―−ーｰ－﹣⁃")


class _Normalised(NamedTuple):
    text: str
    # Normalised char i came from original[starts[i]:ends[i]]; starts None means the offsets are the identity,
    # ends None means every origin is one character long (ends[i] == starts[i] + 1).
    starts: list[int] | None
    ends: list[int] | None


_NFKC_CACHE: dict[str, str] = {}


def _nfkc_char(ch: str) -> str:
    normalised = _NFKC_CACHE.get(ch)
    if normalised is None:
        normalised = unicodedata.normalize("NFKC", ch)
        if len(_NFKC_CACHE) < 65536:
            _NFKC_CACHE[ch] = normalised
    return normalised


# Logs hold escaped text too (%r of a string, KeyError messages, json.dumps with ensure_ascii): an escape such as
# \uff10 or \u3000 is read as the character it stands for, so escaped personal data is found as well.
_ESCAPE_OR_CHAR = re.compile(r"\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}|\\x[0-9a-fA-F]{2}|.", re.DOTALL)


def _normalise(text: str) -> _Normalised:
    has_escapes = "\\u" in text or "\\x" in text or "\\U" in text
    if not has_escapes:
        if unicodedata.is_normalized("NFKC", text) and not any(ch in _DASHES for ch in text):
            return _Normalised(text, None, None)  # the common case: already normalised
        pieces = list(map(_nfkc_char, text))
        joined = "".join(pieces)
        if len(joined) == len(text):  # NFKC never empties a character, so every one mapped to exactly one
            return _Normalised(_dashes_between_digits(joined), None, None)
        starts = [index for index, piece in enumerate(pieces) for _ in piece]  # ㈱ → (株): 3 chars, 1 origin
        return _Normalised(_dashes_between_digits(joined), starts, None)
    tokens = ((m.start(), m.end(), _nfkc_char(_unescape(m.group()))) for m in _ESCAPE_OR_CHAR.finditer(text))
    return _with_offsets(tokens)


def _with_offsets(tokens: Iterable[tuple[int, int, str]]) -> _Normalised:
    """Normalised text whose i-th character came from original[starts[i]:ends[i]]."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end, normalised in tokens:
        pieces.append(normalised)
        starts.extend([start] * len(normalised))
        ends.extend([end] * len(normalised))
    return _Normalised(_dashes_between_digits("".join(pieces)), starts, ends)


def _unescape(raw: str) -> str:
    if len(raw) == 1:
        return raw
    code = int(raw[2:], 16)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return raw  # a lone surrogate (or no character at all) stays as written
    return chr(code)


def _dashes_between_digits(text: str) -> str:
    if not any(ch in _DASHES for ch in text):
        return text
    chars = list(text)
    for i in range(1, len(chars) - 1):
        if chars[i] in _DASHES and chars[i - 1].isdigit() and chars[i + 1].isdigit():
            chars[i] = "-"
    return "".join(chars)


def _to_original(norm: _Normalised, start: int, end: int) -> tuple[int, int]:
    if norm.starts is None:
        return start, end
    if norm.ends is None:
        return norm.starts[start], norm.starts[end - 1] + 1
    return norm.starts[start], norm.ends[end - 1]


# --- shared character classes -----------------------------------------------------------------------------------

_KANJI = "\u3005\u4e00-\u9fff"  # 々 + CJK unified ideographs
_KATAKANA = "\u30a1-\u30faー"
_KNUM = "[0-9〇一二三四五六七八九十百]"  # digits as they appear in addresses and era dates
_UNIT_AFTER = "日月年時分秒円%人回個件歳才名枚本冊台割倍度点位万億千番"  # a number followed by these is a quantity


def _window_before(text: str, start: int, size: int) -> str:
    """The text just before `start`, cut at the last sentence end: context must be in the same sentence."""
    window = text[max(0, start - size):start]
    cut = max(window.rfind("。"), window.rfind("\n"))
    return window[cut + 1:]


# --- check digits -------------------------------------------------------------------------------------------------

def my_number_is_valid(digits: str) -> bool:
    """Official check digit of the 個人番号 (総務省令第85号 第5条): weights 2..7,2..6 from the right."""
    if len(digits) != 12 or not digits.isdigit():
        return False
    body = [int(d) for d in reversed(digits[:11])]  # P1 is the digit next to the check digit
    total = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(body, start=1))
    remainder = total % 11
    check = 0 if remainder <= 1 else 11 - remainder
    return check == int(digits[11])


def luhn_is_valid(digits: str) -> bool:
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# --- detectors: each yields (kind, start, end) in normalised coordinates ------------------------------------------

_DIGIT_CHUNK = re.compile(
    r"(?<![\d+.,¥$])\d+(?:[ \-]\d+)*(?![\d,])(?!\.\d)(?! ?(?:[円万億年件人回%]|個(?!人)))"
)
_GROUP = re.compile(r"\d+")
_MY_NUMBER_CUE = re.compile(r"マイナンバー|個人番号|my ?number", re.IGNORECASE)


def _number_chunks(text: str, barriers: list[tuple[int, int]]) -> Iterable[tuple[str, int, int]]:
    """My Numbers and card numbers: the longest run of digit groups that validates. Hyphens join the groups of one
    number, so a run may start or end only at the chunk's edges or at a space (4111-1111-1111-1112 is one bad
    card number, not a card's tail that happens to be a valid My Number). Runs are searched both in the whole
    chunk and in its pieces between phone numbers and postal codes (`barriers`: +81 90 1234 5678 1234 5678 9018 is
    a phone and then a My Number); both are kept, so a wrong barrier can only add redaction, never lose it."""
    barriers = sorted(barriers)
    barrier_starts = [start for start, _end in barriers]
    for chunk in _DIGIT_CHUNK.finditer(text):
        base = chunk.start()
        groups = [(base + g.start(), base + g.end()) for g in _GROUP.finditer(chunk.group())]
        yield from _valid_runs(text, groups)
        # barriers are short: only those starting shortly before the chunk can reach into it
        nearby = barriers[bisect_left(barrier_starts, base - 32):bisect_left(barrier_starts, chunk.end())]
        pieces = _split_at_barriers(groups, nearby)
        if pieces != [groups]:
            for piece in pieces:
                yield from _valid_runs(text, piece)


def _split_at_barriers(groups: list[tuple[int, int]], barriers: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    segments: list[list[tuple[int, int]]] = [[]]
    for group in groups:
        if any(start < group[1] and group[0] < end for start, end in barriers):
            segments.append([])
        else:
            segments[-1].append(group)
    return [segment for segment in segments if segment]


def _valid_runs(text: str, groups: list[tuple[int, int]]) -> Iterable[tuple[str, int, int]]:
    i = 0
    while i < len(groups):
        found = _longest_valid_run(text, groups, i) if _is_run_edge(text, groups, i, before=True) else None
        if found is None:
            i += 1
            continue
        kind, j = found
        yield kind, groups[i][0], groups[j][1]
        i = j + 1


def _is_run_edge(text: str, groups: list[tuple[int, int]], index: int, before: bool) -> bool:
    if before:
        return index == 0 or text[groups[index][0] - 1] == " "
    return index == len(groups) - 1 or text[groups[index][1]] == " "


def _longest_valid_run(text: str, groups: list[tuple[int, int]], i: int) -> tuple[str, int] | None:
    digits = ""
    best = None
    for j in range(i, len(groups)):
        digits += text[groups[j][0]:groups[j][1]]
        if len(digits) > 19:
            break
        if not _is_run_edge(text, groups, j, before=False) or not _looks_like_one_number(text, groups[i:j + 1]):
            continue
        kind = _number_kind(digits, text, groups[i][0])
        if kind:
            best = (kind, j)
    return best


def _looks_like_one_number(text: str, groups: list[tuple[int, int]]) -> bool:
    """Several groups make one number only with one kind of separator and a shape people write: equal groups
    (1234 5678 9018, 123 456 789 018, 1 2 3 …), fours with a shorter tail (4-4-4-4-3), or 4-6-5 / 4-6-4."""
    if len(groups) == 1:
        return True
    separators = {text[end] for (_start, end) in groups[:-1]}
    lengths = [end - start for start, end in groups]
    return len(separators) == 1 and (
        len(set(lengths)) == 1
        or (set(lengths[:-1]) == {4} and lengths[-1] <= 4)
        or lengths in ([4, 6, 5], [4, 6, 4])
    )


def _number_kind(digits: str, text: str, start: int) -> str | None:
    if len(digits) == 12:
        if my_number_is_valid(digits) or _MY_NUMBER_CUE.search(_window_before(text, start, 20)):
            return "my_number"
        return None
    if 13 <= len(digits) <= 19 and luhn_is_valid(digits):
        return "card_number"
    return None


# Separators: hyphen, space, dot, parentheses, and の (spoken: 090の1234の5678, as voice transcripts have it).
_PHONE_NATIONAL = re.compile(
    r"(?<![\d+\-/])(?<!\d\.)\(?(0\d{0,4})(?:\) ?|[ \-.の]|\()?(\d{1,4})(?:\) ?|[ \-.の])?(\d{3,4})(?!\d)(?!-\d)"
)
_PHONE_INTL = re.compile(
    r"\+81[ \-]?(?:\(0\)[ \-]?)?\(?([1-9]\d{0,3})(?:\) ?|[ \-.])?(\d{1,4})(?:\) ?|[ \-.])?(\d{3,4})(?!\d)(?!-\d)"
)
_FREE_DIAL = ("0120", "0800", "0570", "0180", "0990")
_ELEVEN_DIGIT = ("070", "080", "090", "050", "020", "060")


def phone_category(national_digits: str) -> str | None:
    """'phone', 'free_dial' or None for a digit string in national form (leading 0)."""
    if national_digits.startswith(_FREE_DIAL) and len(national_digits) in (10, 11):
        return "free_dial"
    if len(national_digits) == 11:
        return "phone" if national_digits.startswith(_ELEVEN_DIGIT) else None
    if len(national_digits) == 10 and national_digits[1] != "0":
        return None if national_digits.startswith(_ELEVEN_DIGIT) else "phone"
    return None


_PRECEDED_BY_GROUP = re.compile(r"\d[ \-]$")


def _phone_shaped(text: str, postal: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """(category, start, end) of every phone-shaped number, free dials included. A rejected candidate does not
    hide a phone that starts inside it (062-2070 0879(67)9684), and a postal code is never part of a phone."""
    found = []
    for pattern, prefix in ((_PHONE_NATIONAL, ""), (_PHONE_INTL, "0")):
        position = 0
        while (m := pattern.search(text, position)) is not None:
            category = _phone_candidate_category(m, prefix)
            if category and not any(s < m.end() and m.start() < e for _k, s, e in postal):
                # an opening parenthesis belongs to the number only when it closes after the area code
                start = m.start() + 1 if m.group().startswith("(") and text[m.end(1)] != ")" else m.start()
                found.append((category, start, m.end()))
                position = m.end()
            else:
                position = m.start() + 1
    return found


def _phone_candidate_category(m: re.Match, prefix: str) -> str | None:
    category = phone_category(prefix + "".join(m.groups()))
    written_in_groups = m.end(3) - m.start(1) > sum(len(group) for group in m.groups())
    if category == "phone" and written_in_groups and len(m.group(3)) != 4:
        return None  # with separators the last group is the 4-digit subscriber number (0883944 063 is not a phone)
    return category


def _phones(shaped: list[tuple[str, int, int]], redact_free_dial: bool) -> Iterable[tuple[str, int, int]]:
    wanted = {"phone", "free_dial"} if redact_free_dial else {"phone"}
    return [("phone", start, end) for category, start, end in shaped if category in wanted]


_BANK_ACCOUNT = re.compile(
    r"口座(?:番号)?(?:は|:|=|、| )*(?:(?:普通|当座)(?:預金)?(?:口座)?(?:は|:|、| )*)?(?P<number>\d{7})(?!\d)"
)


def _bank_accounts(text: str) -> Iterable[tuple[str, int, int]]:
    for m in _BANK_ACCOUNT.finditer(text):
        yield "bank_account", m.start("number"), m.end("number")


_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+"
)


def _emails(text: str) -> Iterable[tuple[str, int, int]]:
    for m in _EMAIL.finditer(text):
        yield "email", m.start(), m.end()


_PREFECTURE = (
    "北海道|東京都|京都府|大阪府|青森県|岩手県|宮城県|秋田県|山形県|福島県|茨城県|栃木県|群馬県|埼玉県|千葉県|"
    "神奈川県|新潟県|富山県|石川県|福井県|山梨県|長野県|岐阜県|静岡県|愛知県|三重県|滋賀県|兵庫県|奈良県|"
    "和歌山県|鳥取県|島根県|岡山県|広島県|山口県|徳島県|香川県|愛媛県|高知県|福岡県|佐賀県|長崎県|熊本県|"
    "大分県|宮崎県|鹿児島県|沖縄県"
)
# 市/区/町/村/郡 ending a municipality name, not starting a common word (市内, 区分, 町内会, 市場 …).
_AREA_SUFFIX = r"[市区町村郡](?!役所|役場|民|長|議|内|外|立|営|政|場|販|況|街|分|別|間|域|会)"
_AREA_START = re.compile(
    rf"(?:{_PREFECTURE})|[{_KANJI}{_KATAKANA}][{_KANJI}{_KATAKANA}ぁ-ゖ]{{0,5}}?{_AREA_SUFFIX}|さいたま市"
)
_AREA = rf"(?:{_PREFECTURE}|[{_KANJI}{_KATAKANA}ぁ-ゖ]{{1,7}}?{_AREA_SUFFIX})"
_AREA_JUST_BEFORE = re.compile(
    rf"(?:{_PREFECTURE}|[{_KANJI}{_KATAKANA}ぁ-ゖ]{_AREA_SUFFIX}) ?(?:[{_KANJI}{_KATAKANA}]{{1,8}} )?$"
)
_ADDRESS_WORD = re.compile(r"住所|所在地|在住|住んで(?:いる|います)?|住まい|自宅|居所|転居先|転入先|送付先|届け先|本籍地?")
_ADDRESS_CUE_GAP = re.compile(rf"(?:は|が|を|:|=|、| |\(.{{0,8}}?\))*(?:{_AREA})* ?")


def _area_follows(text: str, end: int) -> bool:
    """True when an address (prefecture or municipality) starts right after `end`."""
    return bool(_AREA_START.match(text[end:end + 16].lstrip(" ()")))


_AMOUNT_UNIT = re.compile(r" ?(?:円|万|億|%|件|人)")
_POSTAL = re.compile(r"(〒 ?)?(?<![\d\-])(\d{3})(-?)(\d{4})(?![\d\-])")
_POSTAL_CUE = re.compile(r"(?:郵便番号|〒|住所|所在地|送付先|届け先)(?:は|が|:|=| |、|\(.{0,6}?\))* ?$")


_OTHER_NUMBER_CUE = re.compile(r"(?<!郵便)番号(?:は|:|=| )*$")


def _postal_codes(text: str) -> Iterable[tuple[str, int, int]]:
    for m in _POSTAL.finditer(text):
        if _AMOUNT_UNIT.match(text, m.end()):
            continue  # 7891768円 is an amount
        marked = m.group(1) is not None
        before = _window_before(text, m.start(), 16)
        if not marked and _OTHER_NUMBER_CUE.search(before):
            continue  # 受付番号242-7849 東京都…: a receipt number, even with an address after it
        cued = bool(_POSTAL_CUE.search(before))
        hyphenated = m.group(3) == "-"
        if marked or cued or (hyphenated and _area_follows(text, m.end())):
            yield "postal_code", m.start(), m.end()


_ERA = "(?:明治|大正|昭和|平成|令和)"
# 1985年（昭和60年）4月1日 and 昭和60年（1985年）4月1日: the year in the other calendar is part of the date
_ALSO_ERA_YEAR = rf"(?: ?\({_ERA} ?(?:元|\d{{1,2}}) ?年\))?"
_ALSO_WESTERN_YEAR = r"(?: ?\((?:1[89]|20)\d{2} ?年?\))?"
# 昭和60年4月1日, 昭和60(1985)年4月1日, S60年4月1日
_ERA_DATE = (
    rf"(?:{_ERA}|(?<![A-Za-z])[MTSHR]) ?(?:元|{_KNUM}{{1,3}}) ?{_ALSO_WESTERN_YEAR}年{_ALSO_WESTERN_YEAR}"
    rf" ?{_KNUM}{{1,3}} ?月 ?{_KNUM}{{1,3}} ?日"
)
_WESTERN_DATE = (
    rf"(?:(?:1[89]|20)\d{{2}}|[一][九八][〇一二三四五六七八九]{{2}}|二〇[〇一二三四五六七八九]{{2}}) ?年"
    rf"{_ALSO_ERA_YEAR} ?{_KNUM}{{1,3}} ?月 ?{_KNUM}{{1,3}} ?日"
)
_SHORT_ERA_DATE = r"(?<![A-Za-z])[MTSHRmtshr]\.? ?(?:\d{1,2}|元)[./\-]\d{1,2}[./\-]\d{1,2}(?!\d)"
_NUMERIC_DATE = (
    r"(?<!\d)(?:1[89]|20)\d{2}[./\-]\d{1,2}[./\-]\d{1,2}(?!\d)|(?<!\d)\d{1,2}/\d{1,2}/(?:1[89]|20)\d{2}(?!\d)"
)
_MONTH_DAY = rf"(?<![\d年])(?<!{_KNUM}年){_KNUM}{{1,3}} ?月 ?{_KNUM}{{1,3}} ?日"
# Only ever accepted next to a birth cue: 85/4/1 (two-digit year), 4/1 (month/day).
_SHORT_NUMERIC_DATE = r"(?<![\d/.])\d{2}[./]\d{1,2}[./]\d{1,2}(?![\d/.])|(?<![\d/])\d{1,2}/\d{1,2}(?![\d/])"
_DATE = re.compile(
    "|".join((_ERA_DATE, _WESTERN_DATE, _SHORT_ERA_DATE, _NUMERIC_DATE, _MONTH_DAY, _SHORT_NUMERIC_DATE))
)
_BIRTH_CUE_BEFORE = re.compile(
    r"生年月日|誕生日|生まれ(?:た日)?(?:は|:)|出生日|生年|D\.?O\.?B|date of birth|birth ?date|birthday",
    re.IGNORECASE,
)
_BIRTH_CUE_AFTER = re.compile(rf" ?(?:に|の)? ?(?:生まれ|生れ|出生|誕生(?!日)|生(?![{_KANJI}]))")


# Between a cue and its date only a particle or a short parenthesis: 生年月日は/生年月日（西暦）:/DOB:, not
# 生年月日を証明する書類として2024年4月1日以降に… (a date about something else).
_CUE_TO_DATE_GAP = re.compile(r" ?(?:\([^)]{0,8}\))? ?(?:は|が|を|の|:|=|、|,)? ?")


def _birth_dates(text: str) -> Iterable[tuple[str, int, int]]:
    for m in _DATE.finditer(text):
        if _birth_cue_before(text, m.start()) or _BIRTH_CUE_AFTER.match(text, m.end()):
            yield "birth_date", m.start(), m.end()


def _birth_cue_before(text: str, date_start: int) -> bool:
    window = _window_before(text, date_start, 24)
    cues = list(_BIRTH_CUE_BEFORE.finditer(window))
    return bool(cues) and _CUE_TO_DATE_GAP.fullmatch(window[cues[-1].end():]) is not None


# Address cores: 丁目/番地/番…号 are addresses on their own; bare house numbers (2-8-1) need an area or a cue.
_NOT_ROOM = rf"(?!{_KNUM}*号室)"  # 63番地605号室: 605 is the room, not part of the lot number
_BANGO = rf"{_KNUM}{{1,5}}番地?(?:の?{_KNUM}{{1,4}}{_NOT_ROOM}号?)?"
_CHOME = rf"{_KNUM}{{1,4}}丁目(?: ?(?:{_BANGO}|\d{{1,4}}(?:-\d{{1,4}}){{0,2}}))?"
_BANCHI = rf"{_KNUM}{{1,5}}番地(?:の?{_KNUM}{{1,4}}{_NOT_ROOM}号?)?|{_KNUM}{{1,5}}番{_KNUM}{{1,4}}号"
_HOUSE_NUMBER = rf"(?<![\d第.:\-])[1-9]\d{{0,3}}(?:[-の]\d{{1,4}}){{1,3}}(?![\d{_UNIT_AFTER}:])(?!-\d)"
_ADDRESS_CORE = re.compile(rf"(?P<chome>{_CHOME})|(?P<banchi>{_BANCHI})|(?P<house>{_HOUSE_NUMBER})")
# Town names: kanji/katakana, inner が/の/ケ (自由が丘, 梅ヶ丘), Sapporo's 北1条西.
_TOWN_TAIL = re.compile(rf"[{_KANJI}{_KATAKANA}ヶヵ](?:[{_KANJI}{_KATAKANA}ヶヵがのケ]|\d{{1,2}}条){{0,15}}$")
_NOT_A_TOWN = re.compile(r"(?:番号|番|号|第|問|条|項|期|回|版|年度|No)$")
_AREA_END_IN_TOWN = re.compile(rf"(?:{_PREFECTURE})|[市区町村郡]")
_BUILDING_CHARS = rf"{_KANJI}{_KATAKANA}A-Za-z○◯●・&'ヶヵ"
_TAIL = re.compile(
    rf" ?(?P<building>(?:第\d{{1,3}}|[{_BUILDING_CHARS}]){{1,30}}(?:\d{{1,2}}(?:号館|番館|号棟|棟))?)?"
    rf" ?(?P<room>[A-Z]?-?\d{{1,4}}(?P<unit>号室|号|F|階)?(?![\dA-Za-z@._\-]))?"
)
_BUILDING_WORDS = re.compile(
    r"マンション|ハイツ|コーポ|アパート|レジデンス|メゾン|ハウス|ヴィラ|パレス|コート|ヒルズ|タワー|ビル|荘|寮|"
    r"団地|住宅|棟|号館|プラザ|テラス|ガーデン|シティ|ハイム|カーサ|グラン|パーク"
)
_NUMERIC_DATE_SHAPE = re.compile(r"(?:19|20)\d{2}-\d{1,2}-\d{1,2}$")


def _addresses(text: str) -> Iterable[tuple[str, int, int]]:
    for m in _ADDRESS_CORE.finditer(text):
        town_start = _town_start(text, m.start())
        if m.lastgroup == "house" and not _house_number_is_address(text, m, town_start):
            continue
        if _NOT_A_TOWN.search(text, town_start, m.start()):
            continue  # 部品番号895-4334, 第3-2: a numbered thing, not a place
        end = _tail_end(text, m.end())
        if m.group().endswith("丁目") and end == m.end():
            continue  # 目黒二丁目 alone is an area (garbage days are per 丁目): only a house number makes it personal
        yield "address", town_start, end


def _town_start(text: str, core_start: int) -> int:
    """Start of the town name before a house number, stopping after the last 市区町村郡 (the kept area)."""
    tail = _TOWN_TAIL.search(text[max(0, core_start - 16):core_start])
    if tail is None:
        return core_start
    area_end = max((m.end() for m in _AREA_END_IN_TOWN.finditer(tail.group())), default=0)
    return core_start - len(tail.group()) + area_end


def _house_number_is_address(text: str, m: re.Match, town_start: int) -> bool:
    """2-8-1 is an address right after an area (新宿区西新宿2-8-1, 新宿区 2-8-1) or right after a cue word with at
    most a particle and an area between (住所は西新宿2-8-1, 住所：東京都新宿区 西新宿2-8-1)."""
    if _NUMERIC_DATE_SHAPE.match(m.group()):
        return False
    before = _window_before(text, town_start, 32)
    if _AREA_JUST_BEFORE.search(before):
        return True
    cues = list(_ADDRESS_WORD.finditer(before))
    return bool(cues) and _ADDRESS_CUE_GAP.fullmatch(before[cues[-1].end():]) is not None


def _tail_end(text: str, core_end: int) -> int:
    """Extend over a building name and room number: only when they look like one (suffix word or a room)."""
    tail = _TAIL.match(text, core_end)
    building, room, unit = tail.group("building"), tail.group("room"), tail.group("unit")
    if building and _BUILDING_WORDS.search(building):
        return tail.end() if room else tail.end("building")
    if building and room and unit:  # without a building word (昭和60 is a year) the room needs 号室/F/階
        return tail.end()
    if not building and room and unit:
        return tail.end("room")
    return core_end


_NAME_KANJI = rf"(?:(?![様殿])[{_KANJI}])"  # an honorific right after a name is not part of it
_NAME = (
    rf"{_NAME_KANJI}{{1,4}}(?: ?{_NAME_KANJI}{{1,4}})?"  # 山田太郎, 山田 太郎
    rf"|[ァ-ヺー]{{2,8}}(?:[ ・]?[ァ-ヺー]{{1,8}})?"  # ヤマダ タロウ
    r"|[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}"  # Taro Yamada
)
# what may follow a name; quotes and brackets end a value in JSON or a repr()
_NAME_END = r"""(?= ?(?:です|でございます|と申します|といいます|と言います|さん|様|君|で[、,。 ]|[。、,.()」』"'\]}\n]|$| ))"""
_NAME_AFTER_CUE = re.compile(
    # a separator is required: 氏名等, 名義使用承認願 are words, not a cue followed by a name
    rf"(?:お?名前|氏名|フルネーム|名義人?|申請者名|契約者名|(?<![A-Za-z])[Nn]ame)(?:\([^)]{{1,6}}\))?"
    r"(?: ?(?:は|が|:|=)[ 、]?| )?(?<=[はが:= 、)])"
    rf"(?P<name>(?:{_NAME})(?: ?\([ァ-ヺーぁ-ゖ ・]{{2,20}}\))?){_NAME_END}"  # with its reading, if given
)
_INTRODUCED_NAME = (
    rf"(?P<name>(?:{_NAME_KANJI}{{1,4}}(?: ?{_NAME_KANJI}{{1,4}})?|[ァ-ヺー]{{2,8}}(?: ?[ァ-ヺー]{{1,8}})?)"
    r"(?: ?\([ァ-ヺーぁ-ゖ ・]{2,20}\))?)"  # with its reading, if given
)
# 〜と申します introduces a person; 〜といいます also defines terms (法定免除といいます), so it needs 私は/僕は.
_NAME_INTRODUCED = re.compile(rf"(?<![{_KANJI}ァ-ヺー\d]){_INTRODUCED_NAME}(?= ?(?:と申します|と申す者))")
_NAME_SELF_INTRODUCED = re.compile(
    rf"(?:私|わたし|わたくし|僕|ぼく|俺)(?:は|の名前は) ?{_INTRODUCED_NAME}(?= ?(?:といいます|と言います))"
)
_NOT_A_NAME = frozenset(
    "何 なん 不明 未定 記入 未記入 変更 必要 同じ 本人 私 自分 空欄 旧姓 漢字 カタカナ フリガナ 正式 上記 以下 "
    "確認 登録 入力 家族 世帯主 代表者 担当 担当者 名前 氏名 市役所 区役所 人 欄 住所 電話番号 生年月日 年齢 性別 "
    "連絡先 印 押印 署名 職業 続柄 等 及び 又は ふりがな フリガナ 欄外".split()
)


def _names(text: str) -> Iterable[tuple[str, int, int]]:
    for pattern in (_NAME_AFTER_CUE, _NAME_INTRODUCED, _NAME_SELF_INTRODUCED):
        position = 0
        while (m := pattern.search(text, position)) is not None:
            end = _name_end_before_stop_word(m.group("name"), m.start("name"))
            if end is not None:
                yield "name", m.start("name"), end
            # a rejected or shortened candidate may hide the next cue (氏名：佐藤 氏名 山田 様): search again inside it
            position = end if end is not None else m.start("name") + 1


def _name_end_before_stop_word(name: str, start: int) -> int | None:
    """End of the name once a stop word (氏名, 住所, 何 …) and what follows are cut off; None if nothing is left."""
    if name.replace(" ", "") in _NOT_A_NAME:
        return None
    kept = ""
    for part in name.split(" "):
        if part in _NOT_A_NAME or part.endswith("番号"):
            break
        kept = f"{kept} {part}" if kept else part
    return start + len(kept) if kept else None


_KANJI_DIGITS = str.maketrans("〇一二三四五六七八九", "0123456789")
_KANJI_DIGIT_RUN = re.compile("[〇一二三四五六七八九][〇一二三四五六七八九\\- ー]{8,}")


# --- the redactor ---------------------------------------------------------------------------------------------------

class Redactor:
    """Finds and replaces personal data. `keep` lists a tenant's own public numbers and addresses (compared after
    normalisation, digits only for numbers) that must survive in logs and analytics."""

    def __init__(self, keep: Iterable[str] = (), redact_free_dial: bool = False) -> None:
        self.redact_free_dial = redact_free_dial
        self._keep = frozenset(_keep_key(item) for item in keep)

    def find(self, text: str) -> list[Match]:
        if not text:
            return []
        norm = _normalise(text)
        found = [m for m in self._detect(norm.text) if not self._is_kept(m[0], norm.text[m[1]:m[2]])]
        spans = [Match(kind, *_to_original(norm, start, end)) for kind, start, end in found if end > start]
        return _merge(spans)

    def redact(self, text: str) -> str:
        matches = self.find(text)
        if not matches:
            return text
        pieces, cursor = [], 0
        for m in matches:
            pieces += [text[cursor:m.start], PLACEHOLDERS[m.kind]]
            cursor = m.end
        pieces.append(text[cursor:])
        return "".join(pieces)

    def contains(self, text: str) -> bool:
        return bool(self.find(text))

    def screen(self, text: str, keep_kinds: Collection[str] = ()) -> tuple[str, frozenset[str]]:
        """What may be stored of a resident's text: every item whose kind is not in `keep_kinds` replaced (an
        address keeps its town and 丁目), and the kinds found. `keep_kinds` never keeps NEVER_STORED kinds."""
        matches = self.find(text)
        if not matches:
            return text, frozenset()
        kept = frozenset(keep_kinds) - NEVER_STORED
        screened = _rewrite(text, [m for m in matches if m.kind not in kept], _stored_form)
        return screened, frozenset(m.kind for m in matches)

    def mask(self, text: str) -> str:
        """The text as staff see it: a phone shows its first group and last four digits (090-****-5678), an e-mail
        its first letter and domain, an address its town and 丁目; anything else its placeholder."""
        return _rewrite(text, self.find(text), _masked_form)

    def redact_value(self, value: object, depth: int = 0) -> object:
        """Strings redacted inside (nested) dicts, lists and tuples: an audit row, an analytics record, log
        arguments. Keys are left alone; anything else passes through unchanged."""
        if isinstance(value, str):
            return self.redact(value)
        if depth >= 8:
            return value
        if isinstance(value, dict):
            return {key: self.redact_value(item, depth + 1) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            items = [self.redact_value(item, depth + 1) for item in value]
            if isinstance(value, list):
                return items
            return type(value)(*items) if hasattr(value, "_fields") else tuple(items)  # namedtuples too
        return value

    def _detect(self, text: str) -> list[tuple[str, int, int]]:
        return [
            *self._detect_numbers(text),
            *self._detect_kanji_numbers(text),
            *_emails(text),
            *_bank_accounts(text),
            *_birth_dates(text),
            *_addresses(text),
            *_names(text),
        ]

    def _detect_kanji_numbers(self, text: str) -> list[tuple[str, int, int]]:
        """〇九〇-一二三四-五六七八: numbers written in kanji digits, read as ASCII digits (same length, same offsets)."""
        if not _KANJI_DIGIT_RUN.search(text):
            return []
        return self._detect_numbers(_dashes_between_digits(text.translate(_KANJI_DIGITS)))

    def _detect_numbers(self, text: str) -> list[tuple[str, int, int]]:
        postal = list(_postal_codes(text))
        shaped = _phone_shaped(text, postal)
        # A phone or postal code ends a run of digit groups (090 1234 5678 1234 5678 9018) — unless the phone
        # shape itself follows another group, when it is more likely the middle of a card (3611 028058 7903).
        barriers = [(s, e) for _c, s, e in shaped if not _PRECEDED_BY_GROUP.search(text, max(0, s - 2), s)]
        barriers += [(s, e) for _k, s, e in postal]
        return [*_phones(shaped, self.redact_free_dial), *postal, *_number_chunks(text, barriers)]

    def _is_kept(self, kind: str, fragment: str) -> bool:
        """A kept number matches by its digits; a kept address also covers its specific part (西新宿2-8-1 of
        東京都新宿区西新宿2-8-1), since only that part is ever a match."""
        if not self._keep:
            return False
        key = _keep_key(fragment)
        return key in self._keep or (kind == "address" and any(key in kept for kept in self._keep))


def _keep_key(value: str) -> str:
    value = _dashes_between_digits(unicodedata.normalize("NFKC", value)).strip().lower()
    if "@" not in value and any(ch.isdigit() for ch in value) and not re.search(f"[{_KANJI}]", value):
        return re.sub(r"\D", "", value)
    return value


def _merge(spans: list[Match]) -> list[Match]:
    """Overlapping spans become one (nothing partially redacted); the higher-priority kind names it."""
    merged: list[Match] = []
    for m in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and m.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, m.kind, key=KIND_PRIORITY.__getitem__)
            merged[-1] = Match(kind, last.start, max(last.end, m.end))
        else:
            merged.append(m)
    return merged


def _rewrite(text: str, matches: list[Match], form: Callable[[str, str], str]) -> str:
    """`text` with each match replaced by `form(kind, matched text)`."""
    if not matches:
        return text
    pieces, cursor = [], 0
    for m in matches:
        pieces += [text[cursor:m.start], form(m.kind, text[m.start:m.end])]
        cursor = m.end
    pieces.append(text[cursor:])
    return "".join(pieces)


# In the original (not normalised) text: full-width digits and kanji numerals before 丁目.
_CHOME_IN_ORIGINAL = re.compile("[0-9０-９〇一二三四五六七八九十百]{1,4} ?丁目")
# 下馬2-13, 西新宿２－８－１: the first group of a hyphenated house number is its 丁目 (how residents write it).
_CHOME_GROUP_IN_ORIGINAL = re.compile("[0-9０-９]{1,2}[-－‐ー](?=[0-9０-９])")
_FIRST_DIGIT = re.compile("[0-9０-９〇一二三四五六七八九十百]")


def _address_area(fragment: str) -> str:
    """The town and 丁目 of an address match (太子堂2丁目 of 太子堂2丁目3番4号, 下馬2- of 下馬2-13), else its town
    name (大手町 of 大手町1番地); empty when the match is a bare house number."""
    chome = _CHOME_IN_ORIGINAL.search(fragment)
    if chome is not None:
        return fragment[:chome.end()]
    digit = _FIRST_DIGIT.search(fragment)
    if digit is None or digit.start() == 0:
        return ""
    group = _CHOME_GROUP_IN_ORIGINAL.match(fragment, digit.start())
    return fragment[:group.end()] if group is not None else fragment[:digit.start()]


def _stored_form(kind: str, fragment: str) -> str:
    if kind == "address":
        return _address_area(fragment) + ADDRESS_DETAIL
    return PLACEHOLDERS[kind]


_DIGIT_OR_FULL_WIDTH = re.compile("[0-9０-９]")


def _masked_phone(fragment: str) -> str:
    """Digits starred except the first group (or first three digits) and the last four: 090-****-5678."""
    digits = [m.start() for m in _DIGIT_OR_FULL_WIDTH.finditer(fragment)]
    separated = re.search("[0-9０-９][^0-9０-９]+[0-9０-９]", fragment)
    head = 3 if separated is None else sum(1 for i in digits if i < separated.start() + 1)
    hidden = set(digits[head:-4]) if len(digits) > head + 4 else set()
    return "".join("*" if i in hidden else ch for i, ch in enumerate(fragment))


def _masked_form(kind: str, fragment: str) -> str:
    if kind == "phone":
        return _masked_phone(fragment)
    if kind == "email" and "@" in fragment:
        local, _, domain = fragment.partition("@")
        return f"{local[:1]}***@{domain}"
    return _stored_form(kind, fragment)


_DEFAULT = Redactor()


def find_pii(text: str) -> list[Match]:
    return _DEFAULT.find(text)


def redact(text: str) -> str:
    return _DEFAULT.redact(text)


def contains_pii(text: str) -> bool:
    return _DEFAULT.contains(text)


def redact_value(value: object) -> object:
    return _DEFAULT.redact_value(value)
