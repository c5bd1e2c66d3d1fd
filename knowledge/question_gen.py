"""Questions generated from a tenant's own documents, for calibrating a tenant that has no labelled questions yet.

Each question is built from a document's own words the way residents ask (a few key words and a question frame;
the record's slots for structured data: item, area, municipality, programme) and labelled with that document as
its answer. They are never indexed: a generated question that found itself in the index text would teach the
calibration nothing. They are easier than real questions (their words come from the document), which is what
`madoguchi calibrate` reports when it scores such a calibration on real labels.
"""
from __future__ import annotations

import random
from typing import Sequence

from knowledge.documents import SourceDocument
from knowledge.evaluation import EvalQuery
from knowledge.index import TenantIndex
from knowledge.rerank import query_words
from knowledge.text import JapaneseTokenizer

# Frames by source type; {a} and {b} are key words of the document, the others its record's slots.
FRAMES: dict[str, tuple[str, ...]] = {
    "faq": ("{a}について教えてください", "{a}の{b}について知りたい", "{a}と{b}のことを聞きたい", "{a} {b}",
            "{a}の{b}はどうすればいいですか"),
    "passage": ("{a}について教えてください", "{a}の{b}はどうなっていますか", "{a} {b}"),
    "service": ("{program}について知りたい", "{program}はどんな制度ですか", "{a}の支援はありますか"),
    "garbage_item": ("{item}は何ごみですか", "{municipality}で{item}はどう捨てればいいですか", "{item}の捨て方"),
    "garbage_days": ("{area}のごみの日はいつですか", "{municipality}{area}の収集日を教えて"),
    "stockpile": ("{item}はどのくらい備蓄すればいいですか", "備蓄に{item}は必要ですか"),
    "hazard_map": ("{municipality}のハザードマップはどこで見られますか", "{municipality}の洪水ハザードマップ"),
}
DEFAULT_FRAMES = FRAMES["passage"]


def key_words(doc: SourceDocument, index: TenantIndex, tokenizer: JapaneseTokenizer, rng: random.Random) -> list[str]:
    """Two of the document's rarer words: the title's rarest, then another from the title or the body's start."""
    title = [w for w in dict.fromkeys(tokenizer.tokenize(doc.title)) if len(w) > 1]
    body = [w for w in dict.fromkeys(tokenizer.tokenize(doc.body[:200])) if len(w) > 1 and w not in title]
    weights = index.term_weights(title + body)
    title.sort(key=lambda w: -weights.get(w, 0.0))
    body.sort(key=lambda w: -weights.get(w, 0.0))
    first = title[:1] or body[:1]
    pool = (title[1:3] if rng.random() < 0.5 or not body else body[:2]) or body[:2] or title[1:2]
    chosen = first + pool[:1]
    order = tokenizer.tokenize(f"{doc.title} {doc.body[:200]}")
    return sorted(chosen, key=order.index)  # in the document's own order: 「環境ロードプライシング」 → ロード, プライシング


def question_for(doc: SourceDocument, index: TenantIndex, tokenizer: JapaneseTokenizer,
                 rng: random.Random) -> str | None:
    words = key_words(doc, index, tokenizer, rng)
    slots = {k: str(v) for k, v in doc.meta.items() if isinstance(v, str) and v}
    slots.update(a=words[0] if words else "", b=words[1] if len(words) > 1 else "")
    frames = [f for f in FRAMES.get(doc.kind, DEFAULT_FRAMES) if _fillable(f, slots)]
    if not frames:
        return None
    return rng.choice(frames).format(**slots).strip()


def _fillable(frame: str, slots: dict[str, str]) -> bool:
    import string

    return all(slots.get(name) for _, name, _, _ in string.Formatter().parse(frame) if name)


def generate_questions(index: TenantIndex, tokenizer: JapaneseTokenizer, count: int, seed: int = 9,
                       docs: Sequence[SourceDocument] | None = None) -> list[EvalQuery]:
    """Up to `count` questions, each from a different document drawn at random (seeded: the same every run)."""
    rng = random.Random(seed)
    pool = list(docs if docs is not None else index.docs)
    rng.shuffle(pool)
    out: list[EvalQuery] = []
    for doc in pool:
        if len(out) >= count:
            break
        text = question_for(doc, index, tokenizer, rng)
        if text and query_words(tokenizer.search_terms(text)):
            out.append(EvalQuery(f"generated:{doc.doc_id}", text, {doc.doc_id: 2}))
    return out
