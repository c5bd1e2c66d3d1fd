"""Orchestrates `madoguchi calibrate`: fit, cross-check, choose thresholds, write the learned files."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from config.settings import get_settings
from config.tenancy import Tenant, load_tenants
from core.policy import Thresholds
from knowledge.calibration import (
    choose_answer_threshold, choose_clarify_threshold, collect_candidates,
    confidence_training_set, fit_confidence, fit_reranker, out_of_fold_confidence, out_of_fold_rankings,
)
from knowledge.evaluation import evaluate, read_queries
from knowledge.policy_eval import policy_metrics, risk_coverage
from knowledge.knowledge_base import KnowledgeBase

RERANK_L2 = 10.0
CONFIDENCE_L2 = 3.0


def run_calibration(
    tenant: Tenant, queries_path: Path, target_precision: float, clarify_target: float,
    write_tenants: list[str] | None = None,
) -> dict:
    kb = KnowledgeBase(get_settings())
    queries = read_queries(queries_path)
    cands = collect_candidates(kb, tenant.id, queries, kb.rerank_depth)
    oof = out_of_fold_rankings(cands, RERANK_L2)
    x, top1, top3 = confidence_training_set(cands, oof)
    p1, p3 = out_of_fold_confidence(x, top1, top3, CONFIDENCE_L2)
    answer_t = choose_answer_threshold(p1, top1, target_precision)
    clarify_t = choose_clarify_threshold(p3, top3, p1 >= answer_t, clarify_target)
    thresholds = Thresholds(round(answer_t, 4), round(clarify_t, 4))

    meta = {"trained_on": queries_path.name, "tenant": tenant.id, "queries": len(queries),
            "index_version": kb.index(tenant.id).version}
    reranker = fit_reranker(cands, RERANK_L2)
    reranker.save(meta=meta)
    fit_confidence(x, top1, top3, CONFIDENCE_L2, meta).save()
    for tenant_id in write_tenants or [tenant.id]:
        write_thresholds(tenant_id, thresholds)

    answerable = [q.answerable for q in queries]
    rankings = {c.query.id: [h.doc.doc_id for h in r[:10]] for c, r in zip(cands, oof)}
    return {
        "thresholds": {"answer": thresholds.answer, "clarify": thresholds.clarify},
        "cross_validated_retrieval": evaluate(rankings, queries),
        "cross_validated_policy": policy_metrics(p1, p3, top1.astype(bool), top3.astype(bool), answerable, thresholds),
        "cross_validated_risk_coverage": risk_coverage(p1, top1.astype(bool)),
        "meta": meta,
    }


def write_thresholds(tenant_id: str, thresholds: Thresholds) -> None:
    """Rewrite only the `thresholds:` line of the tenant YAML so its comments survive."""
    path = get_settings().tenants_dir / f"{tenant_id}.yaml"
    text = path.read_text(encoding="utf-8")
    line = f"thresholds: {{answer: {thresholds.answer}, clarify: {thresholds.clarify}}}"
    if re.search(r"^thresholds:.*$", text, flags=re.M):
        text = re.sub(r"^thresholds:.*$", line, text, flags=re.M)
    else:
        text = text.rstrip("\n") + "\n" + line + "\n"
    path.write_text(text, encoding="utf-8")
    load_tenants.cache_clear()
