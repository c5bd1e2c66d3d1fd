"""The holding message an unclaimed hand-over gets at its first-response deadline, per risk tier.

An emergency or crisis never gets the routine 「このままもう少しお待ちください…」 with the office's weekday hours: it
gets the public numbers again (119 / 110 / #7119, or the 24-hour crisis lines), in the resident's language
(templates holding_emergency / holding_crisis). The numbers are those the turn showed (kept in the escalation's
meta), then the tier's defaults from config/risk.yml. Every other tier gets escalation.sla.holding_text.

The composition root gives `HoldingMessages(...).text` to the SLA watcher (escalation/sla.py), which cannot reach the
dialogue's templates and risk policy itself.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from config.tenancy import ROUND_THE_CLOCK_TIERS, Tenant
from dialogue.compose import Composer
from dialogue.risk import RiskPolicy
from escalation.sla import holding_text
from storage import Row


class HoldingMessages:
    def __init__(self, tenants_dir: Path | None = None) -> None:
        self.tenants_dir = tenants_dir
        self._composers: dict[str, Composer] = {}
        self._policies: dict[str, RiskPolicy] = {}

    def text(self, tenant: Tenant | None, escalation: Row, now: datetime) -> str:
        if tenant is None:
            return "お待たせして申し訳ありません。担当者が順番に対応しています。"
        if escalation.risk not in ROUND_THE_CLOCK_TIERS:
            return holding_text(tenant, now)
        meta = escalation.meta or {}
        language = meta.get("language") or tenant.get("language", "ja")
        return self._composer(tenant).render(f"holding_{escalation.risk}", language,
                                             numbers=self.numbers(tenant, escalation.risk, meta, language))

    def numbers(self, tenant: Tenant, tier: str, meta: dict[str, Any], language: str) -> list[tuple[str, str]]:
        """The numbers the turn showed first, then the tier's others (the holding message repeats all of them)."""
        shown = [tuple(pair) for pair in meta.get("risk_numbers") or [] if len(pair) == 2]
        defaults = self._policy(tenant).tier_numbers(tier, language)
        shown_numbers = {number for _label, number in shown}
        return [*shown, *[pair for pair in defaults if pair[1] not in shown_numbers]]

    def _composer(self, tenant: Tenant) -> Composer:
        composer = self._composers.get(tenant.id)
        if composer is None or composer.tenant is not tenant:
            composer = self._composers[tenant.id] = Composer(tenant, tenants_dir=self.tenants_dir)
        return composer

    def _policy(self, tenant: Tenant) -> RiskPolicy:
        if tenant.id not in self._policies:
            self._policies[tenant.id] = RiskPolicy.for_tenant(tenant)
        return self._policies[tenant.id]
