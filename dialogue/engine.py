"""The dialogue engine: runs a turn's steps in order until one of them decides the reply.

`run_turn` is pure (no database writes): conversations/turns.py stores what it decided, in one transaction with
the resident's message, the escalation and the outbound reply.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any

from config.settings import Settings, get_settings
from config.tenancy import Tenant, get_tenant
from dialogue.steps import CHECK_STEPS, TURN_STEPS
from dialogue.steps.deps import StepDeps
from dialogue.steps.stop import escalate, reply
from core.outcomes import ConversationMemory, EscalationReason, Outcome, TurnContext, TurnResult

log = logging.getLogger(__name__)


def _default_deps(settings: Settings, kb: Any) -> StepDeps:
    from dialogue.intents import IntentClassifier
    from knowledge.knowledge_base import KnowledgeBase

    kb = kb or KnowledgeBase(settings)
    classifier = IntentClassifier(embedder=kb.embedder, cache_dir=settings.data_dir / "cache" / "intents")
    deps = StepDeps(kb=kb, classifier=classifier)
    _wire_optional_governance(deps)
    return deps


def _wire_optional_governance(deps: StepDeps) -> None:
    """Staff corrections and office hours come from their own areas when those are installed."""
    try:
        from governance.review import curated_answer_for, outdated_doc_ids
    except ImportError:
        pass
    else:
        deps.curated_answer_for, deps.outdated_doc_ids = curated_answer_for, outdated_doc_ids
    try:
        from escalation.hours import is_open
    except ImportError:
        pass
    else:
        deps.is_open = lambda tenant: is_open(tenant, datetime.now(timezone.utc))


class DialogueEngine:
    def __init__(self, settings: Settings | None = None, kb: Any = None, deps: StepDeps | None = None,
                 steps: tuple = TURN_STEPS, checks: tuple = CHECK_STEPS) -> None:
        self.settings = settings or get_settings()
        self.deps = deps or _default_deps(self.settings, kb)
        self.steps, self.checks = steps, checks

    @property
    def kb(self) -> Any:
        return self.deps.kb

    def run_turn(self, tenant: Tenant | str, text: str, memory: ConversationMemory | None = None,
                 channel: str = "web") -> TurnResult:
        tenant = get_tenant(tenant) if isinstance(tenant, str) else tenant
        ctx = TurnContext(tenant=tenant, channel=channel, raw_text=text, memory=memory or ConversationMemory())
        started = time.perf_counter()
        for step in self.steps:
            self._run_step(step, ctx)
            if ctx.stopped:
                break
        if not ctx.stopped:
            escalate(ctx, self.deps, EscalationReason.NO_CONTENT)
        for check in self.checks:
            self._run_step(check, ctx)
        result = ctx.result
        ctx.timings_ms["total"] = (time.perf_counter() - started) * 1e3
        result.timings_ms = ctx.timings_ms
        result.notes = ctx.notes
        result.query = ctx.query
        return result

    def greet(self, tenant: Tenant | str, language: str = "ja") -> TurnResult:
        """The welcome when a resident opens a channel (LINE follow) before asking anything."""
        tenant = get_tenant(tenant) if isinstance(tenant, str) else tenant
        ctx = TurnContext(tenant=tenant, channel="", raw_text="", language=language)
        return reply(ctx, self.deps, Outcome.SMALLTALK, "greeting", intent="greeting")

    def _run_step(self, step: Any, ctx: TurnContext) -> None:
        started = time.perf_counter()
        step(ctx, self.deps)
        ctx.timings_ms[step.__name__] = (time.perf_counter() - started) * 1e3
