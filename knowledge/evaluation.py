"""Retrieval metrics for graded relevance (LocalgovFAQ): grades 1 and 2 count as relevant for Recall/MRR/nDCG
(nDCG gain 2^grade − 1, as in the public benchmark); Hit@1 counts grade 2 only, over queries that have one."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence


@dataclass(frozen=True)
class EvalQuery:
    id: str
    text: str
    relevant: dict[str, int]  # doc_id → grade
    # What the right behaviour is when a labelled set says so (answer | clarify | handover); otherwise a question
    # with a grade-2 document is to be answered and one without it handed over.
    expect: str | None = None
    context: tuple[str, ...] = ()  # the resident's earlier messages of the conversation (a follow-up's setting)

    @property
    def answerable(self) -> bool:
        if self.expect is not None:
            return self.expect == "answer" and 2 in self.relevant.values()
        return 2 in self.relevant.values()


def read_queries(path: Path) -> list[EvalQuery]:
    queries = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                text = row.get("query") or row.get("question")
                relevant = {str(k): int(v) for k, v in (row.get("relevant") or {}).items()}
                queries.append(EvalQuery(str(row["id"]), text, relevant))
    return queries


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    if not wanted:
        return 0.0
    return len(wanted & set(ranked[:k])) / len(wanted)


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    for pos, doc_id in enumerate(ranked[:k], start=1):
        if relevant.get(doc_id, 0) > 0:
            return 1.0 / pos
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    dcg = sum((2 ** relevant.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def evaluate(rankings: Mapping[str, Sequence[str]], queries: Sequence[EvalQuery], k: int = 10) -> dict[str, float]:
    """Mean metrics over queries with at least one relevant entry (Hit@1 over those with a grade-2 entry)."""
    judged = [q for q in queries if any(g > 0 for g in q.relevant.values())]
    answerable = [q for q in judged if q.answerable]
    mean = lambda values: sum(values) / len(values) if values else 0.0  # noqa: E731
    return {
        "queries": len(judged),
        f"recall@{k}": mean([recall_at(rankings[q.id], q.relevant, k) for q in judged]),
        f"mrr@{k}": mean([mrr_at(rankings[q.id], q.relevant, k) for q in judged]),
        f"ndcg@{k}": mean([ndcg_at(rankings[q.id], q.relevant, k) for q in judged]),
        "hit@1_grade2": mean([float(q.relevant.get(rankings[q.id][0], 0) == 2) if rankings[q.id] else 0.0
                              for q in answerable]),
        "queries_with_grade2": len(answerable),
    }
