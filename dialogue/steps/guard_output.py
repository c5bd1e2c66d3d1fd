"""Output guard: an answer may only cite documents of this tenant's index and quote the text composed from their
own fields; a clarification may only offer such documents. Anything else is handed to a person rather than shown."""
from __future__ import annotations

from dialogue.records import Slots
from dialogue.steps.answer import quoted_text
from dialogue.steps.deps import StepDeps
from dialogue.steps.stop import escalate
from core.outcomes import EscalationReason, Outcome
from dialogue.context import TurnContext


def guard_output(ctx: TurnContext, deps: StepDeps) -> None:
    result = ctx.result
    if result is None or result.outcome not in (Outcome.ANSWERED, Outcome.CLARIFY) or ctx.curated is not None:
        return
    index = deps.kb.index(ctx.tenant.id)  # an answer or a choice exists only if the index does
    if result.outcome is Outcome.ANSWERED:
        official = ctx.notes.get("official") or {}
        ids = [official.get("doc_id", ""), *official.get("also", [])] if result.sources else []
        docs = [index.document(doc_id) for doc_id in ids]
        slots = Slots.from_dict(official.get("slots"))
        # Each record is composed again from the indexed document: the answer must carry exactly that text.
        grounded = bool(docs) and all(doc is not None and quoted_text(doc, deps, ctx.tenant, slots) in result.answer
                                      for doc in docs)
    else:
        grounded = all(index.document(c["doc_id"]) is not None for c in result.choices)
    if not grounded:
        ctx.notes["guard_output"] = "ungrounded"
        sources, confidence = result.sources, result.confidence
        escalated = escalate(ctx, deps, EscalationReason.LOW_CONFIDENCE)
        escalated.sources, escalated.confidence = sources, confidence
