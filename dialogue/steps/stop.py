"""Stopping a turn with a templated reply: the one place an outcome, its text and its template are set together."""
from __future__ import annotations

from typing import Any

from dialogue.steps.deps import StepDeps
from core.outcomes import EscalationReason, Outcome, TurnResult
from dialogue.context import TurnContext


def reply(ctx: TurnContext, deps: StepDeps, outcome: Outcome, template: str, *,
          reason: EscalationReason | None = None, intent: str | None = None, **context: Any) -> TurnResult:
    text = deps.composer(ctx.tenant).render(template, ctx.language, **context)
    ctx.result = TurnResult(
        outcome=outcome, answer=text, reason=reason, language=ctx.language, intent=intent or ctx.intent,
        risk=ctx.risk.tier if ctx.risk is not None else None, template=template,
    )
    return ctx.result


def escalation_text(ctx: TurnContext, deps: StepDeps, reason: EscalationReason) -> str:
    return deps.composer(ctx.tenant).render("escalated", ctx.language, reason=reason.value,
                                            open_now=deps.is_open(ctx.tenant))


def escalate(ctx: TurnContext, deps: StepDeps, reason: EscalationReason, *, prefix: str = "") -> TurnResult:
    text = escalation_text(ctx, deps, reason)
    ctx.result = TurnResult(
        outcome=Outcome.ESCALATED, answer=f"{prefix}\n\n{text}".strip() if prefix else text, reason=reason,
        language=ctx.language, intent=ctx.intent, risk=ctx.risk.tier if ctx.risk is not None else None,
        template="escalated",
    )
    return ctx.result
