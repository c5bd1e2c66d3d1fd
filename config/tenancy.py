"""Tenant configuration: one YAML file per municipality under config/tenants/.

A tenant names its sources, display name, contacts for hand-over, thresholds and risk tiers. Paths in sources
may use {shared} for the shared data directory so nothing from ../shared is copied into the repository.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from config.settings import get_settings


@dataclass(frozen=True)
class SourceSpec:
    loader: str
    path: str
    options: dict[str, Any] = field(default_factory=dict)

    def resolved_path(self, shared_dir: Path) -> Path:
        return Path(self.path.format(shared=shared_dir))


@dataclass(frozen=True)
class Tenant:
    id: str
    display_name: str
    sources: tuple[SourceSpec, ...]
    contact: dict[str, Any]
    thresholds: dict[str, float]
    raw: dict[str, Any]

    def threshold(self, name: str, default: float) -> float:
        return float(self.thresholds.get(name, default))

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


SLA_TIERS = ("emergency", "crisis", "high", "routine")
ROUND_THE_CLOCK_TIERS = frozenset({"emergency", "crisis"})


def sla_minutes(sla: Any, key: str, tier: str = "routine") -> float | None:
    """Minutes of `sla[key]` (first_response_minutes, resolution_minutes) for a tier: one number for every tier, or
    a mapping per tier ({emergency: 2, crisis: 2, high: 10, routine: 15}); a tier the mapping leaves out falls
    back to high (emergency, crisis), then routine."""
    value = (sla or {}).get(key)
    if isinstance(value, dict):
        for candidate in (tier, "high" if tier in ROUND_THE_CLOCK_TIERS else tier, "routine"):
            if value.get(candidate) is not None:
                return float(value[candidate])
        return None
    return None if value is None else float(value)


def routine_sla(sla: Any) -> dict[str, Any]:
    """The SLA as residents of a routine hand-over are told it (templates, the transparency page): numbers only."""
    flat = dict(sla or {})
    for key in ("first_response_minutes", "resolution_minutes"):
        minutes = sla_minutes(sla, key)
        if minutes is not None:
            flat[key] = int(minutes) if minutes.is_integer() else minutes
    return flat


class UnknownTenant(KeyError):
    pass


def _source(entry: dict[str, Any]) -> SourceSpec:
    entry = dict(entry)
    # A website source has no path: it names its start URL or sitemap instead.
    return SourceSpec(loader=entry.pop("loader"), path=entry.pop("path", ""), options=entry)


def load_tenant_file(path: Path) -> Tenant:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tenant_id = raw.get("id") or path.stem
    return Tenant(
        id=tenant_id,
        display_name=raw.get("display_name", tenant_id),
        sources=tuple(_source(s) for s in raw.get("sources", [])),
        contact=raw.get("contact", {}),
        thresholds=raw.get("thresholds", {}),
        raw=raw,
    )


@lru_cache
def load_tenants(tenants_dir: Path | None = None) -> dict[str, Tenant]:
    directory = tenants_dir or get_settings().tenants_dir
    tenants = [load_tenant_file(p) for p in sorted(Path(directory).glob("*.yaml"))]
    return {t.id: t for t in tenants}


def get_tenant(tenant_id: str, tenants_dir: Path | None = None) -> Tenant:
    tenants = load_tenants(tenants_dir)
    if tenant_id not in tenants:
        raise UnknownTenant(f"unknown tenant {tenant_id!r}; known: {', '.join(sorted(tenants))}")
    return tenants[tenant_id]
