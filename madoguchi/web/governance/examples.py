"""The reply templates as a resident reads them: each rendered by the tenant's own composer with its real contact,
hours, SLA and risk numbers, and example values (marked 〔…〕) where a turn would put its answer or source.
Jinja source means nothing to a resident; the rendered text is what they would get."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from config.settings import DIALOGUE_TEMPLATES_DIR
from config.tenancy import Tenant
from conversations.rate_limits import limits_for
from core.text import MAX_MESSAGE_CHARS
from dialogue.compose import Composer
from dialogue.risk import RiskPolicy
from governance.transparency import TEMPLATE_PURPOSES

log = logging.getLogger(__name__)
EXAMPLE_SOURCE = {"title": "〔出典の名前〕", "url": "〔公式ページのURL〕", "as_of": "2024-07"}
EXAMPLE_CHOICES = [{"n": 1, "title": "〔候補1の見出し〕"}, {"n": 2, "title": "〔候補2の見出し〕"}]
RISK_TEMPLATES = {"emergency": "emergency", "crisis": "crisis", "disaster": "disaster",
                  "holding_emergency": "emergency", "holding_crisis": "crisis"}


def example_values(name: str, tenant: Tenant, risk: RiskPolicy) -> dict[str, Any]:
    """What a turn would pass to template `name`, with marked examples for the resident's own words."""
    if name in RISK_TEMPLATES:
        return {"numbers": risk.tier_numbers(RISK_TEMPLATES[name])}
    return {
        "answer": {"text": "〔公式の文章（出典のとおり）〕", "source": EXAMPLE_SOURCE},
        "clarify": {"choices": EXAMPLE_CHOICES},
        "escalated": {"reason": "requested", "open_now": True},
        "risk_disclaimer": {"tier": "health"},
        "message_cut": {"kept": MAX_MESSAGE_CHARS},
        "ask_slot": {"slot": "municipality"},
        "rate_limited": {"per_minute": limits_for(tenant.raw).resident_per_minute, "retry_after": 60},
    }.get(name, {})


def example_replies(tenant: Tenant, tenants_dir: Path, language: str = "ja") -> list[dict[str, Any]]:
    composer = Composer(tenant, tenants_dir=tenants_dir)
    risk = RiskPolicy.for_tenant(tenant)
    override_dir = Path(tenants_dir) / tenant.id / "templates" / language
    shown = []
    for path in sorted((DIALOGUE_TEMPLATES_DIR / language).glob("*.j2")):
        try:
            text = composer.render(path.stem, language, **example_values(path.stem, tenant, risk))
        except Exception:  # noqa: BLE001 — one template that cannot be shown must not take the page down
            log.exception("transparency: template %s of %s could not be rendered", path.stem, tenant.id)
            continue
        if not text:
            continue  # a template that says nothing in this language (a note for answers from other languages)
        shown.append({"name": path.stem, "purpose": TEMPLATE_PURPOSES.get(path.stem, ""), "text": text,
                      "tenant_override": (override_dir / path.name).exists()})
    return shown
