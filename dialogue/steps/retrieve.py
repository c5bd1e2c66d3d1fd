"""Find the official text: a staff-curated answer first, else the tenant's hybrid index (minus documents staff
flagged outdated), or the document the resident picked from a clarification."""
from __future__ import annotations

import time

from dialogue.steps.deps import StepDeps
from dialogue.context import TurnContext
from knowledge.index import Hit
from knowledge.knowledge_base import IndexMissing


def retrieve(ctx: TurnContext, deps: StepDeps) -> None:
    started = time.perf_counter()
    try:
        vector = ctx.query_vector if ctx.query == ctx.text else None  # a completed follow-up is embedded anew
        ctx.retrieval = deps.kb.retrieve(ctx.tenant.id, ctx.query, top_k=10, vector=vector)
    except IndexMissing:
        ctx.notes["index_missing"] = True  # still being built (first start) or never ingested: a person answers
        return
    outdated = deps.corrections.outdated_doc_ids(ctx.tenant.id)
    if outdated:
        ctx.retrieval.hits = [h for h in ctx.retrieval.hits if h.doc.doc_id not in outdated]
    ctx.timings_ms.update({f"retrieve.{k}": v for k, v in ctx.retrieval.timings_ms.items()})
    if ctx.chosen_doc_id is None:
        _apply_curated(ctx, deps)
    if ctx.chosen_doc_id is not None:
        _put_chosen_first(ctx, deps)
    ctx.timings_ms["retrieve.wall"] = (time.perf_counter() - started) * 1e3


def _apply_curated(ctx: TurnContext, deps: StepDeps) -> None:
    """A reviewer's correction wins: their own answer text, or the document they marked as the right one."""
    curated = deps.corrections.curated_answer_for(ctx.tenant.id, ctx.query, query_vector=ctx.retrieval.vector)
    if curated is None:
        return
    if curated.answer:
        ctx.curated = curated  # the reply is the reviewer's own text (route answers with it)
    elif curated.doc_id:
        ctx.chosen_doc_id = curated.doc_id
        ctx.notes["curated_source"] = curated.id


def _put_chosen_first(ctx: TurnContext, deps: StepDeps) -> None:
    hits = ctx.retrieval.hits
    chosen = next((h for h in hits if h.doc.doc_id == ctx.chosen_doc_id), None)
    if chosen is None:
        doc = deps.kb.index(ctx.tenant.id).document(ctx.chosen_doc_id)
        if doc is None:
            ctx.chosen_doc_id = None  # the index changed under the conversation: decide afresh
            return
        chosen = Hit(doc=doc, score=0.0, rank=1)
    ctx.retrieval.hits = [chosen] + [h for h in hits if h is not chosen]
