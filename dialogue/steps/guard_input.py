"""Input guards: normalise what the resident typed (NFKC, invisible characters out, length capped) and detect its
language so replies use the resident's interface language."""
from __future__ import annotations

from dialogue.language import detect_language as detect
from core.text import normalise_input
from dialogue.steps.deps import StepDeps
from dialogue.steps.stop import reply
from core.outcomes import Outcome
from dialogue.context import TurnContext


def normalise(ctx: TurnContext, deps: StepDeps) -> None:
    cleaned = normalise_input(ctx.raw_text, max_chars=deps.max_input_chars)
    ctx.text = cleaned.text
    ctx.query = cleaned.text
    ctx.notes["truncated"] = cleaned.truncated
    ctx.notes["removed_invisible"] = cleaned.removed_invisible
    if not ctx.text:
        reply(ctx, deps, Outcome.DECLINED, "declined", intent="empty")


def detect_language(ctx: TurnContext, deps: StepDeps) -> None:
    # A bare number or a symbol keeps the conversation's language (a clarification pick "2").
    ctx.language = detect(ctx.text, default=ctx.memory.language or ctx.tenant.get("language", "ja"))
    if ctx.language == "other":
        ctx.language = "en"
