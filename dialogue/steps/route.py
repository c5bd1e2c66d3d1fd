"""Decide and compose: answer with the official text when the calibrated confidence is high enough, offer the
top candidates when one of them probably answers, otherwise hand over to a person with a draft for the operator."""
from __future__ import annotations

from core.corrections import CuratedAnswer
from core.policy import Thresholds, clarify_choices, decide
from dialogue.records import Slots
from dialogue.steps.answer import answer_with, official_answer, sources_of
from dialogue.steps.deps import StepDeps
from dialogue.steps.stop import escalate
from core.outcomes import EscalationReason, Outcome, Source, TurnResult
from dialogue.context import TurnContext
from knowledge.index import Hit


def route(ctx: TurnContext, deps: StepDeps) -> None:
    if ctx.curated is not None:
        _answer_curated(ctx, deps, ctx.curated)
        return
    retrieval = ctx.retrieval
    hits = retrieval.hits if retrieval is not None else []
    sources = sources_of(hits)
    if ctx.chosen_doc_id is not None and hits:
        _answer(ctx, deps, hits[0], retrieval.confidence_top3, sources)
        return
    if not hits:
        escalate(ctx, deps, EscalationReason.NO_CONTENT)
        return
    decision = decide(retrieval.confidence, retrieval.confidence_top3, Thresholds.for_tenant(ctx.tenant))
    # The questions the policy itself decides are the ones its thresholds are calibrated on (`madoguchi
    # calibrate --decided-only`): not greetings, risks, structured or curated answers, or a picked choice.
    ctx.notes["policy"] = decision
    if decision == "answer":
        _answer(ctx, deps, hits[0], retrieval.confidence, sources)
    elif decision == "clarify":
        _clarify(ctx, deps, hits, sources)
    else:
        # The choices were unlikely to hold the answer, so the resident is not asked to pick: the operator gets
        # them, first among the hand-over's sources, and the first one's official text as the draft.
        result = escalate(ctx, deps, EscalationReason.LOW_CONFIDENCE)
        _attach(result, retrieval.confidence, sources_of(_choices_first(hits)))
        ctx.notes["draft"] = official_answer(ctx, deps, hits[0].doc)


def _attach(result: TurnResult, confidence: float, sources: list[Source]) -> None:
    result.confidence = confidence
    result.sources = sources


def _choices_first(hits: list[Hit]) -> list[Hit]:
    """The choices a clarification would have offered (one per distinct title), then the other candidates."""
    choices = clarify_choices(hits)
    return choices + [h for h in hits if h not in choices]


def _answer(ctx: TurnContext, deps: StepDeps, hit: Hit, confidence: float, sources: list[Source]) -> None:
    chosen = ctx.notes.get("choice") or {}
    answer_with(ctx, deps, hit.doc, confidence, sources, Slots.from_dict(chosen.get("slots")))


def _clarify(ctx: TurnContext, deps: StepDeps, hits: list[Hit], sources: list[Source]) -> None:
    choices = [{"n": n, "doc_id": hit.doc.doc_id, "title": hit.doc.title}
               for n, hit in enumerate(clarify_choices(hits), start=1)]
    text = deps.composer(ctx.tenant).render("clarify", ctx.language, choices=choices)
    ctx.result = TurnResult(
        outcome=Outcome.CLARIFY, answer=text, language=ctx.language, intent=ctx.intent, choices=choices,
        risk=ctx.risk.tier if ctx.risk is not None else None, template="clarify",
    )
    _attach(ctx.result, ctx.retrieval.confidence_top3, sources)


def _answer_curated(ctx: TurnContext, deps: StepDeps, curated: CuratedAnswer) -> None:
    as_of = curated.updated_at.date().isoformat() if getattr(curated, "updated_at", None) else None
    source = Source(doc_id=f"curated:{curated.id}", title=curated.source_title, url=curated.source_url, score=1.0,
                    as_of=as_of, source="curated")
    text = deps.composer(ctx.tenant).render("answer", ctx.language, text=curated.answer, source=source)
    ctx.result = TurnResult(
        outcome=Outcome.ANSWERED, answer=text, confidence=1.0, sources=[source], language=ctx.language,
        intent=ctx.intent, risk=ctx.risk.tier if ctx.risk is not None else None, template="answer",
    )
