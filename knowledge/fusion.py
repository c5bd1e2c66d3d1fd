"""Rank fusion of several retrieval runs (lexical and dense) into one ranking."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

RUNS = ("bm25_full", "bm25_title", "dense_title", "dense_body", "dense_title_sym")


@dataclass(frozen=True)
class FusionConfig:
    k: float = 60.0
    weights: Mapping[str, float] = field(default_factory=lambda: {r: 1.0 for r in RUNS})

    @classmethod
    def from_dict(cls, data: Mapping) -> "FusionConfig":
        return cls(k=float(data.get("k", 60)), weights=dict(data.get("weights", {r: 1.0 for r in RUNS})))


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n best scores, best first (argpartition keeps this O(N) for large indexes)."""
    n = min(n, scores.shape[0])
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n]
    return part[np.argsort(-scores[part], kind="stable")]


def weighted_rrf(rankings: Mapping[str, np.ndarray], config: FusionConfig) -> dict[int, float]:
    """Weighted reciprocal-rank fusion: Σ_run w_run / (k + rank), rank from 1. Robust to score scales."""
    fused: dict[int, float] = {}
    for run, order in rankings.items():
        weight = config.weights.get(run, 0.0)
        if weight <= 0:
            continue
        for rank, idx in enumerate(order.tolist(), start=1):
            fused[idx] = fused.get(idx, 0.0) + weight / (config.k + rank)
    return fused
