"""What the steps need from the outside world, built once per engine (and replaced in tests)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from dialogue.compose import Composer
from dialogue.risk import RiskPolicy


@dataclass
class StepDeps:
    kb: Any  # knowledge.service.KnowledgeBase
    classifier: Any  # dialogue.intents.IntentClassifier
    composers: dict[str, Composer] = field(default_factory=dict)
    risk_policies: dict[str, RiskPolicy] = field(default_factory=dict)
    # Staff corrections (governance.review): curated answers and documents flagged outdated.
    curated_answer_for: Callable[..., Any] = lambda tenant, question, query_vector=None: None
    outdated_doc_ids: Callable[[str], set] = lambda tenant: set()
    is_open: Callable[[Any], bool | None] = lambda tenant: None  # office hours (None = unknown)
    max_input_chars: int = 1000
    # Tenants with intent examples of their own (config/tenants/<id>/nlu.yml) get a classifier of their own.
    tenant_classifiers: dict[str, Any] = field(default_factory=dict)
    tenant_nlu_path: Callable[[Any], Any] = lambda tenant: None

    def classifier_for(self, tenant: Any) -> Any:
        path = self.tenant_nlu_path(tenant)
        if path is None or not path.exists():
            return self.classifier
        if tenant.id not in self.tenant_classifiers:
            from dialogue.intents import IntentClassifier

            base = self.classifier
            self.tenant_classifiers[tenant.id] = IntentClassifier(
                base.nlu_path, embedder=base._embedder, cache_dir=base.cache_dir, k=base.k, margin=base.margin,
                use_patterns=base.use_patterns, extra_nlu_paths=[path])
        return self.tenant_classifiers[tenant.id]

    def composer(self, tenant: Any) -> Composer:
        if tenant.id not in self.composers:
            self.composers[tenant.id] = Composer(tenant)
        return self.composers[tenant.id]

    def risk_policy(self, tenant: Any) -> RiskPolicy:
        if tenant.id not in self.risk_policies:
            self.risk_policies[tenant.id] = RiskPolicy.for_tenant(tenant)
        return self.risk_policies[tenant.id]
