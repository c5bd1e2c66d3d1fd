"""Intents that need no retrieval (greeting, asking for a person, emergency, prompt injection …) and `none`,
a real question that goes on to retrieval.

The classifier is nearest examples over the offline embedder: the examples in config/nlu.yml (Rasa's format) are
embedded once and cached on disk; a text takes the intent whose k nearest examples are most similar, but only
if that intent beats `none` by a margin, because swallowing a real question is worse than missing a greeting.
A few high-precision patterns back the embedder up for the safety intents (crisis, emergency, injection): those
must not depend on where a 384-dimension vector happens to fall.

An intent other than `none` must also share a word with its own examples. Short texts all sit close together in
e5's narrow similarity band, so a bare noun (「電池」, "an old umbrella in Setagaya") would otherwise fall to
whichever intent happens to be nearest (a greeting, an emergency): a word in common is what a real greeting,
thanks or request for a person always has with its examples.

Smalltalk (greeting, thanks, goodbye) must also ask nothing. 「じゃあ３丁目だと？」 and 「ありがとう、あと電池は？」 sit
next to 「じゃあね」 and 「ありがとう」, and share their first word, but they ask about a thing the smalltalk examples never
name: such a message is a question (often a follow-up), whatever it opens with.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from config.settings import PROJECT_ROOT, get_settings
from core.text import normalise_input
from dialogue.language import detect_language
from knowledge.embedder import Embedder, get_embedder
from knowledge.text import get_tokenizer, normalise

log = logging.getLogger(__name__)

NONE = "none"
INTENTS = (
    "greeting", "thanks", "goodbye", "request_human", "complaint",
    "emergency", "crisis", "out_of_scope", "prompt_injection", NONE,
)
SMALLTALK = frozenset({"greeting", "thanks", "goodbye"})
DEFAULT_NLU_PATH = PROJECT_ROOT / "config" / "nlu.yml"
# Chosen by leave-one-out over config/nlu.yml (see tests/dialogue/test_intents.py for the measured figures).
DEFAULT_K = 3
DEFAULT_MARGIN = 0.01
_CACHE_FORMAT = "v1"
# Rasa entity annotations, "[渋谷区](city)" → "渋谷区".
_ENTITY_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}")
# English function words: they ground nothing ("an old umbrella in Setagaya" shares "in" with "collapsed in …").
_FUNCTION_WORDS = frozenset(
    "a an the in on at of to for from with by and or is are was be been my me i you your it this that do does "
    "can could would will please what how where when which who there here".split()
)
_QUESTION_MARK = re.compile(r"[?？]")
# A Japanese question that ends on its topic (「電池は」「３丁目だと」「八王子市なら」) or on か / の.
_ASKING_END = re.compile(r"(は|って|なら|だと|とか|も|の|か)[\s。.…]*$")
_ASKING_REQUEST = re.compile(r"教えて|おしえて|知りたい|聞きたい|どう(すれば|したら)")
_QUESTION_WORDS = frozenset({"what", "how", "where", "when", "which", "who", "why"})
# Nouns that say when or how much rather than name a thing (今日はありがとう, お忙しいところ, あと).
_ADVERBIAL_NOUN = "副詞可能"

# High-precision backups for the safety intents, in priority order. Each names a situation, not a topic:
# 「火事です」 is an emergency, 「火災報知器の設置は義務ですか」 is a question.
SAFETY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("crisis", re.compile(
        r"死にたい|消えたい|自殺し(たい|よう)|生きていたくない|生きてる意味|死んだほうが|死のうと|首をつ|飛び降り(たい|よう)"
        r"|殺される|(殴|叩|蹴)られ(て|た|る)|暴力を(受け|振る)|虐待されて|want to die|kill myself|suicid"
        r"|不想活|想自杀|죽고 싶|살기 싫")),
    ("emergency", re.compile(
        r"火事(です|だ|が起き|になっ)|燃えて(いる|る|います)|煙が出て|意識が(ない|ありません)|息をしていない"
        r"|(人|父|母|夫|妻|家族|子|子ども|祖父|祖母|誰か|友人|男性|女性|高齢者|おじいさん|おばあさん)が倒れ"
        r"|呼吸(していない|がない)|血が止まらない|救急車を呼んで|けいれんして|泥棒(に入られ|が入っ|がい)|強盗(に|が入)"
        r"|不審者が(いる|います|家|侵入)|刃物を持った|襲われ(た|て|そう)|(車|バイク)に(はねられ|ひかれ)|溺れ(て|た)|川に落ち"
        r"|not breathing|collapsed|house is burning|intruder|着火了|晕倒|불이 났|쓰러졌")),
    ("prompt_injection", re.compile(
        r"(指示|命令|ルール|制約|設定)を(すべて|全て|全部)?(無視|忘れ)|システムプロンプト|プロンプトを(表示|見せ|教え|出力)"
        r"|(あなた|君|お前|AI|ボット|チャットボット)の(設定|指示|プロンプト|ルール|命令)|^設定を(教え|見せ|表示)"
        r"|開発者モード|(ignore|disregard|forget) (all |the )?(previous|prior|above)|system prompt|hidden instructions"
        r"|developer mode|忽略.{0,6}(指令|指示)|系统提示|시스템 프롬프트|지시를 (모두 )?무시", re.IGNORECASE)),
)


@dataclass(frozen=True)
class IntentPrediction:
    intent: str
    confidence: float
    nearest_example: str | None


@dataclass(frozen=True)
class NluExample:
    intent: str
    text: str


def _example_lines(block: str) -> list[str]:
    lines = [line.strip() for line in block.splitlines()]
    texts = [line[1:].strip() for line in lines if line.startswith("-")]
    return [_ENTITY_ANNOTATION.sub(lambda m: m.group(1) or m.group(2), t) for t in texts if t]


def load_nlu_examples(path: Path = DEFAULT_NLU_PATH) -> list[NluExample]:
    """Examples of every intent in a Rasa nlu.yml file (entity annotations dropped, text normalised)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    examples = []
    for entry in data.get("nlu", []):
        if "intent" not in entry:
            continue  # synonyms, regexes and lookup tables are Rasa features we do not use
        for text in _example_lines(entry.get("examples", "")):
            examples.append(NluExample(entry["intent"], normalise_input(text).text))
    return examples


