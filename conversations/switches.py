"""Kill switches per tenant and channel: what is in force for a turn, and the audited way to change it.

    answering off   every question of the tenant goes to a person (the resident is told so; emergencies still get
                    the public numbers first)
    channel off     a message on that channel gets a maintenance reply with the tenant's phone number

The tenant YAML sets the standing state; a supervisor's switch in the console (stored in the database, so every
instance sees it on its next turn) overrides it until it is cleared. Every change is an audit row, in the same
transaction as the change.

    state = switches_in_force(conn, tenant, "line")      # SwitchState(answering=True, channel_open=False, …)
    change_switch(conn, tenant, ANSWERING, off=True, actor="sato", reason="誤回答の調査")
    clear_override(conn, tenant, ANSWERING, actor="sato")   # back to the YAML

Tenant YAML (both default to on):

    switches:
      answering: on
      channels: {line: off, email: on}
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.registry import CHANNELS
from channels.slack import SlackAdapter
from config.tenancy import Tenant
from storage import Connection, Row, append_audit
from storage.switches import clear_switch, set_switch, switch_overrides

ANSWERING = "answering"
# Slack carries operators' alerts, not residents' questions: there is nothing to switch off for residents.
SWITCHABLE_CHANNELS = tuple(name for name in CHANNELS if name != SlackAdapter.name)


def channel_switch(channel: str) -> str:
    return f"channel:{channel}"


@dataclass(frozen=True)
class Switch:
    """One switch of one tenant as a supervisor sees it."""

    tenant: str
    name: str  # "answering" or "channel:<name>"
    on: bool  # what is in force
    configured_on: bool  # what the tenant YAML says
    override: Row | None = None  # the console's, while in force (off, reason, set_by, set_at)

    @property
    def channel(self) -> str | None:
        return self.name.split(":", 1)[1] if self.name.startswith("channel:") else None

    @property
    def set_by(self) -> str | None:
        return self.override.set_by if self.override is not None else None

    @property
    def set_at(self) -> datetime | None:
        return self.override.set_at if self.override is not None else None

    @property
    def reason(self) -> str | None:
        return self.override.reason if self.override is not None else None


@dataclass(frozen=True)
class SwitchState:
    """What a turn must respect."""

    answering: bool = True
    channel_open: bool = True
    decided_by: str = "config"  # "config", or "console" when an override decided it

    @property
    def all_on(self) -> bool:
        return self.answering and self.channel_open


def configured_on(tenant: Tenant, switch: str) -> bool:
    """The tenant YAML's standing state (on unless it says off)."""
    config: dict[str, Any] = tenant.get("switches") or {}
    if switch == ANSWERING:
        return _on(config.get(ANSWERING, True))
    channel = switch.split(":", 1)[1]
    return _on((config.get("channels") or {}).get(channel, True))


def _on(value: Any) -> bool:
    # YAML 1.1 reads on/off as booleans; accept the words too, written as strings.
    if isinstance(value, str):
        return value.strip().lower() not in {"off", "false", "no", "0"}
    return bool(value)


def switches_in_force(conn: Connection, tenant: Tenant, channel: str) -> SwitchState:
    overrides = switch_overrides(conn, tenant.id)
    answering = _one(tenant, ANSWERING, overrides)
    open_ = _one(tenant, channel_switch(channel), overrides) if channel in SWITCHABLE_CHANNELS else None
    decided = "console" if any(s is not None and s.override is not None for s in (answering, open_)) else "config"
    return SwitchState(answering=answering.on, channel_open=open_.on if open_ else True, decided_by=decided)


def switch_board(conn: Connection, tenants: list[Tenant]) -> list[Switch]:
    """Every switch of these tenants, answering first, then each channel."""
    overrides = switch_overrides(conn)
    names = [ANSWERING, *(channel_switch(c) for c in SWITCHABLE_CHANNELS)]
    return [_one(tenant, name, overrides) for tenant in tenants for name in names]


def _one(tenant: Tenant, name: str, overrides: dict[tuple[str, str], Row]) -> Switch:
    override = overrides.get((tenant.id, name))
    configured = configured_on(tenant, name)
    on = (not override.off) if override is not None else configured
    return Switch(tenant.id, name, on, configured, override)


def known_switch(name: str) -> bool:
    return name == ANSWERING or name in {channel_switch(c) for c in SWITCHABLE_CHANNELS}


def change_switch(conn: Connection, tenant: Tenant, name: str, *, off: bool, actor: str,
                  reason: str | None = None) -> None:
    """Turn a switch off (or on) for every instance, and audit it, in the caller's transaction."""
    if not known_switch(name):
        raise ValueError(f"unknown switch {name!r}")
    set_switch(conn, tenant=tenant.id, switch=name, off=off, set_by=actor, reason=reason)
    append_audit(conn, actor=actor, action="switch_off" if off else "switch_on", tenant=tenant.id, target=name,
                 detail={"reason": reason, "configured_on": configured_on(tenant, name)})


def clear_override(conn: Connection, tenant: Tenant, name: str, *, actor: str) -> bool:
    """Back to what the tenant YAML says; audited when there was an override."""
    if not clear_switch(conn, tenant=tenant.id, switch=name):
        return False
    append_audit(conn, actor=actor, action="switch_reset", tenant=tenant.id, target=name,
                 detail={"configured_on": configured_on(tenant, name)})
    return True
