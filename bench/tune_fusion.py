#!/usr/bin/env python
"""Grid search of the fusion weights and RRF constant on the LocalgovFAQ **dev** split (never the test split).
Prints the best settings for config/search.yml, by Recall@10 + MRR@10 of the fused order (before re-ranking).

    .venv/bin/python bench/tune_fusion.py
    .venv/bin/python bench/tune_fusion.py --variant-weights 0,0.5,1,2
    .venv/bin/python bench/tune_fusion.py --feedback [--without-variants]

With --variant-weights the other weights stay as config/search.yml has them and only the weight of the reviewed
question variants' run (knowledge/variants.py) is searched; each dev question is scored without its own variant
(it is one of the reviewed questions), as a new resident's question would be.

With --feedback the settings of the pseudo-relevance-feedback run (a re-ranker signal, not fused) are compared by
what the service shows: the re-ranker learned on the other folds of dev orders each question's candidates, and
each setting's R@10 / MRR@10 / Hit@1 is printed with its mean difference per question from no feedback and that
difference's standard error (225 questions: a change of one standard error is noise).
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from config.settings import get_settings  # noqa: E402
from knowledge.calibration import collect_candidates, out_of_fold_rankings  # noqa: E402
from knowledge.calibration_run import RERANK_L2  # noqa: E402
from knowledge.evaluation import evaluate, mrr_at, read_queries, recall_at  # noqa: E402
from knowledge.fusion import RUNS  # noqa: E402
from knowledge.index import FeedbackConfig  # noqa: E402
from knowledge.knowledge_base import KnowledgeBase  # noqa: E402
from knowledge.search_config import load_search_config  # noqa: E402
from knowledge.variants import question_key  # noqa: E402

GRID = (0.0, 0.5, 1.0)
K_VALUES = (10, 30, 60)
FEEDBACK_GRID = (None, FeedbackConfig(5, 10, 2), FeedbackConfig(5, 5, 2), FeedbackConfig(10, 10, 2),
                 FeedbackConfig(5, 10, 1), FeedbackConfig(5, 10, 3), FeedbackConfig(3, 10, 2))


def rank_matrix(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1)[None, :].repeat(len(scores), 0), axis=1)
    return ranks


def tune_variant_weight(queries, per_query, ids, weights: list[float]) -> None:
    fusion = load_search_config().fusion
    runs = [r for r in per_query[0] if fusion.weights.get(r, 0) > 0 or r == "dense_variant"]
    ranks = {run: rank_matrix(np.stack([s[run] for s in per_query])) for run in runs}
    for weight in weights:
        chosen = {**{r: fusion.weights.get(r, 0.0) for r in runs}, "dense_variant": weight}
        fused = sum(w / (fusion.k + np.minimum(ranks[r], 10_000)) for r, w in chosen.items() if w)
        top = np.argsort(-fused, axis=1)[:, :10]
        metrics = evaluate({q.id: [ids[j] for j in top[i]] for i, q in enumerate(queries)}, queries)
        print(f"dense_variant {weight:<5} recall@10 {metrics['recall@10']:.3f}  mrr@10 {metrics['mrr@10']:.3f}  "
              f"hit@1 {metrics['hit@1_grade2']:.3f}")


def per_question(rankings: dict[str, list[str]], queries) -> np.ndarray:
    """Recall@10, MRR@10 and Hit@1 (grade 2 first; NaN without a grade-2 entry) of each question with a relevant
    entry, as `evaluate` averages them."""
    judged = [q for q in queries if any(g > 0 for g in q.relevant.values())]
    return np.array([[recall_at(rankings[q.id], q.relevant), mrr_at(rankings[q.id], q.relevant),
                      float(bool(rankings[q.id]) and q.relevant.get(rankings[q.id][0], 0) == 2)
                      if q.answerable else np.nan] for q in judged])


def tune_feedback(kb: KnowledgeBase, queries) -> None:
    retriever = kb.pipeline.get_component("retrieve")
    shipped, baseline = retriever.feedback, None
    for setting in FEEDBACK_GRID:
        retriever.feedback = setting
        cands = collect_candidates(kb, "amagasaki", queries, kb.rerank_depth)
        rankings = {c.query.id: [h.doc.doc_id for h in r[:10]]
                    for c, r in zip(cands, out_of_fold_rankings(cands, RERANK_L2))}
        figures = per_question(rankings, queries)
        baseline = figures if baseline is None else baseline
        diff = figures - baseline
        error = np.nanstd(diff, axis=0, ddof=1) / np.sqrt((~np.isnan(diff)).sum(axis=0))
        print(f"{str(setting):<58} " + "  ".join(f"{m:.3f} ({d:+.3f}±{e:.3f})" for m, d, e in
                                               zip(np.nanmean(figures, axis=0), np.nanmean(diff, axis=0), error)))
    retriever.feedback = shipped


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant-weights", help="comma-separated weights of the variants' run to compare")
    parser.add_argument("--feedback", action="store_true",
                        help="compare feedback-run settings by the cross-validated re-ranked order")
    parser.add_argument("--without-variants", action="store_true",
                        help="with --feedback: search without the question variants (a new city's first day)")
    args = parser.parse_args()
    settings = get_settings()
    dev = settings.shared_dir / "data" / "localgovfaq" / "queries-dev.jsonl"
    if not dev.exists():
        print(f"{dev} is absent: nothing to tune", file=sys.stderr)
        return 0
    kb = KnowledgeBase(settings, question_variants=not args.without_variants)
    index = kb.index("amagasaki")
    queries = read_queries(dev)
    if args.feedback:
        print("R@10 / MRR@10 / Hit@1 over questions with a relevant entry (difference from no feedback ± s.e.)")
        tune_feedback(kb, queries)
        return 0
    vectors = kb.embedder.embed_queries([q.text for q in queries])
    per_query = [index.run_scores(kb.tokenizer.search_terms(q.text), v, leave_out={question_key(q.text)})
                 for q, v in zip(queries, vectors)]
    ids = [d.doc_id for d in index.docs]
    if args.variant_weights:
        if index.variants is None:
            print("amagasaki has no question variants (question_variants in its YAML, then madoguchi variants)",
                  file=sys.stderr)
            return 1
        tune_variant_weight(queries, per_query, ids, [float(w) for w in args.variant_weights.split(",")])
        return 0
    ranks = {run: rank_matrix(np.stack([s[run] for s in per_query])) for run in RUNS}
    results = []
    for weights in itertools.product(GRID, repeat=len(RUNS)):
        if not any(weights):
            continue
        for k in K_VALUES:
            fused = sum(w / (k + np.minimum(ranks[r], 10_000)) for r, w in zip(RUNS, weights) if w)
            top = np.argsort(-fused, axis=1)[:, :10]
            metrics = evaluate({q.id: [ids[j] for j in top[i]] for i, q in enumerate(queries)}, queries)
            results.append((metrics["recall@10"] + metrics["mrr@10"], metrics, dict(zip(RUNS, weights)), k))
    results.sort(key=lambda r: -r[0])
    for _, metrics, weights, k in results[:10]:
        print(f"recall@10 {metrics['recall@10']:.3f}  mrr@10 {metrics['mrr@10']:.3f}  k={k}  {weights}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
