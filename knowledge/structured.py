"""Slots of the structured sources, read from a tenant's own index: which municipality, item, area (and 丁目),
garbage category, stockpile item and household size a question names.

The catalogue is built from the indexed documents' fields (no new embeddings): garbage items by their written form
and reading (fugashi gives 傘 → かさ), collection areas by name and 丁目, stockpile items by their Japanese and
English names. A name only counts where it stands as whole words in the question (「本」 is not found in 「日本」),
and the longest name wins (「ペットボトルのキャップ」 over 「ペットボトル」).
"""
from __future__ import annotations

import logging
import pickle
import re
import subprocess
import sys
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from knowledge.documents import SourceDocument

log = logging.getLogger(__name__)

KANJI_NUMBERS = {c: n for n, c in enumerate("一二三四五六七八九十", start=1)}
_BRACKETED = re.compile(r"[（(].*?[）)]")
_CHOME_AFTER = r"\s*(?P<n>\d+|[一二三四五六七八九十]+)\s*(?:丁目|ちょうめ|-|ー|の|$|\D)"
_HOUSEHOLD = re.compile(
    r"(?P<a>\d+|[一二三四五六七八九十])\s*人(?:家族|暮らし|分|世帯)?|家族\s*(?P<b>\d+|[一二三四五六七八九十])\s*人"
    r"|(?:for|family of)\s+(?P<c>\d+)(?!\s*(?:days?|weeks?|nights?|months?))\s*(?:people|persons|members)?"
    r"|(?P<d>\d+)\s*(?:people|persons)"
    r"|(?P<e>\d+|[一二三四五六七八九十])\s*(?:口人|人家|名|个人)|(?P<f>\d+)\s*(?:명|인)",
    re.I,
)
_SINGLE = re.compile(r"一人暮らし|ひとり暮らし|単身|living alone|独居|혼자")
# The common ways residents name the two main categories; every other category is named by its own column title.
CATEGORY_WORDS = {
    "可燃ごみ": ("可燃", "燃える", "燃やす", "もえる", "もやす", "燃えるゴミ", "燃やすゴミ", "burnable", "combustible"),
    "不燃ごみ": ("不燃", "燃えない", "燃やさない", "もえない", "もやさない", "non-burnable", "incombustible"),
    "資源": ("資源", "リサイクル", "recyclable", "recycling"),
    "プラスチック": ("プラスチック", "プラ", "plastic"),
    "ペットボトル": ("ペットボトル", "pet bottle", "plastic bottle"),
    "かん": ("かん", "缶", "cans"),
    "びん": ("びん", "瓶", "bottles"),
}


def _is_kana(char: str) -> bool:
    return "ぁ" <= char <= "ゖ" or char == "ー"


# The voiced kana (rendaku) of the first kana of a compound's later word: ふくろ → ぶくろ, はし → ばし.
_VOICED = dict(zip("かきくけこさしすせそたちつてとはひふへほ", "がぎぐげござじずぜぞだぢづでどばびぶべぼ"))


def _is_kanji(char: str) -> bool:
    return bool(char) and ("\u4e00" <= char <= "\u9fff" or char == "々")


# Suffixes of a larger unit that may stand right before a place name (「東京都中町」).
_LARGER_UNITS = set("都道府県郡区市")


