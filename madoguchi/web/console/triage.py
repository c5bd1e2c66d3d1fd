"""What an operator needs to triage the queue at a glance: the question, the risk in words, why it came to a person,
and filters by tenant, risk and state."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from dialogue.risk import RiskPolicy
from governance.explain import REASON_WORDS

PREVIEW_CHARS = 80
RISK_LABELS = {"emergency": "緊急（命・事件）", "crisis": "心の危機", "disaster": "災害", "life": "暮らしの困窮",
               "health": "健康", "property": "財産", "deadline": "期限"}
# Tickets whose resident may be in danger now: numbers within reach, and a look no one mistakes for routine.
URGENT_RISKS = ("emergency", "crisis")
STATE_FILTERS = {"": "未対応と対応中", "queued": "待機中", "claimed": "対応中", "waiting_resident": "住民の返信待ち"}
RISK_FILTERS = {"": "すべて", "any": "リスクあり", **RISK_LABELS}


def reason_words(reason: str | None) -> str:
    return REASON_WORDS.get(reason or "", reason or "")


def risk_label(risk: str | None) -> str:
    return RISK_LABELS.get(risk or "", risk or "")


def preview(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1] + "…"


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters, from the query string; an unknown value means "no filter", never an error."""
    tenant: str = ""
    risk: str = ""
    state: str = ""

    @classmethod
    def from_query(cls, params: Any, tenants: list[str]) -> "QueueFilter":
        tenant, risk, state = (str(params.get(key) or "") for key in ("tenant", "risk", "state"))
        return cls(tenant=tenant if tenant in tenants else "", risk=risk if risk in RISK_FILTERS else "",
                   state=state if state in STATE_FILTERS else "")

    def keeps(self, entry: dict[str, Any]) -> bool:
        if self.tenant and entry["tenant"] != self.tenant:
            return False
        if self.risk == "any" and not entry["risk"] or self.risk not in ("", "any") and entry["risk"] != self.risk:
            return False
        return not self.state or entry["state"] == self.state

    @property
    def query(self) -> str:
        return urlencode({k: v for k, v in (("tenant", self.tenant), ("risk", self.risk), ("state", self.state)) if v})


_POLICIES: dict[str, tuple[Any, RiskPolicy]] = {}


def urgent_numbers(tenant: Any | None, risk: str | None) -> list[dict[str, str]]:
    """The public numbers of an emergency or crisis ticket, as tel: links; none for other tickets."""
    if tenant is None or risk not in URGENT_RISKS:
        return []
    cached = _POLICIES.get(tenant.id)
    if cached is None or cached[0] is not tenant:
        cached = _POLICIES[tenant.id] = (tenant, RiskPolicy.for_tenant(tenant))
    return [{"label": label, "number": number, "tel": tel_uri(number)}
            for label, number in cached[1].tier_numbers(str(risk))]


def tel_uri(number: str) -> str:
    digits = "".join(c for c in number if c.isdigit() or c == "#")
    return "tel:" + digits.replace("#", "%23")
