#!/usr/bin/env python
"""Grid search of the fusion weights and RRF constant on the LocalgovFAQ **dev** split (never the test split).
Prints the best settings for config/search.yml, by Recall@10 + MRR@10 of the fused order (before re-ranking).

    .venv/bin/python bench/tune_fusion.py
    .venv/bin/python bench/tune_fusion.py --variant-weights 0,0.5,1,2

With --variant-weights the other weights stay as config/search.yml has them and only the weight of the reviewed
question variants' run (knowledge/variants.py) is searched; each dev question is scored without its own variant
(it is one of the reviewed questions), as a new resident's question would be.
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
from knowledge.evaluation import evaluate, read_queries  # noqa: E402
from knowledge.fusion import RUNS  # noqa: E402
from knowledge.knowledge_base import KnowledgeBase  # noqa: E402
from knowledge.search_config import load_search_config  # noqa: E402
from knowledge.variants import question_key  # noqa: E402

GRID = (0.0, 0.5, 1.0)
K_VALUES = (10, 30, 60)


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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant-weights", help="comma-separated weights of the variants' run to compare")
    args = parser.parse_args()
    settings = get_settings()
    dev = settings.shared_dir / "data" / "localgovfaq" / "queries-dev.jsonl"
    if not dev.exists():
        print(f"{dev} is absent: nothing to tune", file=sys.stderr)
        return 0
    kb = KnowledgeBase(settings)
    index = kb.index("amagasaki")
    queries = read_queries(dev)
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
