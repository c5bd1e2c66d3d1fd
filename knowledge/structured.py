"""Slots of the structured sources, read from a tenant's own index: which municipality, item, area (and 丁目),
garbage category, stockpile item and household size a question names.

The catalogue is built from the indexed documents' fields (no new embeddings): garbage items by their written form
and reading (fugashi gives 傘 → かさ), collection areas by name and 丁目, stockpile items by their Japanese and
English names. A name only counts where it stands as whole words in the question (「本」 is not found in 「日本」),
and the longest name wins (「ペットボトルのキャップ」 over 「ペットボトル」).
"""
from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

from knowledge.documents import SourceDocument

KANJI_NUMBERS = {c: n for n, c in enumerate("一二三四五六七八九十", start=1)}
_BRACKETED = re.compile(r"[（(].*?[）)]")
_CHOME_AFTER = r"\s*(?P<n>\d+|[一二三四五六七八九十]+)\s*(?:丁目|ちょうめ|-|ー|の|$|\D)"
_HOUSEHOLD = re.compile(
    r"(?P<a>\d+|[一二三四五六七八九十])\s*人(?:家族|暮らし|分|世帯)?|家族\s*(?P<b>\d+|[一二三四五六七八九十])\s*人"
    r"|(?:for|family of)\s+(?P<c>\d+)\s*(?:people|persons|members)?|(?P<d>\d+)\s*(?:people|persons)"
    r"|(?P<e>\d+)\s*(?:口人|人家|名)|(?P<f>\d+)\s*(?:명|인)",
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


def fold(text: str) -> str:
    """NFKC, lower case, katakana as hiragana: 「ペットボトル」 and 「ぺっとぼとる」 meet."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


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


@dataclass
class Question:
    """A question as the catalogue reads it: folded text and where its words begin and end."""

    text: str
    folded: str
    bounds: set[int] = field(default_factory=set)

    def without(self, names: Iterable[str]) -> "Question":
        """The question with these municipality names blanked out (offsets kept), so that an area named like its
        ward (世田谷区's area 「世田谷1～4」) is found only where the question names the area, not the ward."""
        folded = self.folded
        for name in names:
            for key in municipality_keys(name):
                folded = re.sub(re.escape(key) + r"(?![0-9一二三四五六七八九十])", lambda m: "□" * len(m.group(0)),
                                folded)
        return Question(self.text, folded, self.bounds)

    def spans(self, key: str) -> Iterable[int]:
        """Start offsets where `key` stands as whole words."""
        start = self.folded.find(key)
        while start >= 0:
            if start in self.bounds and start + len(key) in self.bounds:
                yield start
            start = self.folded.find(key, start + 1)


class StructuredCatalogue:
    """The slot values one tenant's structured records hold, with the documents that answer them."""

    def __init__(self, docs: Iterable[SourceDocument], tagger) -> None:
        self._tagger = tagger
        self.items: list[Entry] = []
        self.areas: list[Entry] = []
        self.stockpile: list[Entry] = []
        self.categories: dict[str, set[str]] = {}  # municipality → its collection categories
        self.municipalities: set[str] = set()
        for doc in docs:
            self._add(doc)

    # --- building --------------------------------------------------------------------------------------------
    def _add(self, doc: SourceDocument) -> None:
        meta, municipality = doc.meta or {}, (doc.meta or {}).get("municipality")
        if municipality and doc.kind in ("garbage_item", "garbage_days", "hazard_map", "evacuation_sites"):
            self.municipalities.add(municipality)
        if doc.kind == "garbage_item" and meta.get("item"):
            self.items.append(Entry(doc.doc_id, meta["item"], municipality, self._keys(meta["item"])))
        elif doc.kind == "garbage_days" and meta.get("area"):
            base, chome = area_base(meta["area"], meta.get("chome") or [])
            self.areas.append(Entry(doc.doc_id, meta["area"], municipality, (fold(base),), chome))
            self.categories.setdefault(municipality, set()).update((meta.get("days_text") or meta.get("days") or {}))
        elif doc.kind == "stockpile" and meta.get("item") and not meta.get("pet"):
            keys = self._keys(meta["item"]) + tuple(english_keys(meta.get("item_en")))
            self.stockpile.append(Entry(doc.doc_id, meta["item"], None, keys))

    def _keys(self, name: str) -> tuple[str, ...]:
        base = _BRACKETED.sub("", name).strip() or name
        keys = {fold(base), fold(name)}
        reading = self._reading(base)
        if reading and len(reading) >= 2:
            keys.add(reading)
        return tuple(k for k in keys if k)

    def _reading(self, text: str) -> str:
        with _TAGGER_LOCK:
            words = list(self._tagger(unicodedata.normalize("NFKC", text)))
        kana = [w.feature.kana for w in words]
        return fold("".join(kana)) if all(kana) else ""

    # --- reading a question ----------------------------------------------------------------------------------
    def question(self, text: str) -> Question:
        normal = unicodedata.normalize("NFKC", text)
        with _TAGGER_LOCK:
            surfaces = [w.surface for w in self._tagger(normal)]
        bounds, position = {0, len(normal)}, 0
        for surface in surfaces:
            found = normal.find(surface, position)
            if found < 0:
                continue
            bounds.update((found, found + len(surface)))
            position = found + len(surface)
        # Latin words end at spaces and punctuation, which the tagger does not return as words.
        bounds.update(m.start() for m in re.finditer(r"\b\w", normal))
        bounds.update(m.end() for m in re.finditer(r"\w\b", normal))
        return Question(normal, fold(normal), bounds)

    def municipality_in(self, question: Question, names: Iterable[str] | None = None) -> str | None:
        """The municipality named (世田谷区, 世田谷), the longest when several are."""
        found = [m for m in (names or self.municipalities) if any(True for k in municipality_keys(m)
                                                                   if k in question.folded)]
        return max(found, key=len) if found else None

    def items_in(self, question: Question) -> list[Entry]:
        return _longest(question, self.items)

    def stockpile_in(self, question: Question) -> list[Entry]:
        return _longest(question, self.stockpile)

    def areas_in(self, question: Question, municipality: str | None = None) -> tuple[list[Entry], int | None]:
        """Collection areas named in the question and the 丁目 it gives (None when it gives none)."""
        question = question.without(self.municipalities)
        areas = [a for a in _longest(question, self.areas) if municipality in (None, a.municipality)]
        if not areas:
            return [], None
        key = areas[0].keys[0]
        start = next(iter(question.spans(key)))
        match = re.match(_CHOME_AFTER, question.folded[start + len(key):] + " ")
        chome = number(match.group("n")) if match else None
        if chome is not None:
            covering = [a for a in areas if chome in a.chome]
            areas = covering or areas
        return areas, chome

    def category_in(self, question: Question, municipality: str | None) -> str | None:
        """The collection category asked about, named as the municipality's own data names it."""
        own = self.categories.get(municipality) or set().union(*self.categories.values()) if self.categories else set()
        for category, words in CATEGORY_WORDS.items():
            if any(fold(w) in question.folded for w in words) and category in own:
                return category
        named = [c for c in own if any(fold(part) in question.folded for part in c.split("・"))]
        return max(named, key=len) if named else None


def _longest(question: Question, entries: list[Entry]) -> list[Entry]:
    """Entries whose longest matching key is the longest found in the question."""
    scored = []
    for entry in entries:
        length = max((len(k) for k in entry.keys if next(iter(question.spans(k)), None) is not None), default=0)
        if length:
            scored.append((length, entry))
    best = max((length for length, _ in scored), default=0)
    return [entry for length, entry in scored if length == best]


def area_base(area: str, chome: list[str]) -> tuple[str, tuple[int, ...]]:
    """「赤堤1・3～5」 with its 丁目 list → ("赤堤", (1, 3, 4, 5)); 「旭町」 → ("旭町", ())."""
    numbers = tuple(int(m.group(1)) for c in chome for m in [re.search(r"(\d+)丁目$", c)] if m)
    if not numbers:
        return unicodedata.normalize("NFKC", area), ()
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
    """The catalogue of one index version, built once (≈0.2 s for Tokyo's 1,700 documents)."""
    key = (index.tenant, index.version)
    with _catalogues_lock:
        if key not in _catalogues:
            import fugashi

            _catalogues[key] = StructuredCatalogue(index.docs, fugashi.Tagger())
        return _catalogues[key]
