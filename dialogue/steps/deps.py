"""What the steps need from the outside world, built once per engine (and replaced in tests)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from dialogue.compose import Composer
from dialogue.risk import RiskPolicy


@dataclass
class StepDeps:
    kb: Any  # knowledge.knowledge_base.KnowledgeBase
    classifier: Any  # dialogue.intents.IntentClassifier
    composers: dict[str, Composer] = field(default_factory=dict)
    risk_policies: dict[str, RiskPolicy] = field(default_factory=dict)
    # Staff corrections (governance.review): curated answers and documents flagged outdated.
    curated_answer_for: Callable[..., Any] = lambda tenant, question, query_vector=None: None
    outdated_doc_ids: Callable[[str], set] = lambda tenant: set()
    is_open: Callable[[Any], bool | None] = lambda tenant: None  # office hours (None = unknown)
    max_input_chars: int = 1000

    def composer(self, tenant: Any) -> Composer:
        if tenant.id not in self.composers:
            self.composers[tenant.id] = Composer(tenant)
        return self.composers[tenant.id]

    def risk_policy(self, tenant: Any) -> RiskPolicy:
        if tenant.id not in self.risk_policies:
            self.risk_policies[tenant.id] = RiskPolicy.for_tenant(tenant)
        return self.risk_policies[tenant.id]
