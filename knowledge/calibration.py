"""`madoguchi calibrate`: learn the re-ranker and the shared confidence heads from labelled questions (the
LocalgovFAQ dev split), with cross-fitting so the confidence model never learns from re-ranker scores the re-ranker
was trained on; then, for any tenant, a calibration of those heads to the tenant's own labels (per source type
where it has enough of them) and the operating thresholds of the answer policy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from core.policy import clarify_choices
from knowledge.confidence import ANY_KIND, ConfidenceModel, TenantCalibration, extract_features, fit_logistic, fit_platt
from knowledge.evaluation import EvalQuery
from knowledge.index import Hit
from knowledge.rerank import Reranker, feature_matrix
from knowledge.knowledge_base import KnowledgeBase
from knowledge.variants import question_key

FOLDS = 5


@dataclass
class Candidates:
    query: EvalQuery
    terms: list[str]
    hits: list[Hit]
    best: dict[str, float]
    term_weights: dict[str, float]
    features: np.ndarray  # re-ranker features per hit
    labels: np.ndarray  # relevance grade per hit


def collect_candidates(kb: KnowledgeBase, tenant: str, queries: Sequence[EvalQuery], depth: int,
                       batch: int = 64) -> list[Candidates]:
    index = kb.index(tenant)
    search = kb.pipeline.get_component("retrieve")
    out = []
    for start in range(0, len(queries), batch):
        chunk = queries[start:start + batch]
        vectors = kb.embedder.embed_queries([q.text for q in chunk])
        for query, vector in zip(chunk, vectors):
            terms = kb.tokenizer.search_terms(query.text)
            # A labelled question that is also a reviewed variant is measured without itself (as a resident's
            # new question would be), so a calibration never learns from an answer it was given.
            runs = index.search_runs(terms, vector, search.fusion, search.candidates_per_run, search.feedback,
                                     leave_out={question_key(query.text)})
            hits = index.fuse(runs, search.fusion, search.candidates_per_run, depth)
            best, weights = index.best_scores(runs), index.term_weights(terms)
            labels = np.array([query.relevant.get(h.doc.doc_id, 0) for h in hits])
            out.append(Candidates(query, terms, hits, best, weights, feature_matrix(hits, best, terms, weights),
                                  labels))
    return out


def fit_reranker(cands: Sequence[Candidates], l2: float) -> Reranker:
    x = np.vstack([c.features for c in cands if len(c.hits)])
    y = np.concatenate([(c.labels > 0).astype(float) for c in cands if len(c.hits)])
    return Reranker(fit_logistic(x, y, l2=l2))


def _reranked(c: Candidates, reranker: Reranker) -> list[Hit]:
    import copy

    return reranker.rerank([copy.copy(h) for h in c.hits], c.best, c.terms, c.term_weights)


def out_of_fold_rankings(cands: Sequence[Candidates], l2: float) -> list[list[Hit]]:
    folds = np.arange(len(cands)) % FOLDS
    result: list[list[Hit]] = [[] for _ in cands]
    for fold in range(FOLDS):
        model = fit_reranker([c for c, f in zip(cands, folds) if f != fold], l2)
        for i in np.where(folds == fold)[0]:
            result[i] = _reranked(cands[i], model)
    return result


def current_rankings(cands: Sequence[Candidates], reranker: Reranker) -> list[list[Hit]]:
    """The order the service gives today (for a tenant whose labels do not train the shared re-ranker)."""
    return [_reranked(c, reranker) for c in cands]


def answer_outcomes(c: Candidates, ranking: Sequence[Hit]) -> tuple[float, float]:
    """(the top hit answers, the choices a clarification would offer contain an answer), as 0/1."""
    top1 = bool(ranking) and c.query.relevant.get(ranking[0].doc.doc_id, 0) == 2 and c.query.expect != "clarify"
    # A question to clarify (a slot is missing) is served when the choices lead to one of its records.
    needed = 1 if c.query.expect == "clarify" else 2
    choices = any(c.query.relevant.get(h.doc.doc_id, 0) >= needed for h in clarify_choices(ranking))
    return float(top1), float(choices)


def confidence_training_set(cands: Sequence[Candidates], rankings: Sequence[list[Hit]]):
    model = ConfidenceModel()
    x = np.array([model.vector(extract_features(h, c.terms, c.term_weights)) for c, h in zip(cands, rankings)])
    outcomes = np.array([answer_outcomes(c, h) for c, h in zip(cands, rankings)]).reshape(-1, 2)
    return x, outcomes[:, 0], outcomes[:, 1]


def top_kinds(rankings: Sequence[list[Hit]]) -> list[str]:
    """The source type of each question's top hit (calibration is per source type where labels allow)."""
    return [h[0].doc.kind if h else ANY_KIND for h in rankings]


