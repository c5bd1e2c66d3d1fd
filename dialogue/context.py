"""A dialogue turn: a context passed through a short list of steps, each of which may stop it with an Outcome."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from config.tenancy import Tenant
from core.corrections import CuratedAnswer
from core.outcomes import TurnResult
from dialogue.risk import RiskAssessment
from knowledge.knowledge_base import Retrieval


@dataclass
class ConversationMemory:
    """What a turn needs to know of the conversation so far (follow-ups, picking a clarification choice)."""

    last_question: str | None = None  # the resident's last question that went to retrieval
    last_outcome: str | None = None
    last_choices: list[dict[str, Any]] = field(default_factory=list)
    last_doc_id: str | None = None  # the document the last answer cited
    language: str | None = None


@dataclass
class TurnContext:
    """Everything a turn learns on its way through the steps; a step that decides the reply sets `result`."""

    tenant: Tenant
    channel: str
    raw_text: str
    memory: ConversationMemory = field(default_factory=ConversationMemory)
    text: str = ""
    language: str = "ja"
    intent: str | None = None
    intent_confidence: float = 0.0
    risk: RiskAssessment | None = None
    query: str = ""  # what goes to retrieval (the question, completed from the conversation for follow-ups)
    query_vector: np.ndarray | None = None  # the dense vector of `text`, shared by intents and retrieval
    chosen_doc_id: str | None = None  # a clarification choice the resident picked
    retrieval: Retrieval | None = None
    curated: CuratedAnswer | None = None  # a reviewer's own answer to this question: it is the reply
    result: TurnResult | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)  # what the steps noticed, for the audit and the operator

    @property
    def stopped(self) -> bool:
        return self.result is not None
