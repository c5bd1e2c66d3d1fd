"""What the steps need from the outside world, built once per engine by the composition root (and replaced in
tests). Staff corrections and office hours belong to other floors (governance, escalation): they are passed in
here, so the dialogue never imports them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from config.tenancy import Tenant
from core.corrections import CuratedAnswer
from dialogue.compose import Composer
from dialogue.intents import IntentClassifier
from dialogue.risk import RiskPolicy
from knowledge.knowledge_base import KnowledgeBase


class Corrections(Protocol):
    """Reviewers' corrections (governance.review.StaffCorrections): their own answers, documents not to cite."""

    def curated_answer_for(self, tenant: str, question: str, *,
                           query_vector: np.ndarray | None = None) -> CuratedAnswer | None: ...

    def outdated_doc_ids(self, tenant: str) -> set[str]: ...


class NoCorrections:
    """No reviewer has corrected anything (an engine without a database: benchmarks, tests)."""

    def curated_answer_for(self, tenant: str, question: str, *,
                           query_vector: np.ndarray | None = None) -> CuratedAnswer | None:
        return None

    def outdated_doc_ids(self, tenant: str) -> set[str]:
        return set()


@dataclass
class StepDeps:
    kb: KnowledgeBase
    classifier: IntentClassifier
    corrections: Corrections = field(default_factory=NoCorrections)
    is_open: Callable[[Tenant], bool | None] = lambda tenant: None  # office hours now (None = unknown)
    tenants_dir: Path | None = None  # where tenants override reply templates (None: settings.tenants_dir)
    composers: dict[str, Composer] = field(default_factory=dict)
    risk_policies: dict[str, RiskPolicy] = field(default_factory=dict)
    max_input_chars: int = 1000
    # Tenants with intent examples of their own (config/tenants/<id>/nlu.yml) get a classifier of their own.
    tenant_classifiers: dict[str, IntentClassifier] = field(default_factory=dict)
    tenant_nlu_path: Callable[[Tenant], Path | None] = lambda tenant: None

    def classifier_for(self, tenant: Tenant) -> IntentClassifier:
        path = self.tenant_nlu_path(tenant)
        if path is None or not path.exists():
            return self.classifier
        if tenant.id not in self.tenant_classifiers:
            base = self.classifier
            self.tenant_classifiers[tenant.id] = IntentClassifier(
                base.nlu_path, embedder=base._embedder, cache_dir=base.cache_dir, k=base.k, margin=base.margin,
                use_patterns=base.use_patterns, extra_nlu_paths=[path])
        return self.tenant_classifiers[tenant.id]

    def composer(self, tenant: Tenant) -> Composer:
        if tenant.id not in self.composers:
            self.composers[tenant.id] = Composer(tenant, tenants_dir=self.tenants_dir)
        return self.composers[tenant.id]

    def risk_policy(self, tenant: Tenant) -> RiskPolicy:
        if tenant.id not in self.risk_policies:
            self.risk_policies[tenant.id] = RiskPolicy.for_tenant(tenant)
        return self.risk_policies[tenant.id]
