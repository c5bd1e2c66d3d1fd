"""Which language the resident wrote in, from the scripts of the text alone (offline, no model).

Kana means Japanese and hangul means Korean. Text of Han characters only is the hard case: Japanese residents
often type bare nouns (「児童手当 申請」), so such text is Japanese unless it shows Chinese evidence: characters that
Japanese does not use (simplified forms like 们/这/请, absent from the Japanese code page cp932) or Chinese
function words (请问, 如何, 什么, 吗 …), outweighing characters only Japanese uses (児, 図, 駅, 県 …).
"""
from __future__ import annotations

from typing import Literal

Language = Literal["ja", "en", "zh", "ko", "other"]
LANGUAGES: tuple[Language, ...] = ("ja", "en", "zh", "ko", "other")

# Chinese grammar words and phrases that bare Japanese kanji queries do not contain.
_CHINESE_MARKERS = (
    "请问", "請問", "如何", "可以", "什么", "什麼", "怎么", "怎麼", "怎样", "怎樣", "哪里", "哪裡", "哪儿",
    "在哪", "没有", "沒有", "是否", "还是", "還是", "为什么", "為什麼", "我", "你", "您", "吗", "嗎", "呢",
    "吧", "们", "們", "么", "麼", "这", "這", "那个", "那個", "谢谢", "謝謝", "的吗", "的嗎", "我的",
)


def _is_kana(code: int) -> bool:
    return 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9D


def _is_hangul(code: int) -> bool:
    return 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


def _is_han(code: int) -> bool:
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FFFF
            or 0xF900 <= code <= 0xFAFF)


def _is_latin(code: int) -> bool:
    # Basic Latin, Latin-1, Extended-A/B and Extended Additional (Vietnamese): all read as "en" for the interface.
    return code < 0x250 or 0x1E00 <= code <= 0x1EFF


def _encodable(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _script_counts(text: str) -> dict[str, int]:
    counts = {"kana": 0, "hangul": 0, "han": 0, "latin": 0, "other": 0}
    for char in text:
        code = ord(char)
        if _is_kana(code):
            counts["kana"] += 1
        elif _is_hangul(code):
            counts["hangul"] += 1
        elif _is_han(code):
            counts["han"] += 1
        elif char.isalpha() and _is_latin(code):
            counts["latin"] += 1
        elif char.isalpha():
            counts["other"] += 1
    return counts


def _latin_words(text: str) -> int:
    words = "".join(c if (c.isalpha() and _is_latin(ord(c))) else " " for c in text).split()
    return len(words)


def chinese_evidence(text: str) -> int:
    """Chinese-only characters and Chinese function words, minus characters only Japanese uses."""
    han = [c for c in text if _is_han(ord(c))]
    chinese_only = sum(1 for c in han if not _encodable(c, "cp932"))
    japanese_only = sum(1 for c in han if not _encodable(c, "gb2312") and not _encodable(c, "big5"))
    markers = sum(text.count(m) for m in _CHINESE_MARKERS)
    return chinese_only + markers - japanese_only


def _cjk_language(counts: dict[str, int], text: str) -> Language:
    if counts["hangul"] > counts["kana"] + counts["han"]:
        return "ko"
    if counts["kana"] > 0:
        return "ja"
    if counts["hangul"] > 0:
        return "ko"
    return "zh" if chinese_evidence(text) > 0 else "ja"


def detect_language(text: str, default: Language = "ja") -> Language:
    """`default` when the text carries no letters at all (a bare "2" choosing a clarification, an emoji)."""
    counts = _script_counts(text)
    cjk = counts["kana"] + counts["hangul"] + counts["han"]
    # A Latin word weighs about as much as a CJK character: "How do I get a 住民票?" is English.
    latin = _latin_words(text) if counts["latin"] else 0
    if cjk == 0 and latin == 0:
        return "other" if counts["other"] else default
    if counts["other"] > max(cjk, counts["latin"]):
        return "other"
    if latin > cjk:
        return "en"
    return _cjk_language(counts, text)
