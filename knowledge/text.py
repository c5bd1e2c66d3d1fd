"""Japanese text handling for search: NFKC normalisation and a morphological tokeniser that indexes lemmas.

Both the index and the queries go through the same functions, so spelling variants meet: full-width and
half-width forms (NFKC), kana/kanji variants that share a lemma (ごみ/ゴミ → 塵), inflections (出し/出す).
"""
from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

from core.text import strip_invisible

# Parts of speech that carry no topic: particles, auxiliaries, punctuation, whitespace.
_DROPPED_POS = {"助詞", "助動詞", "補助記号", "記号", "空白"}
# Question boilerplate residents wrap around the topic ("…を教えてください", "…できますか", "…したいのですが").
_BOILERPLATE_LEMMAS = {
    "教える", "下さる", "知る", "出来る", "為る", "有る", "居る", "成る", "思う", "欲しい", "願う", "良い", "頂く",
    "貰う", "御", "其の", "此の", "其れ", "此れ", "何", "事", "今", "場合", "どう", "何処", "どの", "ある", "ない",
    "無い", "様", "為", "聞く", "尋ねる", "分かる", "言う",
}
_LATIN_WORD = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> str:
    """NFKC (full-width ASCII → half-width, half-width kana → full-width), lower case, no invisible characters."""
    return strip_invisible(unicodedata.normalize("NFKC", text))[0].lower()


class JapaneseTokenizer:
    """fugashi + unidic-lite lemmas with particles, auxiliaries, symbols and question boilerplate dropped."""

    version = "fugashi-unidic-lite-lemma-v1"

    def __init__(self) -> None:
        import fugashi

        self._tagger = fugashi.Tagger()
        # MeCab taggers are not thread-safe; one lock keeps worker threads correct (≈2 M chars/s is plenty).
        self._lock = threading.Lock()

    def tokenize(self, text: str) -> list[str]:
        text = normalise(text)
        with self._lock:
            words = [(w.surface, w.feature.lemma, w.feature.pos1) for w in self._tagger(text)]
        return [t for t in (self._term(*w) for w in words) if t]

    @staticmethod
    def _term(surface: str, lemma: str | None, pos: str) -> str | None:
        if pos in _DROPPED_POS:
            return None
        term = lemma or surface
        # unidic marks loanwords with their origin ("コンビニ-convenience"): keep the Japanese form.
        if "-" in term and not term.startswith("-"):
            term = term.split("-", 1)[0]
        if term in _BOILERPLATE_LEMMAS or not term.strip():
            return None
        return term

    def tokenize_many(self, texts: list[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]


@lru_cache(maxsize=1)
def get_tokenizer() -> JapaneseTokenizer:
    return JapaneseTokenizer()
