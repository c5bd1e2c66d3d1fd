"""Learned re-ranking of the fused candidates: a logistic model over each candidate's signals (its rank in every
run, its scores relative to the best of each run, how much of the question its title and text cover), trained on
the LocalgovFAQ dev split by `madoguchi calibrate`. Without a trained model the fused order is kept.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from knowledge.confidence import LogisticHead
from knowledge.index import Hit

RANKER_YML = Path(__file__).resolve().parent.parent / "config" / "ranker.yml"
RUNS = ("bm25_full", "bm25_title", "dense_title", "dense_body", "dense_title_sym")
FEATURES = (
    "rr_bm25_full", "rr_bm25_title", "rr_dense_title", "rr_dense_body", "rr_dense_title_sym",
    "dense_title_gap", "dense_body_gap", "dense_title_sym_gap", "bm25_full_rel", "bm25_title_rel",
    "title_coverage", "text_coverage", "fused_rel", "title_terms_log",
)


def candidate_features(hit: Hit, best: dict[str, float], fused_top: float, query_terms: set[str]) -> list[float]:
    ranks = [1.0 / hit.ranks[r] if hit.ranks.get(r) else 0.0 for r in RUNS]
    title_terms = set(hit.title_terms or [])
    text_terms = set(hit.terms or [])
    n = max(len(query_terms), 1)
    return ranks + [
        hit.scores.get("dense_title", 0.0) - best.get("dense_title", 0.0),
        hit.scores.get("dense_body", 0.0) - best.get("dense_body", 0.0),
        hit.scores.get("dense_title_sym", 0.0) - best.get("dense_title_sym", 0.0),
        hit.scores.get("bm25_full", 0.0) / (best.get("bm25_full", 0.0) + 1e-9),
        hit.scores.get("bm25_title", 0.0) / (best.get("bm25_title", 0.0) + 1e-9),
        len(query_terms & title_terms) / n,
        len(query_terms & text_terms) / n,
        hit.fused / fused_top if fused_top else 0.0,
        math.log1p(len(title_terms)),
    ]


def feature_matrix(hits: Sequence[Hit], best: dict[str, float], query_terms: Sequence[str]) -> np.ndarray:
    if not hits:
        return np.zeros((0, len(FEATURES)))
    terms = set(query_terms)
    fused_top = max(h.fused for h in hits)
    return np.array([candidate_features(h, best, fused_top, terms) for h in hits], dtype=float)


@dataclass
class Reranker:
    head: LogisticHead | None = None

    def rerank(self, hits: list[Hit], best: dict[str, float], query_terms: Sequence[str]) -> list[Hit]:
        """Order candidates by P(relevant); `score` becomes that probability (fused order if untrained)."""
        if not hits:
            return hits
        if self.head is None:
            for h in hits:
                h.score = h.fused
            return hits
        matrix = feature_matrix(hits, best, query_terms)
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
