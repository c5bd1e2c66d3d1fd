"""Urgency of a message before its turn runs: the inbox claims the most urgent first, so during a backlog an
emergency is not answered after hundreds of questions about garbage days.

    inbox_priority(tenant, "家が火事です")   # 2: the emergency numbers must reach the resident first

Only the words are read (the risk tiers' patterns, config/risk.yml with the tenant's overrides): it runs where the
webhook records the event, so it must cost microseconds, not an embedding. The turn still assesses the risk in full.
"""
from __future__ import annotations

from config.tenancy import Tenant
from dialogue.risk import assess_risk

# Tiers whose action puts a person and the public numbers first outrank those that only escalate.
PRIORITY_BY_ACTION = {"numbers_first": 2, "escalate": 1}


def inbox_priority(tenant: Tenant, text: str) -> int:
    if not text or not text.strip():
        return 0
    return PRIORITY_BY_ACTION.get(assess_risk(text, tenant=tenant).action or "", 0)