def fit_confidence(x: np.ndarray, top1: np.ndarray, top3: np.ndarray, l2: float, meta: dict) -> ConfidenceModel:
    return ConfidenceModel(top1=fit_logistic(x, top1, l2=l2), top3=fit_logistic(x, top3, l2=l2), meta=meta)


def fold_numbers(n: int, seed: int | None = None) -> np.ndarray:
    """Each question's fold: in file order, or shuffled by `seed` (to repeat a cross-validation on other folds)."""
    folds = np.arange(n) % FOLDS
    return folds if seed is None else np.random.default_rng(seed).permutation(folds)


def out_of_fold_confidence(x: np.ndarray, top1: np.ndarray, top3: np.ndarray, l2: float,
                           seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    folds = fold_numbers(len(x), seed)
    p1, p3 = np.zeros(len(x)), np.zeros(len(x))
    for fold in range(FOLDS):
        train = folds != fold
        model = fit_confidence(x[train], top1[train], top3[train], l2, {})
        for i in np.where(~train)[0]:
            p1[i] = model.top1.probability(x[i])
            p3[i] = model.top3.probability(x[i])
    return p1, p3


def shared_probabilities(model: ConfidenceModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if model.top1 is None or model.top3 is None:
        raise ValueError("no shared confidence model yet: calibrate the shared model first (--shared)")
    return (np.array([model.top1.probability(row) for row in x]), np.array([model.top3.probability(row) for row in x]))


def fit_tenant_calibration(p1: np.ndarray, p3: np.ndarray, top1: np.ndarray, top3: np.ndarray,
                           kinds: Sequence[str], prior: float = 2.0, min_per_kind: int = 30,
                           meta: dict | None = None) -> TenantCalibration:
    """Platt maps of both heads for one tenant: one for all its questions, and one per source type that has at
    least `min_per_kind` labelled questions (fewer would calibrate noise)."""
    kinds_arr = np.asarray(kinds)
    heads: dict[str, dict] = {"top1": {}, "top3": {}}
    groups = [(ANY_KIND, np.ones(len(kinds_arr), dtype=bool))]
    groups += [(kind, kinds_arr == kind) for kind in sorted(set(kinds)) if (kinds_arr == kind).sum() >= min_per_kind]
    if len({k for k in kinds}) == 1:
        groups = groups[:1]  # one source type: its own map would only repeat the tenant's
    for kind, mask in groups:
        heads["top1"][kind] = fit_platt(p1[mask], top1[mask], prior)
        heads["top3"][kind] = fit_platt(p3[mask], top3[mask], prior)
    return TenantCalibration(heads, meta or {})


def calibrated(calibration: TenantCalibration, head: str, p: np.ndarray, kinds: Sequence[str]) -> np.ndarray:
    return np.array([calibration.apply(head, kind, float(v)) for v, kind in zip(p, kinds)])


def out_of_fold_calibrated(p1: np.ndarray, p3: np.ndarray, top1: np.ndarray, top3: np.ndarray,
                           kinds: Sequence[str], prior: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Each question's calibrated probabilities from a calibration fitted without it (honest threshold choice)."""
    folds = np.arange(len(p1)) % FOLDS
    q1, q3 = np.zeros(len(p1)), np.zeros(len(p1))
    kinds = list(kinds)
    for fold in range(FOLDS):
        train = folds != fold
        cal = fit_tenant_calibration(p1[train], p3[train], top1[train], top3[train],
                                     [k for k, t in zip(kinds, train) if t], prior)
        test = np.where(~train)[0]
        q1[test] = calibrated(cal, "top1", p1[test], [kinds[i] for i in test])
        q3[test] = calibrated(cal, "top3", p3[test], [kinds[i] for i in test])
    return q1, q3


def choose_answer_threshold(p1: np.ndarray, correct: np.ndarray, target_precision: float) -> float:
    """Lowest threshold whose answered set (p ≥ t) keeps the target precision, scanning from the most confident."""
    order = np.argsort(-p1)
    hits = np.cumsum(correct[order])
    precision = hits / np.arange(1, len(order) + 1)
    ok = np.where(precision >= target_precision)[0]
    # Require a minimum answered set (4% of the questions, at least 5) so a few lucky ones do not set it.
    ok = ok[ok >= max(4, int(0.04 * len(order)))]
    return float(p1[order][ok.max()]) if ok.size else 1.0


def refitted_probabilities(x: np.ndarray, top1: np.ndarray, top3: np.ndarray,
                           l2: float) -> Callable[[int], np.ndarray]:
    """The shared top-1 head's out-of-fold probabilities, the head refitted on the folds of each seed (for a shared
    model learned from the very labels it is scored on)."""
    return lambda seed: out_of_fold_confidence(x, top1, top3, l2, seed)[0]


def fixed_probabilities(p1: np.ndarray) -> Callable[[int], np.ndarray]:
    """The same probabilities for every seed (a shared model that never saw these labels)."""
    return lambda seed: p1


def nested_answering(probabilities: Callable[[int], np.ndarray], top1: np.ndarray, kinds: Sequence[str],
                     target_precision: float, floors: Sequence[float], prior: float = 2.0,
                     seeds: int = 30) -> list[dict]:
    """How each answer floor does on questions its threshold never saw. `probabilities(seed)`: every question's
    shared-model probability, out of fold (refitted on the folds of `seed` where the shared model is learned
    from these labels). In every fold of every seed, the tenant's calibration and the set-level threshold are
    learned on the other folds, the floor is applied on top, and the held-out questions are answered at that
    threshold. Choosing the threshold where the cross-validated precision just reaches the target overstates
    it (the edge rests on a handful of lucky questions): this measures the whole rule as a new question meets it."""
    kinds = np.asarray(list(kinds))
    counts = {floor: [0, 0] for floor in floors}
    for seed in range(seeds):
        p1, folds = probabilities(seed), fold_numbers(len(top1), seed)
        for fold in range(FOLDS):
            train, test = np.where(folds != fold)[0], np.where(folds == fold)[0]
            q_train, _ = out_of_fold_calibrated(p1[train], p1[train], top1[train], top1[train], kinds[train], prior)
            cal = fit_tenant_calibration(p1[train], p1[train], top1[train], top1[train], kinds[train], prior)
            q_test = calibrated(cal, "top1", p1[test], kinds[test])
            edge = choose_answer_threshold(q_train, top1[train], target_precision)
            for floor in floors:
                answered = q_test >= max(edge, floor)
                counts[floor][0] += int(answered.sum())
                counts[floor][1] += int(top1[test][answered].sum())
    total = len(top1) * seeds
    return [{"floor": floor, "coverage": round(n / total, 4), "precision": round(right / n, 4) if n else None}
            for floor, (n, right) in counts.items()]


def choose_answer_floor(nested: Sequence[dict], target_precision: float) -> float:
    """The lowest floor at which it, and every floor above it, keeps the target precision in nested
    cross-validation; where none does, the target itself (every answered question's calibrated probability must
    reach it)."""
    floor = target_precision
    for row in sorted(nested, key=lambda r: -r["floor"]):
        if row["floor"] >= target_precision:
            continue
        if not row["coverage"] or row["precision"] < target_precision:
            break
        floor = row["floor"]
    return floor


def choose_clarify_threshold(p3: np.ndarray, has_top3: np.ndarray, answered: np.ndarray, target: float) -> float:
    """Lowest threshold at which the clarifications offered (not answered, p3 ≥ t) contain the answer ≥ target."""
    rest = ~answered
    order = np.argsort(-p3[rest])
    good = np.cumsum(has_top3[rest][order])
    precision = good / np.arange(1, len(order) + 1)
    ok = np.where(precision >= target)[0]
    ok = ok[ok >= 4]
    return float(p3[rest][order][ok.max()]) if ok.size else 1.0
