#!/usr/bin/env python
"""Grid search of the fusion weights and RRF constant on the LocalgovFAQ **dev** split (never the test split).
Prints the best settings for config/search.yml, by Recall@10 + MRR@10 of the fused order (before re-ranking).

    .venv/bin/python bench/tune_fusion.py
"""
from __future__ import annotations

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

GRID = (0.0, 0.5, 1.0)
K_VALUES = (10, 30, 60)


def rank_matrix(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1)[None, :].repeat(len(scores), 0), axis=1)
    return ranks


def main() -> int:
    settings = get_settings()
    dev = settings.shared_dir / "data" / "localgovfaq" / "queries-dev.jsonl"
    if not dev.exists():
        print(f"{dev} is absent: nothing to tune", file=sys.stderr)
        return 0
    kb = KnowledgeBase(settings)
    index = kb.index("amagasaki")
    queries = read_queries(dev)
    vectors = kb.embedder.embed_queries([q.text for q in queries])
    per_query = [index.run_scores(kb.tokenizer.search_terms(q.text), v) for q, v in zip(queries, vectors)]
    ranks = {run: rank_matrix(np.stack([s[run] for s in per_query])) for run in RUNS}
    ids = [d.doc_id for d in index.docs]
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