def fold(text: str) -> str:
    """NFKC, lower case, katakana as hiragana: 「ペットボトル」 and 「ぺっとぼとる」 meet."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


# Words nearly every garbage question or item name holds: sharing one of them says nothing.
_GENERIC_WORDS = {fold(w) for w in ("ごみ", "ゴミ", "資源", "もの", "以外", "ほか", "その他", "など", "場合", "方法", "出し方",
                                    "捨て方", "処分", "回収", "収集", "分別", "家庭", "区内", "市内")}
# What a disposal question says about an item after 「〇〇の」: the item is still the thing asked about.
_ASKED_ABOUT = _GENERIC_WORDS | {fold(w) for w in (
    "日", "曜日", "収集日", "回収日", "日程", "予定", "時間", "分け方", "仕方", "区分", "分類", "種類", "扱い", "こと", "件",
    "方", "ほう", "ルール", "場所", "料金", "費用", "値段", "手数料", "出す日", "対応")}


def number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text and all(c in KANJI_NUMBERS for c in text):
        return KANJI_NUMBERS[text] if len(text) == 1 else (10 + KANJI_NUMBERS.get(text[-1], 0) if text[0] == "十" else None)
    return None


@dataclass(frozen=True)
class Entry:
    """One named record: a garbage item, a collection area or a stockpile item."""

    doc_id: str
    name: str
    municipality: str | None
    keys: tuple[str, ...]  # folded written forms and readings
    chome: tuple[int, ...] = ()  # collection areas: the 丁目 the record covers ( () = the whole area)


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    pos: str  # unidic's first part-of-speech level: 名詞, 助詞, 動詞, 接尾辞 …
    pos2: str = ""


# A name may end inside a word the tagger cut wrongly in kana (「ぼたんでんちって」 → ぼたん|でん|ちっ|て) when what
# follows is a particle or punctuation.
_KANA_TAIL = re.compile(r"(?:って|は|を|が|の|も|とか|って|で|に|、|。|,|\?|？|!|！|\s|$)")
_CONTENT_POS = ("名詞", "接頭辞", "代名詞", "形状詞")


@dataclass
class Question:
    """A question as the catalogue reads it: folded text, where its words begin and end, and their parts of speech."""

    text: str
    folded: str
    bounds: set[int] = field(default_factory=set)
    tokens: tuple[Token, ...] = ()

    def without(self, names: Iterable[str], keys: dict[str, tuple[str, ...]] | None = None) -> "Question":
        """The question with these municipality names blanked out (offsets kept), so that an area named like its
        ward (世田谷区's area 「世田谷1～4」) is found only where the question names the area, not the ward."""
        folded = self.folded
        for name in names:
            for key in (keys or {}).get(name) or municipality_keys(name):
                folded = re.sub(re.escape(key) + r"(?![0-9一二三四五六七八九十])", lambda m: "□" * len(m.group(0)),
                                folded)
        return Question(self.text, folded, self.bounds, self.tokens)

    def spans(self, key: str) -> Iterable[int]:
        """Start offsets where `key` stands as whole words: it starts a word that can begin a name (not a particle,
        a verb's ending or a counter: 「何本」 holds no 本, 「していた」 no 板) and ends where a word ends."""
        start = self.folded.find(key)
        while start >= 0:
            if start in self.bounds and self._ends_a_word(start + len(key)) and self._starts_a_name(start):
                yield start
            start = self.folded.find(key, start + 1)

    def place_spans(self, key: str) -> Iterable[int]:
        """Start offsets where the place name `key` stands on its own. A kanji right before it makes it the tail of
        a longer name (「散田町」 holds no 田町, 「東中町」 no 中町), unless it ends a larger unit (「東京都」); after
        a blanked municipality, a particle or the start, the name may begin where the tagger cut it wrongly
        (「八王子市散田町」 → 散 | 田町)."""
        start = self.folded.find(key)
        while start >= 0:
            before = self.folded[start - 1] if start else ""
            inside = _is_kanji(before) and before not in _LARGER_UNITS
            after_ward = before == "□"  # the tagger may join a ward's suffix to the place (「市裏」 | 高尾町)
            begins = after_ward or (start in self.bounds and (not before or not _is_kanji(before)
                                                               or self._starts_a_name(start)))
            if begins and not inside and self._ends_a_word(start + len(key)):
                yield start
            start = self.folded.find(key, start + 1)

    def head_spans(self, key: str) -> Iterable[int]:
        """Spans of an item name that name the thing asked about. Japanese puts the head last: in
        「ペットボトルのキャップ」 or 「ガラスびん」 the resident asks about a cap or a bottle, and ペットボトル or ガラス only
        says which; 「ペットボトルの出し方」 and 「ペットボトルの日」 still ask about the bottle."""
        return (start for start in self.spans(key) if not self._followed_by_a_head(start + len(key)))

    def _ends_a_word(self, end: int) -> bool:
        return end in self.bounds or (_is_kana(self.folded[end - 1]) and bool(_KANA_TAIL.match(self.folded, end)))

    def _followed_by_a_head(self, end: int) -> bool:
        after = [t for t in self.tokens if t.start >= end]
        if not after or after[0].start != end:
            return False
        first = after[0]
        if self.folded[first.start:first.end] == "の" and len(after) >= 2 and after[1].start == first.end:
            return self._is_head_noun(after[1], joined=False)
        return self._is_head_noun(first, joined=True)

    def _is_head_noun(self, token: Token, joined: bool) -> bool:
        """A noun that is a thing of its own, not what a disposal question says about the item (出し方, 日, 料金)."""
        word = self.folded[token.start:token.end]
        if token.pos != "名詞" or token.pos2 == "数詞" or word in _ASKED_ABOUT or "□" in word:
            return False
        return len(word) >= 2 or not joined  # 「傘立て」's 立て is no thing, 「びんの蓋」's 蓋 is

    def _starts_a_name(self, start: int) -> bool:
        token = self.token_at(start)
        if token is None or token.pos in _CONTENT_POS:
            return True
        if token.pos == "接尾辞":
            return False
        if _is_kana(self.folded[start]):  # kana the tagger cut wrongly: a name may begin a run of kana
            return start == 0 or not _is_kana(self.folded[start - 1])
        return True

    def token_at(self, start: int) -> Token | None:
        return next((t for t in self.tokens if t.start == start), None)

    def modifier_before(self, start: int) -> tuple[str, bool] | None:
        """The noun right before a name (「ガス缶」: ガス, joined) or before 「の」 and the name (「ティッシュの空き箱」:
        ティッシュ, not joined): what makes the resident's thing more particular than the record named."""
        before = [t for t in self.tokens if t.end <= start]
        if not before:
            return None
        last = before[-1]
        joined = last.end == start and last.pos == "名詞" and last.pos2 != "数詞"
        if joined:
            return self.folded[last.start:last.end], True
        if self.folded[last.start:last.end] == "の" and last.end == start and len(before) >= 2:
            noun = before[-2]
            if noun.pos == "名詞" and noun.pos2 != "数詞" and noun.end == last.start:
                return self.folded[noun.start:noun.end], False
        return None


class StructuredCatalogue:
    """The slot values one tenant's structured records hold, with the documents that answer them."""

    def __init__(self, docs: Iterable[SourceDocument], tagger) -> None:
        self._tagger = tagger
        self.items: list[Entry] = []
        self.areas: list[Entry] = []
        self.stockpile: list[Entry] = []
        self.pet_stockpile: list[Entry] = []  # 東京備蓄ナビ's list for pets: never answered with people's amounts
        self.categories: dict[str, set[str]] = {}  # municipality → its collection categories
        self.municipalities: set[str] = set()
        self.hazard_maps: dict[str, str] = {}  # municipality → its hazard-map record
        self.evacuation: dict[str, str] = {}  # municipality → its evacuation-sites record
        self.sites: list[Entry] = []  # evacuation sites by name (both lists of a municipality: one entry per name)
        for doc in docs:
            self._add(doc)
        self._item_by_doc = {e.doc_id: e for e in self.items}
        self._area_by_doc = {e.doc_id: e for e in self.areas}
        self._category_words = {fold(w) for words in CATEGORY_WORDS.values() for w in words} | {
            fold(part) for own in self.categories.values() for c in own for part in [c, *c.split("・")]}
        # 「せたがや区」, 「はちおうじ」: a municipality is also written in kana.
        self.municipality_keys = {m: self._municipality_keys(m) for m in self.municipalities}

    def state(self) -> dict:
        return {name: value for name, value in vars(self).items() if name != "_tagger"}

    @classmethod
    def from_state(cls, state: dict, tagger) -> StructuredCatalogue:
        catalogue = cls.__new__(cls)
        catalogue.__dict__.update(state)
        catalogue._tagger = tagger
        return catalogue

    # --- building --------------------------------------------------------------------------------------------
    def _add(self, doc: SourceDocument) -> None:
        meta, municipality = doc.meta or {}, (doc.meta or {}).get("municipality")
        if municipality and doc.kind in ("garbage_item", "garbage_days", "hazard_map", "evacuation_sites"):
            self.municipalities.add(municipality)
        if doc.kind == "hazard_map" and municipality:
            self.hazard_maps[municipality] = doc.doc_id
        if doc.kind == "evacuation_sites" and municipality:
            self.evacuation[municipality] = doc.doc_id
            names = {s["name"] for key in ("emergency", "evacuation") for s in meta.get(key) or []}
            self.sites += [Entry(doc.doc_id, name, municipality, (fold(name),)) for name in sorted(names)]
        if doc.kind == "garbage_item" and meta.get("item"):
            self.items.append(Entry(doc.doc_id, meta["item"], municipality, self._keys(meta["item"])))
        elif doc.kind == "garbage_days" and meta.get("area"):
            base, chome = area_base(meta["area"], meta.get("chome") or [])
            self.areas.append(Entry(doc.doc_id, meta["area"], municipality, (fold(base),), chome))
            self.categories.setdefault(municipality, set()).update((meta.get("days_text") or meta.get("days") or {}))
        elif doc.kind == "stockpile" and meta.get("item"):
            keys = self._keys(meta["item"]) + tuple(english_keys(meta.get("item_en")))
            if meta.get("pet"):  # 「ペット用 首輪 リード」 is asked as 首輪 or リード, "Water (…) for pets" as water
                keys += tuple(k for word in _PET_PREFIX.sub("", meta["item"]).split() for k in self._keys(word))
                keys += tuple(english_keys(_FOR_PETS.sub("", meta.get("item_en") or "")))
            (self.pet_stockpile if meta.get("pet") else self.stockpile).append(
                Entry(doc.doc_id, meta["item"], None, tuple(dict.fromkeys(keys))))

    def _content_words(self, text: str) -> set[str]:
        """Nouns of two characters or more, folded, without the words every garbage question has: what a record's
        name and a question can share (「石油ストーブ」 and 暖房器具（ストーブ）, 「犬のふん」 and ペットのふん)."""
        with _TAGGER_LOCK:
            words = [(w.surface, w.feature.pos1) for w in self._tagger(unicodedata.normalize("NFKC", text))]
        return {fold(surface) for surface, pos in words
                if pos == "名詞" and len(surface) >= 2 and fold(surface) not in _GENERIC_WORDS}

    def _municipality_keys(self, name: str) -> tuple[str, ...]:
        keys = list(municipality_keys(name))
        stem = re.sub(r"[区市町村]$", "", name)
        reading = self._reading(stem) if len(stem) >= 2 else ""
        if len(reading) >= 3:
            keys += [reading + fold(name[len(stem):]), reading]
        return tuple(dict.fromkeys(keys))

    def _keys(self, name: str) -> tuple[str, ...]:
        base = _BRACKETED.sub("", name).strip() or name
        keys = {fold(base), fold(name)}
        # 「蛍光管・蛍光灯」 is either name; 「プラスチック類」 is asked as プラスチック.
        keys.update(fold(part) for part in re.split(r"[・/／]", base) if len(part) >= 2)
        keys.update(fold(k[:-1]) for k in list(keys) if k.endswith(("類", "等")) and len(k) >= 3)
        keys.update(r for r in self._readings(base) if len(r) >= 2)
        return tuple(k for k in keys if k)

    def _reading(self, text: str) -> str:
        readings = self._readings(text)
        return readings[0] if readings else ""

    def _readings(self, text: str) -> list[str]:
        """The name's reading in kana, and the same with the voiced start a compound's later word takes when it is
        said (rendaku: レジ袋 is read れじふくろ word by word but said れじぶくろ; 紙袋 かみぶくろ)."""
        with _TAGGER_LOCK:
            words = list(self._tagger(unicodedata.normalize("NFKC", text)))
        kana = [fold(w.feature.kana or "") for w in words]
        if not kana or not all(kana):
            return []
        voiced = kana[:1] + [_VOICED.get(k[0], k[0]) + k[1:] for k in kana[1:]]
        return list(dict.fromkeys(["".join(kana), "".join(voiced)]))

    # --- reading a question ----------------------------------------------------------------------------------
    def question(self, text: str) -> Question:
        normal = unicodedata.normalize("NFKC", text)
        with _TAGGER_LOCK:
            words = [(w.surface, w.feature.pos1, w.feature.pos2) for w in self._tagger(normal)]
        bounds, position, tokens = {0, len(normal)}, 0, []
        for surface, pos, pos2 in words:
            found = normal.find(surface, position)
            if found < 0:
                continue
            bounds.update((found, found + len(surface)))
            tokens.append(Token(found, found + len(surface), pos or "", pos2 or ""))
            position = found + len(surface)
        # Latin words end at spaces and punctuation, which the tagger does not return as words.
        bounds.update(m.start() for m in re.finditer(r"\b\w", normal))
        bounds.update(m.end() for m in re.finditer(r"\w\b", normal))
        return Question(normal, fold(normal), bounds, tuple(tokens))

    def municipality_in(self, question: Question, names: Iterable[str] | None = None) -> str | None:
        """The municipality named (世田谷区, 世田谷), the longest when several are."""
        found = [m for m in (names or self.municipalities)
                 if any(k in question.folded for k in self.municipality_keys.get(m) or municipality_keys(m))]
        return max(found, key=len) if found else None

    def items_in(self, question: Question, municipality: str | None = None) -> list[Entry]:
        """The garbage items the question names (in `municipality`, when given): those of its longest name, or of
        every name when it names several together (「電池と蛍光灯」)."""
        return [entry for mention in self.item_mentions(question, municipality) for entry in mention]

    def item_mentions(self, question: Question, municipality: str | None = None) -> list[list[Entry]]:
        """The items of each thing the question names, in its order. Where names overlap the longest wins
        (「ペットボトルのキャップ」 over 「ペットボトル」), and a name only says which when the question puts a head after
        it (Question.head_spans). Several things count only when named together (「電池と蛍光灯」, 「びん、かん」);
        otherwise the longest name is the one asked about."""
        question = question.without(self.municipalities, self.municipality_keys)
        items = [e for e in self.items if municipality in (None, e.municipality)]
        named = [self._particular(question, m, items) for m in self.item_spans(question, municipality)]
        return [entries for entries in named if entries]

    def item_spans(self, question: Question, municipality: str | None = None, *,
                   together_only: bool = True) -> list["Mention"]:
        """Where the question names garbage items (see item_mentions), before a modifier makes one more particular;
        with together_only=False also things named apart (「電池と一緒に傘を」)."""
        question = question.without(self.municipalities, self.municipality_keys)
        items = [e for e in self.items if municipality in (None, e.municipality)]
        mentions = _mentions(question, items, question.head_spans)
        if together_only and len(mentions) > 1 and not _coordinated(question, mentions):
            mentions = [max(mentions, key=lambda m: (m.end - m.start, -m.start))]
        return mentions

    def names_only_categories(self, question: Question) -> bool:
        """Every item the question names is also a collection category's word (「びんとかんは？」, 「資源は？」): after a
        collection-day answer it asks for those days, not how to sort a thing."""
        return all(question.folded[m.start:m.end] in self._category_words for m in self.item_spans(question))

    def _particular(self, question: Question, mention: "Mention", items: list[Entry]) -> list[Entry]:
        """A name that the question makes more particular (「ティッシュの空き箱」, 「アルミ缶」) gives way to the items
        whose names say so too (ティッシュペーパーの箱, 缶（アルミ製飲料缶）); a one-character name that is only the
        head of a compound (「ガス缶」 is no drink can) names none."""
        found = list(mention.entries)
        modifier = question.modifier_before(mention.start)
        if modifier is None or "□" in modifier[0] or (len(modifier[0]) < 2 and modifier[1]):
            return found
        word, joined = modifier
        if len(word) < 2:  # 「木のくし」: one character says which only when a record's name says it too (木製)
            return [e for e in found if word in fold(e.name)] or found
        key = question.folded[mention.start:mention.end]
        head = [c for c in key if not _is_kana(c)]
        specific = [e for e in found if word in fold(e.name)] or [
            e for e in items if word in fold(e.name) and any(c in fold(e.name) for c in head)]
        if specific:
            return specific
        return [] if joined and len(key) < 2 else found

    def names_only_as_modifier(self, question: Question, doc_id: str) -> bool:
        """The item's name is in the question, but only to say which other thing is meant (「ペットボトルのキャップ」
        for the ペットボトル record)."""
        entry = self._item_by_doc.get(doc_id)
        if entry is None:
            return False
        question = question.without(self.municipalities, self.municipality_keys)
        named = any(next(iter(question.spans(k)), None) is not None for k in entry.keys)
        return named and not any(next(iter(question.head_spans(k)), None) is not None for k in entry.keys)

    def sites_in(self, question: Question, municipality: str | None = None) -> list[Entry]:
        return _longest(question, [s for s in self.sites if municipality in (None, s.municipality)])

    def stockpile_in(self, question: Question) -> list[Entry]:
        """The stockpile items named; for a question about a pet (「猫の水」), only the pets' list."""
        return _longest(question, self.pet_stockpile if PET_WORDS.search(question.text) else self.stockpile)

    def areas_in(self, question: Question, municipality: str | None = None) -> tuple[list[Entry], int | None]:
        """Collection areas named in the question and the 丁目 it gives (None when it gives none)."""
        own = [a for a in self.areas if municipality in (None, a.municipality)]
        blanked = question.without(self.municipalities, self.municipality_keys)
        # 「目黒本町」, 「上目黒」: an area whose name holds its ward's is found where the whole name stands.
        wards = {k for keys in self.municipality_keys.values() for k in keys}
        whole = [a for a in _longest(question, own, question.place_spans) if a.keys[0] not in wards]
        areas = _longest(blanked, own, blanked.place_spans)
        if whole and (not areas or len(whole[0].keys[0]) > len(areas[0].keys[0])):
            areas = whole
        else:
            question = blanked
        if not areas:
            return [], None
        key = areas[0].keys[0]
        start = next(iter(question.place_spans(key)))
        match = re.match(_CHOME_AFTER, question.folded[start + len(key):] + " ")
        chome = number(match.group("n")) if match else chome_in(question.folded)
        if chome is not None:
            covering = [a for a in areas if chome in a.chome]
            areas = covering or areas
        return areas, chome

    def same_area(self, doc_id: str, chome: int) -> list[Entry]:
        """The records of the same place as an area record, for another 丁目 (「2丁目は？」 after 三軒茶屋1丁目)."""
        entry = self._area_by_doc.get(doc_id)
        if entry is None:
            return []
        return [a for a in self.areas
                if a.keys[0] == entry.keys[0] and a.municipality == entry.municipality and chome in a.chome]

    def category_in(self, question: Question, municipality: str | None) -> str | None:
        """The collection category asked about (the first, when several are), as the municipality's data names it."""
        categories = self.categories_in(question, municipality)
        return categories[0] if categories else None

    def categories_in(self, question: Question, municipality: str | None) -> list[str]:
        """The collection categories the question names, in its order, as the municipality's own data names them:
        by the common words for them (燃えるごみ → 可燃ごみ) or by a column's own title (「雑誌・雑紙」 by 雑誌). A word
        inside a longer one names nothing of its own ("burnable" in "non-burnable")."""
        own = self.categories.get(municipality) or set().union(*self.categories.values()) if self.categories else set()
        words = {category: [fold(w) for w in CATEGORY_WORDS.get(category, ())] + [fold(p) for p in category.split("・")]
                 for category in own}
        spans = {}
        for category, keys in words.items():
            found = [(m.start(), m.end()) for key in keys for m in re.finditer(re.escape(key), question.folded)]
            if found:
                spans[category] = min(found, key=lambda span: (span[0], -span[1]))  # the first, the longest there
        inside = {c for c, span in spans.items() if any(_within(span, other) for other in spans.values())}
        return sorted((c for c in spans if c not in inside), key=lambda c: spans[c])

    # --- what the glossary (knowledge/glossary.py) translates into ---------------------------------------------
    def item_names(self) -> list[str]:
        """The garbage items' names as the catalogue's keys read them (before a bracket, each of 「A・B」)."""
        names = set()
        for entry in self.items:
            base = _BRACKETED.sub("", entry.name).strip() or entry.name
            parts = [part for part in re.split(r"[・/／]", base) if len(part) >= 1]
            # 「ペットボトルのキャップ」's head is a thing of its own in another language ("cap of a PET bottle").
            heads = [part.rsplit("の", 1)[1] for part in parts if "の" in part]
            names.update(parts + [head for head in heads if len(head) >= 2])
        return sorted(names)

    def place_readings(self) -> dict[str, str]:
        """Municipalities (by the reading of their name without 区/市/町/村) and collection areas, in kana."""
        readings = {}
        for name in self.municipalities:
            stem = re.sub(r"[区市町村]$", "", name)
            reading = self._reading(stem) if stem else ""
            if reading:
                readings[name] = reading
        for area in self.areas:
            reading = self._reading(area.keys[0])
            if len(reading) >= 3:
                readings.setdefault(area.keys[0], reading)
        return readings

    def names(self, question: Question, doc: SourceDocument) -> bool:
        """Whether the question names the record's own slots (its item and municipality, its area, its stockpile item,
        its municipality's hazard map): a record found by similarity alone is no answer to a question about
        something else (「指定ごみ袋はどこで買えますか」 is not about レジ袋)."""
        meta = doc.meta or {}
        if doc.kind == "garbage_item":
            if self.municipality_in(question) != meta.get("municipality"):
                return False
            if self.names_only_as_modifier(question, doc.doc_id):
                return False
            return (any(e.doc_id == doc.doc_id for e in self.items_in(question, meta.get("municipality")))
                    or bool(self._content_words(meta.get("item") or "") & self._content_words(question.text)))
        if doc.kind == "garbage_days":
            return any(e.doc_id == doc.doc_id for e in self.areas_in(question)[0])
        if doc.kind == "stockpile":
            return any(e.doc_id == doc.doc_id for e in self.stockpile_in(question))
        if doc.kind == "evacuation_sites":
            return (bool(EVACUATION_WORDS.search(question.text))
                    and self.municipality_in(question, self.evacuation) == meta.get("municipality"))
        if doc.kind == "hazard_map":  # 「板橋区の指定避難所」 is not asking for its hazard map
            return (bool(HAZARD_MAP_WORDS.search(question.text))
                    and self.municipality_in(question, self.hazard_maps) == meta.get("municipality"))
        return True


PET_WORDS = re.compile(r"ペット|犬|猫|いぬ|ねこ|イヌ|ネコ|わんちゃん|ワンちゃん|\bpets?\b|\bdogs?\b|\bcats?\b|宠物|狗|"
                       r"반려|강아지|고양이|애완", re.I)
_PET_PREFIX = re.compile(r"^ペット用の?\s*")
_FOR_PETS = re.compile(r"\s*for pets?\s*$", re.I)
SLOT_KINDS = ("garbage_item", "garbage_days", "stockpile", "hazard_map", "evacuation_sites")
EVACUATION_WORDS = re.compile(r"避難所|避難場所|避難先|避難でき|避難して|避難する|ひなんじょ|逃げ|evacuat|shelter|refuge|"
                              r"避难|疏散|庇护所|대피|피난", re.I)
# 「ハザード」 alone too: 「ハザードマツプ」, 「ハザードmap」 are typed as often as the whole word.
HAZARD_MAP_WORDS = re.compile(r"ハザード|はざーど|防災マップ|浸水想定|hazard\s*map|灾害地图|风险地图|危险地图|"
                              r"해저드\s*맵|재해\s*지도|위험\s*지도", re.I)


def _longest(question: Question, entries: list[Entry], spans=None) -> list[Entry]:
    """Entries whose longest matching key is the longest found in the question (`spans`: where a key counts,
    Question.spans by default)."""
    spans = spans or question.spans
    scored = []
    for entry in entries:
        length = max((len(k) for k in entry.keys if next(iter(spans(k)), None) is not None), default=0)
        if length:
            scored.append((length, entry))
    best = max((length for length, _ in scored), default=0)
    return [entry for length, entry in scored if length == best]


@dataclass(frozen=True)
class Mention:
    """One place where a question names records: its span and the entries a name of that span belongs to."""

    start: int
    end: int
    entries: tuple[Entry, ...]


def _mentions(question: Question, entries: list[Entry], spans) -> list[Mention]:
    """Every span where a key of `entries` stands, the longest kept where spans overlap, in the question's order."""
    found: dict[tuple[int, int], list[Entry]] = {}
    for entry in entries:
        for key in entry.keys:
            for start in spans(key):
                group = found.setdefault((start, start + len(key)), [])
                if entry not in group:
                    group.append(entry)
    kept: list[Mention] = []
    for (start, end), group in sorted(found.items(), key=lambda kv: (kv[0][0] - kv[0][1], kv[0][0])):
        if all(end <= m.start or start >= m.end for m in kept):
            kept.append(Mention(start, end, tuple(group)))
    # A thing named twice (a glossed question holds its name in the question and again after it) is one thing.
    once = {m.entries: m for m in sorted(kept, key=lambda m: -m.start)}
    return sorted(once.values(), key=lambda m: m.start)


# What may stand between two things named together: 「電池と蛍光灯」, 「びん、かん」, 「傘や自転車」, "cans and bottles".
_JOINED_BY = re.compile(r"(?:\s*(?:と|や|とか|か|も|、|,|・|/|&|and|or|および|及び|または|又は|もしくは|和|或|와|과|랑|이랑|하고)\s*)+")


def _within(span: tuple[int, int], other: tuple[int, int]) -> bool:
    """`span` lies inside `other` and is shorter."""
    return span != other and other[0] <= span[0] and span[1] <= other[1]


def _coordinated(question: Question, mentions: list[Mention]) -> bool:
    """Whether the things are named together as a list, not one said about another (「傘を袋に入れて」)."""
    if len(mentions) < 2:
        return False
    gaps = [question.folded[a.end:b.start] for a, b in zip(mentions, mentions[1:])]
    return all(_JOINED_BY.fullmatch(gap) for gap in gaps)


# A 丁目 given apart from the place's name: 「鷹番は2丁目」, "Takaban 2-chome" (the glossed name comes at the end),
# 「다카반 2초메」.
_CHOME_ANYWHERE = re.compile(r"(\d+|[一二三四五六七八九十]+)\s*(?:丁目|ちょうめ)|(\d+)\s*-?\s*ch[oō]u?me|(\d+)\s*초메", re.I)


def chome_in(text: str) -> int | None:
    """The one 丁目 a question gives anywhere in it (None when it gives none, or several)."""
    found = {number(next(g for g in m.groups() if g)) for m in _CHOME_ANYWHERE.finditer(text)}
    return found.pop() if len(found) == 1 else None


def area_base(area: str, chome: list[str]) -> tuple[str, tuple[int, ...]]:
    """「赤堤1・3～5」 with its 丁目 list → ("赤堤", (1, 3, 4, 5)); 「旭町」 → ("旭町", ())."""
    numbers = tuple(int(m.group(1)) for c in chome for m in [re.search(r"(\d+)丁目$", c)] if m)
    if not numbers:
        # 「北野町（1653・1654番地）」 is asked as 北野町: the bracket says which part (a choice tells them apart).
        return unicodedata.normalize("NFKC", _BRACKETED.sub("", area).strip() or area), ()
    return re.sub(r"\d+丁目$", "", chome[0]), numbers


def area_label(area: str) -> str:
    """Setagaya writes 「三軒茶屋2」 for 三軒茶屋2丁目: say 丁目 where the name ends with its numbers."""
    return f"{area}丁目" if re.search(r"\d$", unicodedata.normalize("NFKC", area)) else area


def municipality_keys(name: str) -> tuple[str, ...]:
    """「世田谷区」 is also asked as 「世田谷」; a one-character stem (「港」 of 港区) is too short to count."""
    stem = re.sub(r"[区市町村]$", "", name)
    return (fold(name), fold(stem)) if len(stem) >= 2 else (fold(name),)


def english_keys(name: str | None) -> list[str]:
    """The data's own English name, whole and before any bracket: "Water (for drinking, cooking, etc.)" → water."""
    if not name:
        return []
    whole = fold(re.sub(r"\s+", " ", name)).strip()
    head = fold(_BRACKETED.sub("", name)).strip()
    return [k for k in {whole, head} if len(k) >= 3]


# Who a household is made of, by 東京備蓄ナビ's age groups (infants 0–2歳, child1 3歳〜小6, child2 中学生以上 …).
_N = r"(\d+|[一二三四五六七八九十]|ひとり|ふたり)"
_MEMBER_PATTERNS: tuple[tuple[str, re.Pattern[str], int | None], ...] = (
    ("adult", re.compile(r"夫婦|両親|couple|부부|夫妻"), 2),
    ("adult", re.compile(r"(?:大人|成人|おとな)" + _N + r"?\s*人?|" + r"(\d+)\s*(?:adults?|名?大人|个大人|명의? 어른|어른)", re.I), None),
    ("aged", re.compile(r"(?:高齢者?|お年寄り|祖父|祖母|おじいちゃん|おばあちゃん|65歳以上|elderly|senior|老人|노인|할머니|할아버지)"
                        + _N + r"?\s*人?", re.I), None),
    ("infants", re.compile(r"(?:赤ちゃん|赤ん坊|乳児|乳幼児|新生児|[0０〇零一1１二2２]歳(?:の子ども|の子供|の子|児|の)?|baby|babies|infant|toddler|"
                           r"婴儿|宝宝|아기|영아)" + _N + r"?\s*人?", re.I), None),
    ("child1", re.compile(r"(?:小学生|幼稚園児?|保育園児|[3-9３-９]歳(?:の子ども|の子供|の子|児|の)?|1[0-2]歳(?:の子ども|の子|の)?|"
                          r"[三四五六七八九十]歳(?:の子ども|の子|の)?|小学|primary school)" + _N + r"?\s*人?", re.I), None),
    ("child2", re.compile(r"(?:中学生|高校生|1[3-7]歳(?:の子ども|の子|の)?|teen(?:ager)?s?)" + _N + r"?\s*人?", re.I), None),
)
_CHILD_UNKNOWN_AGE = re.compile(r"(?:子ども|子供|こども|\bkids?\b|\bchild(?:ren)?\b|孩子|小孩|아이|자녀)\s*(?P<n>\d+|[一二三四五六七八九十])?")
_ADULTS_ONLY = re.compile(r"大人|成人|おとな|adults?|成年人|어른|성인")


@dataclass(frozen=True)
class Household:
    """The household a question describes: how many people, and by age group where it says (unknown = people
    whose age group it does not say)."""

    size: int | None = None
    members: tuple[tuple[str, int], ...] = ()
    unknown: int = 0
    says_adults: bool = False

    @property
    def known(self) -> bool:
        return bool(self.members) and not self.unknown

    def to_dict(self) -> dict:
        return {"size": self.size, "members": dict(self.members), "unknown": self.unknown}


def household_of(text: str) -> Household:
    """「夫婦と２歳の子どもの３人家族」 → adult 2 + infants 1; 「4人家族」 → 4 of unknown ages; "I have a baby" → infants 1."""
    normal = unicodedata.normalize("NFKC", text)
    counted: dict[str, int] = {}
    rest = normal
    for group, pattern, fixed in _MEMBER_PATTERNS:
        for match in pattern.finditer(rest):
            count = fixed or _count(next((g for g in match.groups() if g), None)) or 1
            counted[group] = counted.get(group, 0) + count
            rest = rest[:match.start()] + "□" * (match.end() - match.start()) + rest[match.end():]
    children = _CHILD_UNKNOWN_AGE.search(rest)
    unknown_children = (_count(children.group("n")) or 1) if children else 0
    size, total = household_size(rest if counted else normal), sum(counted.values()) + unknown_children
    if counted and size is not None and size < total:
        size = None  # 「大人2人と子ども2人」: the 2人 counted one group, not the household
    size = size or total or None
    if size is None:
        return Household(None)
    unknown = max(size - sum(counted.values()), unknown_children)
    return Household(size, tuple(sorted(counted.items())), unknown, bool(_ADULTS_ONLY.search(normal)))


def _count(value: str | None) -> int | None:
    if value in ("ひとり",):
        return 1
    if value in ("ふたり",):
        return 2
    return number(value) if value else None


def household_size(text: str) -> int | None:
    """The number of people a question gives (「4人家族」, 「家族4人」, "for 4 people", 「一人暮らし」)."""
    normal = unicodedata.normalize("NFKC", text)
    if _SINGLE.search(normal):
        return 1
    match = _HOUSEHOLD.search(normal)
    if not match:
        return None
    value = next(v for v in match.groups() if v)
    size = number(value)
    return size if size and 1 <= size <= 20 else None


_TAGGER_LOCK = threading.Lock()
_catalogues: dict[tuple[str, str], StructuredCatalogue] = {}
_catalogues_lock = threading.Lock()


def catalogue_for(index) -> StructuredCatalogue:
    """The catalogue of one index version, built once (≈0.2 s for Tokyo's 1,700 documents, ~1 s more in a child)."""
    key = (index.tenant, index.version)
    with _catalogues_lock:
        if key not in _catalogues:
            _catalogues[key] = _built_catalogue(index.docs)
        return _catalogues[key]


# The kinds of record the catalogue reads (StructuredCatalogue._add); other documents add nothing to it.
_CATALOGUED_KINDS = ("garbage_item", "garbage_days", "hazard_map", "evacuation_sites", "stockpile")


def _built_catalogue(docs: Iterable[SourceDocument]) -> StructuredCatalogue:
    """Reading a thousand record names in kana touches ~80 MB of unidic's dictionary, which would then stay mapped
    in the server for good; a child process builds the catalogue and ends, and the server's tagger reads only
    questions, which touch little of it."""
    import fugashi

    records = [doc for doc in docs if doc.kind in _CATALOGUED_KINDS]
    if records:
        try:
            return StructuredCatalogue.from_state(_state_from_child(records), fugashi.Tagger())
        except (OSError, subprocess.SubprocessError, pickle.UnpicklingError) as exc:
            log.warning("structured catalogue built in this process (its child failed: %s)", exc)
    return StructuredCatalogue(records, fugashi.Tagger())


def catalogue_state(docs: list[SourceDocument]) -> dict:
    """What a catalogue of these documents holds, without its tagger (the child's half of _built_catalogue)."""
    import fugashi

    return StructuredCatalogue(docs, fugashi.Tagger()).state()


def _state_from_child(docs: list[SourceDocument]) -> dict:
    code = ("import pickle, sys; from knowledge.structured import catalogue_state; "
            "sys.stdout.buffer.write(pickle.dumps(catalogue_state(pickle.load(sys.stdin.buffer))))")
    done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(docs), capture_output=True, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    return pickle.loads(done.stdout)  # our own child's output, never a resident's or a provider's bytes
