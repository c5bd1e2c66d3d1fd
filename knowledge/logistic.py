"""A small L2-regularised logistic regression (Newton's method, numpy only): the re-ranker and the confidence
heads are both one of these, learned from a few hundred labelled questions."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


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
