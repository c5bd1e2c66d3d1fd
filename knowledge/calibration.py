"""`madoguchi calibrate`: learn the re-ranker, the confidence heads and the operating thresholds from labelled
questions (the LocalgovFAQ dev split), with cross-fitting so the confidence model never learns from re-ranker
scores the re-ranker was trained on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from knowledge.confidence import ConfidenceModel, extract_features, fit_logistic
from knowledge.evaluation import EvalQuery
from knowledge.index import Hit
from knowledge.rerank import Reranker, feature_matrix
from knowledge.knowledge_base import KnowledgeBase

FOLDS = 5


@dataclass
class Candidates:
    query: EvalQuery
    terms: list[str]
    hits: list[Hit]
    best: dict[str, float]
    features: np.ndarray  # re-ranker features per hit
    labels: np.ndarray  # relevance grade per hit


def collect_candidates(kb: KnowledgeBase, tenant: str, queries: Sequence[EvalQuery], depth: int) -> list[Candidates]:
    index = kb.index(tenant)
    search = kb.pipeline.get_component("retrieve")
    out = []
    for query in queries:
        terms = kb.tokenizer.tokenize(query.text)
        vector = kb.embedder.embed_queries([query.text])[0]
        runs = index.run_scores(terms, vector)
        hits = index.fuse(runs, search.fusion, search.candidates_per_run, depth)
        best = index.best_scores(runs)
        labels = np.array([query.relevant.get(h.doc.doc_id, 0) for h in hits])
        out.append(Candidates(query, terms, hits, best, feature_matrix(hits, best, terms), labels))
    return out


def fit_reranker(cands: Sequence[Candidates], l2: float) -> Reranker:
    x = np.vstack([c.features for c in cands if len(c.hits)])
    y = np.concatenate([(c.labels > 0).astype(float) for c in cands if len(c.hits)])
    return Reranker(fit_logistic(x, y, l2=l2))


def _reranked(c: Candidates, reranker: Reranker) -> list[Hit]:
    import copy

    return reranker.rerank([copy.copy(h) for h in c.hits], c.best, c.terms)


def out_of_fold_rankings(cands: Sequence[Candidates], l2: float) -> list[list[Hit]]:
    folds = np.arange(len(cands)) % FOLDS
    result: list[list[Hit]] = [[] for _ in cands]
    for fold in range(FOLDS):
        model = fit_reranker([c for c, f in zip(cands, folds) if f != fold], l2)
        for i in np.where(folds == fold)[0]:
            result[i] = _reranked(cands[i], model)
    return result


def confidence_training_set(cands: Sequence[Candidates], rankings: Sequence[list[Hit]]):
    model = ConfidenceModel()
    x = np.array([model.vector(extract_features(h, c.terms)) for c, h in zip(cands, rankings)])
    top1 = np.array([float(bool(h) and c.query.relevant.get(h[0].doc.doc_id, 0) == 2) for c, h in zip(cands, rankings)])
    top3 = np.array([float(any(c.query.relevant.get(x.doc.doc_id, 0) == 2 for x in h[:3]))
                     for c, h in zip(cands, rankings)])
    return x, top1, top3


def fit_confidence(x: np.ndarray, top1: np.ndarray, top3: np.ndarray, l2: float, meta: dict) -> ConfidenceModel:
    return ConfidenceModel(top1=fit_logistic(x, top1, l2=l2), top3=fit_logistic(x, top3, l2=l2), meta=meta)


def out_of_fold_confidence(x: np.ndarray, top1: np.ndarray, top3: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    folds = np.arange(len(x)) % FOLDS
    p1, p3 = np.zeros(len(x)), np.zeros(len(x))
    for fold in range(FOLDS):
        train = folds != fold
        model = fit_confidence(x[train], top1[train], top3[train], l2, {})
        for i in np.where(~train)[0]:
            p1[i] = model.top1.probability(x[i])
            p3[i] = model.top3.probability(x[i])
    return p1, p3


def choose_answer_threshold(p1: np.ndarray, correct: np.ndarray, target_precision: float) -> float:
    """Lowest threshold whose answered set (p ≥ t) keeps the target precision, scanning from the most confident."""
    order = np.argsort(-p1)
    hits = np.cumsum(correct[order])
    precision = hits / np.arange(1, len(order) + 1)
    ok = np.where(precision >= target_precision)[0]
    # Require a minimum answered set so one lucky question does not set the threshold.
    ok = ok[ok >= 4]
    return float(p1[order][ok.max()]) if ok.size else 1.0


def choose_clarify_threshold(p3: np.ndarray, has_top3: np.ndarray, answered: np.ndarray, target: float) -> float:
    """Lowest threshold at which the clarifications offered (not answered, p3 ≥ t) contain the answer ≥ target."""
    rest = ~answered
    order = np.argsort(-p3[rest])
    good = np.cumsum(has_top3[rest][order])
    precision = good / np.arange(1, len(order) + 1)
    ok = np.where(precision >= target)[0]
    ok = ok[ok >= 4]
    return float(p3[rest][order][ok.max()]) if ok.size else 1.0
