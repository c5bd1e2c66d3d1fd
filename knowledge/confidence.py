"""Calibrated confidence: a logistic model over retrieval signals, learned on labelled questions (LocalgovFAQ dev).

Two heads: P(top hit answers the question) decides whether to answer, P(one of the top 3 does) whether a
clarifying choice is worth offering. No single raw score is trusted: e5 cosines sit in a narrow band and BM25
scores depend on the query's length, so the model learns how margins, agreement between runs and coverage of
the question's terms combine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from knowledge.index import Hit

CONFIDENCE_YML = Path(__file__).resolve().parent.parent / "config" / "confidence.yml"

# A compact set: with a few hundred labelled questions, fewer and stronger signals calibrate better (chosen by
# cross-validation on the dev split). The question-to-question similarity of the top hit, and its margin over
# the next candidate, say most about whether the resident asked exactly what an official entry answers.
FEATURES = (
    "rerank_top1", "rerank_margin", "fused_top1", "dense_title_margin", "bm25_margin_ratio",
    "sym_top1", "sym_margin",
)


def _score(hit: Hit, run: str) -> float:
    return hit.scores.get(run, 0.0)


def _best_other(hits: Sequence[Hit], run: str) -> float:
    return max((h.scores.get(run, 0.0) for h in hits[1:]), default=0.0)


def extract_features(hits: Sequence[Hit], query_terms: Sequence[str]) -> dict:
    """Signals about the (re-ranked) top hit and how clearly it stands out from the rest."""
    if not hits:
        return {name: 0.0 for name in FEATURES}
    top = hits[0]
    second = hits[1] if len(hits) > 1 else None
    bm25_top, bm25_other = _score(top, "bm25_full"), _best_other(hits, "bm25_full")
    return {
        "rerank_top1": top.score,
        "rerank_margin": top.score - (second.score if second else 0.0),
        "fused_top1": top.fused * 100,
        "dense_title_margin": (_score(top, "dense_title") - _best_other(hits, "dense_title")) * 10,
        "bm25_margin_ratio": (bm25_top - bm25_other) / max(bm25_top, bm25_other, 1e-9),
        "sym_top1": _score(top, "dense_title_sym") * 10,
        "sym_margin": (_score(top, "dense_title_sym") - _best_other(hits, "dense_title_sym")) * 10,
    }


@dataclass
class LogisticHead:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def probability(self, x: np.ndarray) -> float:
        z = float(((x - self.mean) / self.scale) @ self.coef + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def to_dict(self) -> dict:
        return {"mean": self.mean.round(6).tolist(), "scale": self.scale.round(6).tolist(),
                "coef": self.coef.round(6).tolist(), "intercept": round(self.intercept, 6)}

    @classmethod
    def from_dict(cls, data: dict) -> "LogisticHead":
        return cls(np.array(data["mean"]), np.array(data["scale"]), np.array(data["coef"]), float(data["intercept"]))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> LogisticHead:
    """L2-regularised logistic regression by Newton's method on standardised features (small data, no sklearn)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    xs = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(xs.shape[1])
    penalty = np.eye(xs.shape[1]) * l2
    penalty[-1, -1] = 0.0  # do not shrink the intercept
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xs @ w, -40, 40)))
        gradient = xs.T @ (p - y) + penalty @ w
        hessian = xs.T @ (xs * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return LogisticHead(mean, scale, w[:-1], float(w[-1]))


@dataclass
class ConfidenceModel:
    top1: LogisticHead | None = None
    top3: LogisticHead | None = None
    feature_names: tuple[str, ...] = FEATURES
    meta: dict = field(default_factory=dict)

    def features(self, hits: Sequence[Hit], query_terms: Sequence[str]) -> dict:
        return extract_features(hits, query_terms)

    def vector(self, features: dict) -> np.ndarray:
        return np.array([features[name] for name in self.feature_names], dtype=float)

    def probability_top1(self, features: dict) -> float:
        return self.top1.probability(self.vector(features)) if self.top1 else 0.0

    def probability_top3(self, features: dict) -> float:
        return self.top3.probability(self.vector(features)) if self.top3 else 0.0

    def save(self, path: Path = CONFIDENCE_YML) -> None:
        data = {"features": list(self.feature_names), "meta": self.meta,
                "top1": self.top1.to_dict() if self.top1 else None,
                "top3": self.top3.to_dict() if self.top3 else None}
        header = "# Learned by `madoguchi calibrate` on the LocalgovFAQ dev split; do not edit by hand.\n"
        path.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path = CONFIDENCE_YML) -> "ConfidenceModel":
        if not path.exists():
            return cls()  # uncalibrated: confidence 0 → every question goes to a person (fail safe)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if tuple(data.get("features", ())) != FEATURES:
            return cls()  # learned for another feature set: uncalibrated (hand over) until re-calibrated
        return cls(
            top1=LogisticHead.from_dict(data["top1"]) if data.get("top1") else None,
            top3=LogisticHead.from_dict(data["top3"]) if data.get("top3") else None,
            meta=data.get("meta", {}),
        )
