"""`madoguchi eval`: retrieval metrics and the hand-over policy's behaviour on labelled queries."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from config.tenancy import Tenant
from core.policy import Thresholds, clarify_choices
from knowledge.calibration_labels import read_labelled
from knowledge.evaluation import evaluate
from knowledge.knowledge_base import KnowledgeBase
from knowledge.policy_eval import policy_metrics, reliability, risk_coverage


def run_evaluation(kb: KnowledgeBase, tenant: Tenant, queries_path: Path, split: str | None = None) -> dict:
    """Retrieval metrics, the policy's figures and the tenant's risk–coverage curve on a labelled file (relevant
    doc ids, or evidence file + row; follow-up lines are left to bench/judgement.py, which runs conversations)."""
    tenant_id = tenant.id
    queries = [q for q in read_labelled(queries_path, kb.index(tenant_id).docs, split) if not q.context]
    rankings, p1, p3, top1_ok, top3_ok, choices_ok, latencies = {}, [], [], [], [], [], []
    for query in queries:
        result = kb.retrieve(tenant_id, query.text, top_k=10)
        ranked = [h.doc.doc_id for h in result.hits]
        rankings[query.id] = ranked
        p1.append(result.confidence)
        p3.append(result.confidence_top3)
        top1_ok.append(bool(ranked) and query.relevant.get(ranked[0], 0) == 2)
        top3_ok.append(any(query.relevant.get(d, 0) == 2 for d in ranked[:3]))
        choices_ok.append(any(query.relevant.get(h.doc.doc_id, 0) == 2 for h in clarify_choices(result.hits)))
        latencies.append(result.timings_ms["total"])
    answerable = [q.answerable for q in queries]
    thresholds = Thresholds.for_tenant(tenant)
    return {
        "tenant": tenant_id,
        "queries_file": str(queries_path),
        "split": split,
        "retrieval": evaluate(rankings, queries),
        "policy": policy_metrics(p1, p3, top1_ok, top3_ok, answerable, thresholds),
        "risk_coverage": risk_coverage(p1, top1_ok),
        "reliability": {"top1": reliability(p1, top1_ok), "choices": reliability(p3, choices_ok)},
        "latency_ms": {"p50": round(float(np.percentile(latencies, 50)), 2),
                       "p99": round(float(np.percentile(latencies, 99)), 2)},
        "index_version": kb.index(tenant_id).version,
    }
