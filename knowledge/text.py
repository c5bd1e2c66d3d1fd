"""Japanese text handling for search: NFKC normalisation and a morphological tokeniser that indexes Sudachi's
normalized forms, plus the synonym groups of the Sudachi synonym dictionary.

Both the index and the queries go through the same functions, so spelling variants meet: full-width and
half-width forms (NFKC), orthographic variants (引越し/引っ越し, 原付/原付き, ｺﾝﾋﾞﾆ/コンビニ), kana and kanji
spellings (ハト/鳩), inflections (出し/出す). Words that Sudachi's dictionary puts in one synonym group (引っ越し
and 転居, ごみ and 廃棄物) also meet, through a `syn:<group id>` term added next to the word in `search_terms`:
the group ids ship inside sudachidict-core, so no synonym file is fetched at install or run time.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

from core.text import strip_invisible

# Parts of speech that carry no topic: particles, auxiliaries, punctuation, whitespace.
_DROPPED_POS = {"助詞", "助動詞", "補助記号", "記号", "空白"}
# Question boilerplate residents wrap around the topic ("…を教えてください", "…できますか", "…したいのですが"),
# as Sudachi normalized forms.
_BOILERPLATE = {
    "教える", "下さる", "知る", "出来る", "為る", "有る", "居る", "成る", "思う", "欲しい", "願う", "良い", "頂く",
    "貰う", "御", "其の", "此の", "其れ", "此れ", "何", "事", "今", "場合", "どう", "どこ", "どの", "無い", "様",
    "為", "聞く", "尋ねる", "分かる", "言う",
}
_LATIN_WORD = re.compile(r"^[a-z0-9]+$")
SYNONYM_PREFIX = "syn:"
# Sudachi refuses inputs over ~49 KB; longer texts are tokenised in pieces.
_CHUNK_CHARS = 10_000


def normalise(text: str) -> str:
    """NFKC (full-width ASCII → half-width, half-width kana → full-width), lower case, no invisible characters."""
    return strip_invisible(unicodedata.normalize("NFKC", text))[0].lower()


class JapaneseTokenizer:
    """Sudachi (core dictionary, split mode A: short units suit short questions) normalized forms, with particles,
    auxiliaries, symbols and question boilerplate dropped."""

    version = "sudachi-core-A-normalized-synonyms-v1"

    def __init__(self) -> None:
        from sudachipy import Dictionary, SplitMode

        self._tokenizer = Dictionary(dict="core").tokenizer()
        self._mode = SplitMode.A
        # A Sudachi tokenizer is not safe to share between threads; one lock keeps worker threads correct.
        self._lock = threading.Lock()

    def tokenize(self, text: str) -> list[str]:
        """The content words of `text`, in order."""
        return [term for term, _, _ in self._analyse(text)]

    def tagged(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """The content words of `text` with their parts of speech (名詞, 普通名詞, 副詞可能 …), in order."""
        return [(term, pos) for term, pos, _ in self._analyse(text)]

    def search_terms(self, text: str) -> list[str]:
        """What the lexical index matches on: each content word followed by its synonym groups."""
        out: list[str] = []
        for term, _, groups in self._analyse(text):
            out.append(term)
            out.extend(f"{SYNONYM_PREFIX}{group}" for group in groups)
        return out

    def _analyse(self, text: str) -> list[tuple[str, tuple[str, ...], tuple[int, ...]]]:
        text = normalise(text)
        words = []
        with self._lock:
            for start in range(0, len(text), _CHUNK_CHARS):
                for m in self._tokenizer.tokenize(text[start:start + _CHUNK_CHARS], self._mode):
                    words.append((m.surface(), m.normalized_form(), tuple(m.part_of_speech()[:3]),
                                  tuple(m.synonym_group_ids())))
        return [(term, pos, groups) for surface, form, pos, groups in words
                if (term := self._term(surface, form, pos[0])) is not None]

    @staticmethod
    def _term(surface: str, form: str, pos: str) -> str | None:
        if pos in _DROPPED_POS:
            return None
        # Sudachi spells Latin words in katakana (residence → レジデンス): keep what the resident wrote.
        term = surface if _LATIN_WORD.match(surface) else form
        if term in _BOILERPLATE or not term.strip():
            return None
        return term

    def tokenize_many(self, texts: list[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]


@lru_cache(maxsize=1)
def get_tokenizer() -> JapaneseTokenizer:
    return JapaneseTokenizer()
