"""Learned re-ranking of the fused candidates: a logistic model over each candidate's signals (its rank in every
run, the feedback run included, its scores relative to the best of each run, how much of the question its title and
text cover, plainly and weighted by how rare each word is), trained on
the LocalgovFAQ dev split by `madoguchi calibrate`. Without a trained model the fused order is kept.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import yaml

from knowledge.logistic import LogisticHead
from knowledge.index import FEEDBACK_RUN, Hit
from knowledge.text import SYNONYM_PREFIX

RANKER_YML = Path(__file__).resolve().parent.parent / "config" / "ranker.yml"
RUNS = ("bm25_full", "bm25_title", "dense_title", "dense_body", "dense_title_sym", FEEDBACK_RUN)
FEATURES = (
    "rr_bm25_full", "rr_bm25_title", "rr_dense_title", "rr_dense_body", "rr_dense_title_sym", "rr_bm25_feedback",
    "dense_title_gap", "dense_body_gap", "dense_title_sym_gap", "bm25_full_rel", "bm25_title_rel",
    "word_title_coverage", "word_text_coverage", "idf_title_coverage", "idf_text_coverage", "fused_rel",
    "title_terms_log", "bm25_feedback_rel",
)


def query_words(query_terms: Sequence[str]) -> set[str]:
    """The question's own words (its synonym-group terms left out: they say how it matches, not what it asks)."""
    return {t for t in query_terms if not t.startswith(SYNONYM_PREFIX)}


def coverage(words: set[str], doc_terms: set[str], weights: Mapping[str, float] | None = None) -> float:
    """Share of the question's words the document contains, each word weighted by its rarity when `weights`
    (inverse document frequencies) are given: a fraction, so it means the same in every corpus."""
    if not words:
        return 0.0
    if weights is None:
        return len(words & doc_terms) / len(words)
    total = sum(weights.get(w, 0.0) for w in words)
    return sum(weights.get(w, 0.0) for w in words & doc_terms) / total if total else 0.0


def candidate_features(hit: Hit, best: dict[str, float], fused_top: float, words: set[str],
                       weights: Mapping[str, float] | None) -> list[float]:
    ranks = [1.0 / hit.ranks[r] if hit.ranks.get(r) else 0.0 for r in RUNS]
    title_terms = set(hit.title_terms or [])
    text_terms = set(hit.terms or [])
    return ranks + [
        hit.scores.get("dense_title", 0.0) - best.get("dense_title", 0.0),
        hit.scores.get("dense_body", 0.0) - best.get("dense_body", 0.0),
        hit.scores.get("dense_title_sym", 0.0) - best.get("dense_title_sym", 0.0),
        hit.scores.get("bm25_full", 0.0) / (best.get("bm25_full", 0.0) + 1e-9),
        hit.scores.get("bm25_title", 0.0) / (best.get("bm25_title", 0.0) + 1e-9),
        coverage(words, title_terms),
        coverage(words, text_terms),
        coverage(words, title_terms, weights or {}),
        coverage(words, text_terms, weights or {}),
        hit.fused / fused_top if fused_top else 0.0,
        math.log1p(len(query_words(hit.title_terms or []))),
        hit.scores.get(FEEDBACK_RUN, 0.0) / (best.get(FEEDBACK_RUN, 0.0) + 1e-9),
    ]


def feature_matrix(hits: Sequence[Hit], best: dict[str, float], query_terms: Sequence[str],
                   term_weights: Mapping[str, float] | None = None) -> np.ndarray:
    if not hits:
        return np.zeros((0, len(FEATURES)))
    words = query_words(query_terms)
    fused_top = max(h.fused for h in hits)
    return np.array([candidate_features(h, best, fused_top, words, term_weights) for h in hits], dtype=float)


@dataclass
class Reranker:
    head: LogisticHead | None = None

    def rerank(self, hits: list[Hit], best: dict[str, float], query_terms: Sequence[str],
               term_weights: Mapping[str, float] | None = None) -> list[Hit]:
        """Order candidates by P(relevant); `score` becomes that probability (fused order if untrained)."""
        if not hits:
            return hits
        if self.head is None:
            for h in hits:
                h.score = h.fused
            return hits
        matrix = feature_matrix(hits, best, query_terms, term_weights)
        for hit, row in zip(hits, matrix):
            hit.score = self.head.probability(row)
        ordered = sorted(hits, key=lambda h: -h.score)
        for rank, hit in enumerate(ordered, start=1):
            hit.rank = rank
        return ordered

    def save(self, path: Path = RANKER_YML, meta: dict | None = None) -> None:
        data = {"features": list(FEATURES), "meta": meta or {}, "head": self.head.to_dict() if self.head else None}
        header = "# Learned by `madoguchi calibrate` on the LocalgovFAQ dev split; do not edit by hand.\n"
        path.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path = RANKER_YML) -> "Reranker":
        if not path.exists():
            return cls()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if tuple(data.get("features", ())) != FEATURES or not data.get("head"):
            return cls()  # trained for another feature set: fall back to fused order rather than mis-rank
        return cls(LogisticHead.from_dict(data["head"]))
