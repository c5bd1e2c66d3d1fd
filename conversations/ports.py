"""What the durable path needs of the running service: the typed seam between the composition root
(madoguchi/composition.py builds a `Services` that has all of it) and the conversations floor."""
from __future__ import annotations

from typing import Protocol

from channels.registry import TenantChannels
from config.settings import Settings
from config.tenancy import Tenant
from conversations.runtime import ChannelRuntime
from core.outcomes import TurnResult
from dialogue.context import ConversationMemory
from escalation.queue import EscalationQueue
from knowledge.knowledge_base import KnowledgeBase
from storage import Database

class TurnEngine(Protocol):
    """The dialogue as the durable path runs it (dialogue.engine.DialogueEngine; a scripted one in tests)."""

    def run_turn(self, tenant: Tenant, text: str, memory: ConversationMemory | None = None,
                 channel: str = "web") -> TurnResult: ...

    def greet(self, tenant: Tenant, language: str = "ja") -> TurnResult: ...

    # While a kill switch is off (conversations/switches.py): everything to a person / a maintenance reply.
    def hand_over_turn(self, tenant: Tenant, text: str, memory: ConversationMemory | None = None,
                       channel: str = "web") -> TurnResult: ...

    def maintenance_turn(self, tenant: Tenant, text: str, memory: ConversationMemory | None = None,
                         channel: str = "web") -> TurnResult: ...

    # While the inbox is past the tenant's limits (conversations/backpressure.py): the busy notice to a new resident.
    def busy_notice(self, tenant: Tenant, text: str, *, wait_minutes: int | None = None) -> TurnResult: ...

class ConversationServices(Protocol):
    settings: Settings
    tenants: dict[str, Tenant]
    db: Database
    queue: EscalationQueue
    engine: TurnEngine
    knowledge: KnowledgeBase  # the index version each turn used
    channels: dict[str, TenantChannels]
    runtime: ChannelRuntime

    def tenant(self, tenant_id: str) -> Tenant: ...
