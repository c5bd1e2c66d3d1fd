"""Answering with one document: its record composed as sentences, framed by the answer template with its source
and date (and a note when the official text is Japanese and the resident wrote in another language)."""
from __future__ import annotations

from typing import Any, Sequence

from dialogue.compose import shorten
from dialogue.records import Slots, official_text
from dialogue.steps.deps import StepDeps
from dialogue.steps.stop import escalate
from core.outcomes import EscalationReason, Outcome, Source, TurnResult
from dialogue.context import TurnContext
from knowledge.documents import SourceDocument
from knowledge.freshness import freshness_of, sensitive_policy
from knowledge.index import Hit
from knowledge.structured import SLOT_KINDS, catalogue_for

DISCLAIMER_TIERS = {"life", "health", "property", "deadline"}


def source_of(doc: SourceDocument, score: float = 0.0) -> Source:
    return Source(doc_id=doc.doc_id, title=doc.title, url=doc.url, score=score, as_of=doc.as_of,
                  source=doc.source, citation=doc.citation)


def sources_of(hits: list[Hit]) -> list[Source]:
    return [source_of(h.doc, h.score) for h in hits]


def official_answer(ctx: TurnContext, deps: StepDeps, doc: SourceDocument, slots: Slots | None = None,
                    also: Sequence[SourceDocument] = ()) -> str:
    """The reply text for `doc` (and the records `also` answering the same question: 「電池と蛍光灯は？」, one
    sentence each): the resident's answer, and the operator's draft when a person answers. Past the source's
    review date it says plainly that the information may be out of date."""
    composer = deps.composer(ctx.tenant)
    text = "\n".join(official_text(record, composer, slots) for record in (doc, *also))
    stale = freshness_of(ctx.tenant, doc, ctx.text).stale
    source = source_of(doc)
    if also:  # one source line naming every record quoted
        source.title = "、".join(_unique_titles((doc, *also)))
    parts = [composer.render("answer", ctx.language, text=text, source=source, stale=stale)]
    if ctx.risk is not None and ctx.risk.tier in DISCLAIMER_TIERS:
        parts.append(composer.render("risk_disclaimer", ctx.language, tier=ctx.risk.tier))
    return "\n\n".join(p for p in parts if p)


def _unique_titles(docs: Sequence[SourceDocument]) -> list[str]:
    return list(dict.fromkeys(doc.title for doc in docs))


def _names_its_slots(ctx: TurnContext, deps: StepDeps, doc: SourceDocument) -> bool:
    if doc.kind not in SLOT_KINDS:
        return True
    catalogue = catalogue_for(deps.kb.index(ctx.tenant.id))
    return catalogue.names(catalogue.question(ctx.notes.get("glossed") or ctx.query or ctx.text), doc)


def quoted_text(doc: SourceDocument, deps: StepDeps, tenant: Any, slots: Slots | None) -> str:
    """What of the official text an answer must contain (the output guard's check)."""
    return shorten(official_text(doc, deps.composer(tenant), slots)).text


def answer_with(ctx: TurnContext, deps: StepDeps, doc: SourceDocument, confidence: float,
                sources: list[Source], slots: Slots | None = None, *, by_slots: bool = False,
                also: Sequence[SourceDocument] = ()) -> TurnResult:
    """Answer with `doc` (and `also`, records of the other things the question names). A structured record that
    retrieval found on its own (not by its slots, not picked by the resident or a reviewer) answers only a
    question that names its slots; otherwise a person decides."""
    slots = slots or Slots()
    if not by_slots and ctx.chosen_doc_id is None and not _names_its_slots(ctx, deps, doc):
        result = escalate(ctx, deps, EscalationReason.LOW_CONFIDENCE)
        result.confidence, result.sources = confidence, sources
        ctx.notes["draft"] = official_answer(ctx, deps, doc, slots)
        ctx.notes["unnamed_record"] = doc.doc_id
        return result
    if doc.kind == "hazard_map" and not (doc.meta or {}).get("links"):
        # The record only says that no map is listed: that is no answer, a person can find one.
        result = escalate(ctx, deps, EscalationReason.NO_CONTENT)
        result.confidence, result.sources = confidence, sources
        return result
    freshness = freshness_of(ctx.tenant, doc, ctx.text)
    if freshness.stale:
        ctx.notes["stale_since"] = freshness.review_by.isoformat()
    if freshness.stale and freshness.sensitive and sensitive_policy(ctx.tenant) == "escalate":
        # An old rule about money, eligibility or a deadline is not given as the current answer: a person checks.
        draft = official_answer(ctx, deps, doc, slots)
        result = escalate(ctx, deps, EscalationReason.OUTDATED)
        result.confidence, result.sources = confidence, sources
        ctx.notes["draft"] = draft
        return result
    ctx.result = TurnResult(
        outcome=Outcome.ANSWERED, answer=official_answer(ctx, deps, doc, slots, also), language=ctx.language,
        intent=ctx.intent, risk=ctx.risk.tier if ctx.risk is not None else None, template="answer",
        confidence=confidence, sources=sources,
    )
    ctx.notes["official"] = {"doc_id": doc.doc_id, "slots": slots.to_dict(), "also": [d.doc_id for d in also]}
    return ctx.result
