"""Calibrated confidence: a logistic model over retrieval signals that mean the same in every corpus, then a
per-tenant (and per source type) calibration learned from what that municipality has.

Two heads: P(top hit answers the question) decides whether to answer, P(one of the top 3 does) whether a
clarifying choice is worth offering. No raw score is trusted: e5 cosines sit in a narrow band that moves with the
corpus, and BM25 scores grow with the query's length, so every signal is a rank, a margin measured against the
other candidates of the same question, an agreement between the lexical and dense runs, or a share of the
question's words. The shared model learns how they combine (on the LocalgovFAQ dev split); a tenant's calibration
(`madoguchi calibrate --tenant T`) then maps its output to that tenant's own rate of right answers, per source type
where the tenant has labels for it (a garbage-dictionary hit and an FAQ hit are not equally often right).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import yaml

from knowledge.index import Hit
from knowledge.logistic import LogisticHead, fit_logistic  # noqa: F401  (fit_logistic: re-exported)
from knowledge.rerank import coverage, query_words

CONFIDENCE_YML = Path(__file__).resolve().parent.parent / "config" / "confidence.yml"

# Few and strong: with a few hundred labelled questions a compact set calibrates best (chosen by cross-validation
# on the dev split, against a larger set of ranks and margins and the earlier set of raw cosines). The one raw
# score kept, the question-to-title similarity of the top hit (both embedded as questions), is on the embedder's
# scale, not a corpus's: 1.0 means the resident asked exactly what the entry's title asks, in any corpus.
FEATURES = ("rerank_top1", "rerank_margin", "doc_runs_agree", "variant_vote", "idf_title_coverage", "sym_margin_z",
            "sym_top1")
# The document runs whose first place is compared ("do the lexical and the dense searches agree?"), and apart from
# them the reviewed questions' vote (the question-variant run ranks the top hit first). A tenant without variants
# has no vote, which reads as "the reviewed questions do not back it": never more confident for lacking reviews.
# Against the earlier four-run agreement (no title-only BM25, no vote), nested cross-validation on dev (answer
# floor 0.88) answered 6.2% → 7.4% of the questions at 91.0% → 95.2% precision.
AGREEMENT_RUNS = ("bm25_full", "bm25_title", "dense_title", "dense_body", "dense_title_sym")
VARIANT_RUN = "dense_variant"
ANY_KIND = "*"
# Features look at the candidates an answer shows (the top 10), in calibration as in service.
FEATURE_DEPTH = 10


def _margin_z(hits: Sequence[Hit], run: str) -> float:
    """The top hit's score minus the best other candidate's, in standard deviations of the candidates' scores:
    a margin that means the same whatever the corpus's cosine band."""
    scores = np.array([h.scores.get(run, 0.0) for h in hits])
    if len(scores) < 3:
        return 0.0
    spread = float(scores.std()) or 1e-6
    return float(np.clip((scores[0] - scores[1:].max()) / spread, -5.0, 5.0))


def extract_features(hits: Sequence[Hit], query_terms: Sequence[str],
                     term_weights: Mapping[str, float] | None = None) -> dict:
    """Signals about the (re-ranked) top hit and how clearly it stands out from the rest."""
    if not hits:
        return {name: 0.0 for name in FEATURES}
    hits = hits[:FEATURE_DEPTH]
    top = hits[0]
    second = hits[1].score if len(hits) > 1 else 0.0
    words = query_words(query_terms)
    return {
        "rerank_top1": top.score,
        "rerank_margin": top.score - second,
        "doc_runs_agree": sum(top.ranks.get(run) == 1 for run in AGREEMENT_RUNS) / len(AGREEMENT_RUNS),
        "variant_vote": float(top.ranks.get(VARIANT_RUN) == 1),
        "idf_title_coverage": coverage(words, set(top.title_terms or []), term_weights or {}),
        "sym_margin_z": _margin_z(hits, "dense_title_sym"),
        "sym_top1": top.scores.get("dense_title_sym", 0.0) * 10,
    }


