"""The dialogue engine: runs a turn's steps in order until one of them decides the reply.

`run_turn` is pure (no database writes): conversations/turns.py stores what it decided, in one transaction with
the resident's message, the escalation and the outbound reply. What the steps need of other floors (staff
corrections, office hours) comes in through StepDeps, which the composition root builds.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from config.settings import Settings, get_settings
from config.tenancy import Tenant
from core.outcomes import EscalationReason, Outcome, TurnResult
from dialogue.context import ConversationMemory, TurnContext
from dialogue.intents import IntentClassifier
from dialogue.steps import CHECK_STEPS, NOTICE_STEPS, SWITCHED_OFF_STEPS, TURN_STEPS
from dialogue.steps.deps import StepDeps
from dialogue.steps.stop import escalate, reply
from knowledge.knowledge_base import KnowledgeBase

log = logging.getLogger(__name__)

Step = Callable[[TurnContext, StepDeps], None]


def default_deps(settings: Settings, kb: KnowledgeBase | None = None) -> StepDeps:
    """Steps over the tenant indexes with no staff corrections and unknown office hours (the composition root
    adds those)."""
    kb = kb or KnowledgeBase(settings)
    classifier = IntentClassifier(embedder=kb.embedder, cache_dir=settings.data_dir / "cache" / "intents")
    return StepDeps(kb=kb, classifier=classifier, tenants_dir=settings.tenants_dir,
                    tenant_nlu_path=lambda tenant: settings.tenants_dir / tenant.id / "nlu.yml")


class DialogueEngine:
    def __init__(self, settings: Settings | None = None, kb: KnowledgeBase | None = None,
                 deps: StepDeps | None = None, steps: tuple[Step, ...] = TURN_STEPS,
                 checks: tuple[Step, ...] = CHECK_STEPS) -> None:
        self.settings = settings or get_settings()
        self.deps = deps or default_deps(self.settings, kb)
        self.steps, self.checks = steps, checks

    @property
    def kb(self) -> KnowledgeBase:
        return self.deps.kb

    def run_turn(self, tenant: Tenant, text: str, memory: ConversationMemory | None = None,
                 channel: str = "web") -> TurnResult:
        # Every step reads the index the turn started with, even if a new version is swapped in meanwhile.
        with self.kb.pinned(tenant.id) as index:
            result = self._run_steps(tenant, text, memory, channel)
        result.index_version = index.version if index is not None else None
        return result

    def _run_steps(self, tenant: Tenant, text: str, memory: ConversationMemory | None, channel: str) -> TurnResult:
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
        assert result is not None  # route, or escalate above, always decides
        ctx.timings_ms["total"] = (time.perf_counter() - started) * 1e3
        result.timings_ms = ctx.timings_ms
        result.notes = ctx.notes
        result.query = ctx.query
        return result

    def hand_over_turn(self, tenant: Tenant, text: str, memory: ConversationMemory | None = None,
                       channel: str = "web") -> TurnResult:
        """Answering is switched off (conversations/switches.py): the question goes to a person, unanswered.
        Emergencies still get the public numbers first (the risk step decides those)."""
        ctx = self._switched_off(tenant, text, memory, channel)
        if not ctx.stopped:
            escalate(ctx, self.deps, EscalationReason.ANSWERING_OFF)
        return self._finish(ctx, "answering_off")

    def maintenance_turn(self, tenant: Tenant, text: str, memory: ConversationMemory | None = None,
                         channel: str = "web") -> TurnResult:
        """The channel is switched off: a maintenance reply with the tenant's phone number (an emergency still gets
        the public numbers and a person)."""
        ctx = self._switched_off(tenant, text, memory, channel)
        if not ctx.stopped:
            reply(ctx, self.deps, Outcome.DECLINED, "channel_off", intent="channel_off")
        return self._finish(ctx, "channel_off")

    def busy_notice(self, tenant: Tenant, text: str, *, wait_minutes: int | None = None) -> TurnResult:
        """The inbox is past the tenant's limits: 混み合っています, in the resident's language, with the phone number.
        Not a turn: the question is answered later, in its place (conversations/backpressure.py)."""
        ctx = TurnContext(tenant=tenant, channel="", raw_text=text)
        for step in NOTICE_STEPS:
            self._run_step(step, ctx)
        return reply(ctx, self.deps, Outcome.DECLINED, "busy", intent="busy", wait_minutes=wait_minutes)

    def _switched_off(self, tenant: Tenant, text: str, memory: ConversationMemory | None,
                      channel: str) -> TurnContext:
        ctx = TurnContext(tenant=tenant, channel=channel, raw_text=text, memory=memory or ConversationMemory())
        for step in SWITCHED_OFF_STEPS:
            self._run_step(step, ctx)
            if ctx.stopped:
                break
        return ctx

    def _finish(self, ctx: TurnContext, switch: str) -> TurnResult:
        # No index version: a switched-off turn never reads the knowledge base (so a broken index cannot stop
        # the switch); conversations/turns.py records the version in force.
        result = ctx.result
        assert result is not None
        ctx.notes["switch"] = switch
        result.timings_ms, result.notes, result.query = ctx.timings_ms, ctx.notes, ctx.query
        return result

    def greet(self, tenant: Tenant, language: str = "ja") -> TurnResult:
        """The welcome when a resident opens a channel (LINE follow) before asking anything."""
        ctx = TurnContext(tenant=tenant, channel="", raw_text="", language=language)
        return reply(ctx, self.deps, Outcome.SMALLTALK, "greeting", intent="greeting")

    def _run_step(self, step: Step, ctx: TurnContext) -> None:
        started = time.perf_counter()
        step(ctx, self.deps)
        ctx.timings_ms[step.__name__] = (time.perf_counter() - started) * 1e3
