"""Risk tiers: which messages must get public numbers at once, an escalation, or a disclaimer.

The tiers, their patterns and the numbers live in config/risk.yml; a tenant overrides any part in a `risk:`
section of its own YAML (its disaster contact, a local line instead of #7119 …). The highest-priority tier that
matches wins; the numbers shown are those of the signals that matched (「虐待」 brings 189 first), or the tier's
defaults when only the intent put the message there.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from config.settings import PROJECT_ROOT
from config.tenancy import Tenant, get_tenant
from core.text import normalise_input

DEFAULT_RISK_PATH = PROJECT_ROOT / "config" / "risk.yml"
ACTIONS = ("numbers_first", "escalate", "disclaimer")
# Number keys filled from the tenant rather than from the numbers table.
TENANT_CONTACT = "tenant_contact"
DISASTER_CONTACT = "disaster_contact"


@dataclass(frozen=True)
class RiskAssessment:
    tier: str | None
    matched: list[str] = field(default_factory=list)
    numbers: list[tuple[str, str]] = field(default_factory=list)  # (label, number), most relevant first
    action: str | None = None

    @property
    def escalate(self) -> bool:
        """Emergencies, crises and disaster victims go to a person at once; disclaimer tiers do not."""
        return self.action in ("numbers_first", "escalate")

    @property
    def numbers_first(self) -> bool:
        return self.action == "numbers_first"


NO_RISK = RiskAssessment(tier=None)


@dataclass(frozen=True)
class Signal:
    name: str
    patterns: tuple[re.Pattern[str], ...]
    numbers: tuple[str, ...]

    def find(self, text: str) -> list[str]:
        return [m.group(0) for p in self.patterns for m in [p.search(text)] if m]


@dataclass(frozen=True)
class Tier:
    name: str
    action: str
    intents: frozenset[str]
    default_numbers: tuple[str, ...]
    signals: tuple[Signal, ...]


def merge_config(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists, strings, null) in the override replaces."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"risk config {where}: bad pattern {pattern!r}: {exc}") from exc


def _signal(tier: str, raw: dict[str, Any]) -> Signal:
    name = raw.get("name", "?")
    patterns = tuple(_compile(p, f"{tier}.{name}") for p in raw.get("patterns", []))
    return Signal(name=name, patterns=patterns, numbers=tuple(raw.get("numbers", [])))


def _tier(name: str, raw: dict[str, Any]) -> Tier:
    action = raw.get("action")
    if action not in ACTIONS:
        raise ValueError(f"risk tier {name}: action must be one of {ACTIONS}, not {action!r}")
    return Tier(
        name=name, action=action, intents=frozenset(raw.get("intents") or []),
        default_numbers=tuple(raw.get("default_numbers", [])),
        signals=tuple(_signal(name, s) for s in raw.get("signals", [])),
    )


class RiskPolicy:
    """The tiers of one tenant: `assess(text, intent)` says which tier a message falls in and whom to call."""

    def __init__(self, config: dict[str, Any], contact: dict[str, Any] | None = None) -> None:
        self.tiers = tuple(_tier(name, raw) for name, raw in (config.get("tiers") or {}).items())
        self.numbers = dict(config.get("numbers") or {})
        self.contact = contact or {}
        self.disaster_contact = config.get("disaster_contact")
        self._check_number_keys()

    def _check_number_keys(self) -> None:
        known = set(self.numbers) | {TENANT_CONTACT, DISASTER_CONTACT}
        for tier in self.tiers:
            used = set(tier.default_numbers).union(*(s.numbers for s in tier.signals))
            if used - known:
                raise ValueError(f"risk tier {tier.name}: unknown numbers {sorted(used - known)}")

    @classmethod
    def for_tenant(cls, tenant: Tenant | None, path: Path = DEFAULT_RISK_PATH) -> "RiskPolicy":
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if tenant is None:
            return cls(config)
        return cls(merge_config(config, tenant.get("risk") or {}), contact=tenant.contact)

    def assess(self, text: str, intent: str | None = None, language: str = "ja") -> RiskAssessment:
        cleaned = normalise_input(text).text
        for tier in self.tiers:
            matched_signals = [(s, s.find(cleaned)) for s in tier.signals]
            matched_signals = [(s, found) for s, found in matched_signals if found]
            if matched_signals or intent in tier.intents:
                keys = [k for s, _ in matched_signals for k in s.numbers] or list(tier.default_numbers)
                matched = [m for _, found in matched_signals for m in found]
                return RiskAssessment(tier.name, matched, self._resolve(keys, language), tier.action)
        return NO_RISK

    def tier_numbers(self, tier_name: str, language: str = "ja") -> list[tuple[str, str]]:
        """A tier's default numbers (label, number): what a risk hand-over must put within reach."""
        tier = next((t for t in self.tiers if t.name == tier_name), None)
        return self._resolve(list(tier.default_numbers), language) if tier else []

    def _resolve(self, keys: list[str], language: str) -> list[tuple[str, str]]:
        resolved: list[tuple[str, str]] = []
        for key in keys:
            entry = self._entry(key, language)
            if entry and entry not in resolved:
                resolved.append(entry)
        return resolved

    def _entry(self, key: str, language: str) -> tuple[str, str] | None:
        if key == TENANT_CONTACT:
            return _contact_entry(self.contact)
        if key == DISASTER_CONTACT:
            return _contact_entry(self.disaster_contact or {}) or _contact_entry(self.contact)
        spec = self.numbers.get(key)
        if not spec or not spec.get("number"):
            return None  # a tenant switched this number off (e.g. no #7119 in its prefecture)
        return _label(spec.get("label"), language, key), str(spec["number"])


def _label(label: Any, language: str, fallback: str) -> str:
    if isinstance(label, dict):
        return str(label.get(language) or label.get("ja") or fallback)
    return str(label or fallback)


def _contact_entry(contact: dict[str, Any]) -> tuple[str, str] | None:
    number = contact.get("number") or contact.get("phone")
    if not number:
        return None
    return str(contact.get("label") or contact.get("office") or "窓口"), str(number)


@lru_cache(maxsize=64)
def policy_for(tenant_id: str | None) -> RiskPolicy:
    """One policy per tenant and process (the patterns compile once)."""
    return RiskPolicy.for_tenant(get_tenant(tenant_id) if tenant_id else None)


def assess_risk(
    text: str, intent: str | None = None, tenant: Tenant | str | None = None, language: str = "ja",
) -> RiskAssessment:
    """Risk tier of a message; `tenant` (a Tenant or its id) adds its overrides and contacts."""
    if isinstance(tenant, Tenant):
        return _policy_for_object(tenant).assess(text, intent, language)
    return policy_for(tenant).assess(text, intent, language)


_BY_OBJECT: dict[str, tuple[Tenant, RiskPolicy]] = {}


def _policy_for_object(tenant: Tenant) -> RiskPolicy:
    # Tenant holds dicts, so it cannot key an lru_cache; remember the last policy built per tenant id instead.
    cached = _BY_OBJECT.get(tenant.id)
    if cached is None or cached[0] is not tenant:
        cached = _BY_OBJECT[tenant.id] = (tenant, RiskPolicy.for_tenant(tenant))
    return cached[1]