def match_safety_pattern(text: str) -> tuple[str, str] | None:
    """(intent, matched text) of the first safety pattern found in `text`, else None."""
    for intent, pattern in SAFETY_PATTERNS:
        found = pattern.search(text)
        if found:
            return intent, found.group(0)
    return None


class ExampleVectorCache:
    """Example vectors on disk, keyed by the nlu file's bytes and the embedder's name."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def key(self, nlu_bytes: bytes, embedder_name: str) -> str:
        digest = hashlib.sha256(nlu_bytes + b"\0" + embedder_name.encode() + b"\0" + _CACHE_FORMAT.encode())
        return digest.hexdigest()[:24]

    def load(self, key: str, rows: int, dim: int) -> np.ndarray | None:
        path = self.directory / f"{key}.npy"
        if not path.exists():
            return None
        try:
            vectors = np.load(path)
        except (OSError, ValueError):
            return None
        return vectors if vectors.shape == (rows, dim) else None

    def store(self, key: str, vectors: np.ndarray) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Write then rename: several workers may build the cache at once and none may read half a file.
        handle, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            np.save(out, vectors)
        os.replace(tmp, self.directory / f"{key}.npy")


class IntentClassifier:
    def __init__(
        self,
        nlu_path: Path | None = None,
        embedder: Embedder | None = None,
        cache_dir: Path | None = None,
        k: int = DEFAULT_K,
        margin: float = DEFAULT_MARGIN,
        use_patterns: bool = True,
        extra_nlu_paths: Sequence[Path] = (),
    ) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.nlu_path = Path(nlu_path or DEFAULT_NLU_PATH)
        # A tenant's own examples (e.g. imported from its Rasa assistant by `madoguchi import-rasa`) add to these.
        self.extra_paths = [Path(p) for p in extra_nlu_paths if Path(p).exists()]
        self.examples = [e for path in [self.nlu_path, *self.extra_paths] for e in load_nlu_examples(path)]
        self._check_examples()
        self.k, self.margin, self.use_patterns = k, margin, use_patterns
        self._embedder = embedder or _default_embedder()
        self._labels = np.array([e.intent for e in self.examples])
        self._intents = tuple(i for i in INTENTS if i in set(self._labels))
        self.cache_dir = cache_dir or get_settings().data_dir / "cache" / "intents"
        self._vectors = self._example_vectors(self.cache_dir)
        self._words = self._intent_words()
        self._smalltalk_words = set().union(*(self._words.get(i, set()) for i in SMALLTALK))

    def _check_examples(self) -> None:
        unknown = {e.intent for e in self.examples} - set(INTENTS)
        if unknown:
            raise ValueError(f"{self.nlu_path}: unknown intents {sorted(unknown)}; known: {INTENTS}")
        if not any(e.intent == NONE for e in self.examples):
            raise ValueError(f"{self.nlu_path}: needs examples of `none` (real questions)")

    def _example_vectors(self, cache_dir: Path) -> np.ndarray:
        cache = ExampleVectorCache(cache_dir)
        key = cache.key(b"\0".join(p.read_bytes() for p in [self.nlu_path, *self.extra_paths]), self._embedder.name)
        vectors = cache.load(key, len(self.examples), self._embedder.dim)
        if vectors is None:
            log.info("embedding %d intent examples (cache miss %s)", len(self.examples), key)
            vectors = self._embedder.embed_queries([e.text for e in self.examples])
            cache.store(key, vectors)
        return vectors

    def _intent_words(self) -> dict[str, set[str]]:
        words: dict[str, set[str]] = {}
        for example in self.examples:
            words.setdefault(example.intent, set()).update(content_words(example.text))
        return words

    def grounded(self, text: str, intent: str) -> bool:
        """Whether `text` shares a content word with the examples of `intent` (`none` needs no grounding)."""
        return intent == NONE or bool(content_words(text) & self._words.get(intent, set()))

    def asks_about_something(self, text: str) -> bool:
        """Whether `text` asks about a thing that no smalltalk example names (「じゃあ粗大ごみは？」, "thanks, what
        about batteries?"); 「じゃあね」, 「もしもし？」 and 「本当にありがとう」 ask nothing."""
        return bool(thing_words(text) - self._smalltalk_words) and asks(text)

    def intent_scores(self, similarities: np.ndarray) -> dict[str, float]:
        """Mean similarity of each intent's k nearest examples."""
        scores = {}
        for intent in self._intents:
            own = similarities[self._labels == intent]
            top = np.partition(own, -min(self.k, own.size))[-min(self.k, own.size):]
            scores[intent] = float(top.mean())
        return scores

    def decide(self, similarities: np.ndarray) -> IntentPrediction:
        """The nearest non-`none` intent if it beats `none` by the margin, else `none`."""
        scores = self.intent_scores(similarities)
        best = max((i for i in scores if i != NONE), key=scores.__getitem__)
        intent = best if scores[best] - scores[NONE] >= self.margin else NONE
        return IntentPrediction(intent, _confidence(scores, intent), self._nearest(similarities, intent))

    def _nearest(self, similarities: np.ndarray, intent: str) -> str:
        indices = np.flatnonzero(self._labels == intent)
        return self.examples[int(indices[np.argmax(similarities[indices])])].text

    def classify(self, text: str) -> IntentPrediction:
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[IntentPrediction]:
        cleaned = [normalise_input(t).text for t in texts]
        to_embed = [t for t in cleaned if t]
        vectors = iter(self._embedder.embed_queries(to_embed)) if to_embed else iter(())
        return [self.classify_embedded(t, next(vectors) if t else None) for t in cleaned]

    def classify_embedded(self, text: str, vector: np.ndarray | None) -> IntentPrediction:
        """Classify normalised `text` whose query vector is already known (e.g. shared with retrieval)."""
        if vector is None or not any(ch.isalpha() for ch in text):
            # Digits and symbols only (「2」 picking a clarification choice) carry no intent of their own.
            return IntentPrediction(NONE, 0.0, None)
        predicted = self.decide(self._vectors @ vector)
        if not self.grounded(text, predicted.intent) or (
                predicted.intent in SMALLTALK and self.asks_about_something(text)):
            predicted = IntentPrediction(NONE, predicted.confidence, None)
        rule = match_safety_pattern(text) if self.use_patterns else None
        if rule and rule[0] != predicted.intent:
            return IntentPrediction(rule[0], 1.0, f"pattern:{rule[1]}")
        return predicted


def content_words(text: str) -> set[str]:
    """What in `text` carries meaning, by script: Japanese lemmas (particles, auxiliaries and symbols out), Korean
    syllable pairs (감사해요 / 감사합니다 share 감사), Chinese characters, English words but function words."""
    language = detect_language(text)
    if language == "ko":
        runs = re.findall(r"[\uac00-\ud7af]+", text)
        return {run[i:i + 2] for run in runs for i in range(max(len(run) - 1, 1))}
    if language == "zh":
        return {char for char in text if "\u4e00" <= char <= "\u9fff"}
    if language in ("en", "other"):
        return {w for w in re.findall(r"[a-z0-9']+", normalise(text)) if w not in _FUNCTION_WORDS}
    return set(get_tokenizer().tokenize(text))


def thing_words(text: str) -> set[str]:
    """The content words of `text` that could name what it asks about: in Japanese the nouns, pronouns and numbers
    but those that say when or how much (今日, あと); in other languages every content word."""
    if detect_language(text) != "ja":
        return content_words(text)
    return {term for term, pos in get_tokenizer().tagged(text)
            if pos[0] in ("名詞", "代名詞") and _ADVERBIAL_NOUN not in pos}


def asks(text: str) -> bool:
    """A question mark, a Japanese question ending (「…は」「…だと」) or request (教えて, 知りたい), an English question
    word."""
    if _QUESTION_MARK.search(text):
        return True
    language = detect_language(text)
    if language == "ja":
        return bool(_ASKING_END.search(text) or _ASKING_REQUEST.search(text))
    return language == "en" and bool(set(re.findall(r"[a-z]+", normalise(text))) & _QUESTION_WORDS)


def _confidence(scores: dict[str, float], intent: str, temperature: float = 0.01) -> float:
    """Share of the intent in a sharp softmax over intent scores: a ranking signal, not a calibrated probability."""
    values = np.array(list(scores.values()))
    weights = np.exp((values - values.max()) / temperature)
    return float(weights[list(scores).index(intent)] / weights.sum())


def _default_embedder() -> Embedder:
    settings = get_settings()
    return get_embedder(settings.embedder, settings.embed_threads)