@dataclass(frozen=True)
class Platt:
    """A calibration of one head for one tenant (and source type): P = σ(a·logit(p) + b)."""

    a: float = 1.0
    b: float = 0.0

    def apply(self, p: float) -> float:
        p = min(max(p, 1e-6), 1 - 1e-6)
        z = self.a * math.log(p / (1 - p)) + self.b
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def fit_platt(p: np.ndarray, y: np.ndarray, prior: float = 2.0, iterations: int = 50) -> Platt:
    """Platt scaling of probabilities `p` to the outcomes `y`, shrunk towards no change (a=1, b=0) by `prior` (an
    L2 weight): a tenant or source type with few labels moves the shared model's probabilities only a little."""
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    x = np.stack([np.log(p / (1 - p)), np.ones(len(p))], axis=1)
    w, centre = np.array([1.0, 0.0]), np.array([1.0, 0.0])
    for _ in range(iterations):
        q = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -40, 40)))
        gradient = x.T @ (q - y) + prior * (w - centre)
        hessian = x.T @ (x * (q * (1 - q))[:, None]) + prior * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Platt(float(w[0]), float(w[1]))


@dataclass
class TenantCalibration:
    """Per head ("top1", "top3"): a Platt map per source type, `*` for every type without its own."""

    heads: dict[str, dict[str, Platt]] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def apply(self, head: str, kind: str, p: float) -> float:
        maps = self.heads.get(head, {})
        platt = maps.get(kind) or maps.get(ANY_KIND)
        return platt.apply(p) if platt else p

    def to_dict(self) -> dict:
        return {"meta": self.meta, **{head: {kind: [round(m.a, 6), round(m.b, 6)] for kind, m in maps.items()}
                                      for head, maps in self.heads.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> "TenantCalibration":
        heads = {head: {kind: Platt(float(ab[0]), float(ab[1])) for kind, ab in (data.get(head) or {}).items()}
                 for head in ("top1", "top3")}
        return cls(heads, data.get("meta", {}))


@dataclass
class ConfidenceModel:
    top1: LogisticHead | None = None
    top3: LogisticHead | None = None
    feature_names: tuple[str, ...] = FEATURES
    meta: dict = field(default_factory=dict)
    tenants: dict[str, TenantCalibration] = field(default_factory=dict)

    def features(self, hits: Sequence[Hit], query_terms: Sequence[str],
                 term_weights: Mapping[str, float] | None = None) -> dict:
        return extract_features(hits, query_terms, term_weights)

    def vector(self, features: dict) -> np.ndarray:
        return np.array([features[name] for name in self.feature_names], dtype=float)

    def probability_top1(self, features: dict, tenant: str | None = None, kind: str = ANY_KIND) -> float:
        return self._probability("top1", self.top1, features, tenant, kind)

    def probability_top3(self, features: dict, tenant: str | None = None, kind: str = ANY_KIND) -> float:
        return self._probability("top3", self.top3, features, tenant, kind)

    def shared_probability(self, head: str, features: dict) -> float:
        """The shared model's probability, before any tenant's calibration."""
        model = self.top1 if head == "top1" else self.top3
        return model.probability(self.vector(features)) if model else 0.0

    def _probability(self, name: str, head: LogisticHead | None, features: dict, tenant: str | None,
                     kind: str) -> float:
        if head is None:
            return 0.0
        p = head.probability(self.vector(features))
        calibration = self.tenants.get(tenant or "")
        return calibration.apply(name, kind, p) if calibration else p

    def save(self, path: Path = CONFIDENCE_YML) -> None:
        data = {"features": list(self.feature_names), "meta": self.meta,
                "top1": self.top1.to_dict() if self.top1 else None,
                "top3": self.top3.to_dict() if self.top3 else None,
                "tenants": {t: c.to_dict() for t, c in sorted(self.tenants.items())}}
        header = ("# Learned by `madoguchi calibrate`: the shared model on the LocalgovFAQ dev split, each tenant's\n"
                  "# calibration on that tenant's own labels; do not edit by hand.\n")
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
            tenants={t: TenantCalibration.from_dict(c) for t, c in (data.get("tenants") or {}).items()},
        )
