"""Every turn leaves an audit record: what was asked (redacted), what the assistant did and why, from which
sources (with their as-of dates), under which index, configuration and template versions, and how long each step
took. The dialogue calls `record_turn_with_audit` inside its turn transaction:

    turn_id = record_turn_with_audit(conn, tenant=tenant, conversation_id=cid, channel="line",
                                     question=text, result=turn_result, inbound_event_id=event_id)

It writes the `turns` row (the working record the dashboard aggregates) and an `audit_log` row (action "turn",
target the turn id, detail["conversation"] the conversation), which the database refuses to update or delete.
`madoguchi explain` reads the audit rows, so an explanation shows what was decided at the time, thresholds
included, whatever changed since.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from config import versions
from config.settings import Settings, get_settings
from config.tenancy import Tenant
from core.outcomes import TurnResult
from core.policy import Thresholds
from governance.pii import Redactor
from storage import Connection, append_audit, new_id, record_turn

TURN_ACTION = "turn"
ASSISTANT_ACTOR = "assistant"


def tenant_redactor(tenant: Tenant) -> Redactor:
    """The tenant's own public numbers and addresses survive redaction, so records still say where to call."""
    contact = tenant.contact or {}
    keep = tuple(str(contact[key]) for key in ("phone", "email", "address") if contact.get(key))
    return _redactor(keep)


@lru_cache(maxsize=64)
def _redactor(keep: tuple[str, ...]) -> Redactor:
    return Redactor(keep=keep)


def config_version(tenant: Tenant, settings: Settings | None = None) -> str:
    """The configuration version a turn records (config.versions: tenant YAML + shared config files)."""
    return versions.config_version(tenant.id, (settings or get_settings()).tenants_dir)


def template_version(tenant: Tenant, settings: Settings | None = None) -> str:
    """The version of the tenant's reply templates (config.versions: every default and override .j2 file)."""
    return versions.template_version(tenant.id, (settings or get_settings()).tenants_dir)


@lru_cache(maxsize=64)
def _manifest(path: str, mtime_ns: int) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def index_manifest(tenant_id: str, settings: Settings | None = None) -> dict[str, Any] | None:
    """The tenant's index manifest (var/index/<tenant>/manifest.json), or None before the first ingest."""
    path = (settings or get_settings()).index_dir / tenant_id / "manifest.json"
    try:
        return _manifest(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return None


def current_index_version(tenant_id: str, settings: Settings | None = None) -> str | None:
    manifest = index_manifest(tenant_id, settings)
    return manifest.get("index_version") if manifest else None


def thresholds_for(tenant: Tenant) -> dict[str, float]:
    thresholds = Thresholds.for_tenant(tenant)
    return {"answer": thresholds.answer, "clarify": thresholds.clarify}


def _value(item: Any) -> Any:
    return getattr(item, "value", item)


def _sources(result: Any) -> list[dict[str, Any]]:
    return [source.to_dict() if hasattr(source, "to_dict") else dict(source) for source in result.sources]


def turn_audit_detail(tenant: Tenant, *, conversation_id: str, turn_id: str, channel: str, question: str,
                      result: Any, index_version: str | None, settings: Settings | None = None) -> dict[str, Any]:
    """The explanation of one turn, with the question redacted; nothing in it is raw resident text."""
    redactor = tenant_redactor(tenant)
    language = result.language or "ja"
    return {
        "conversation": conversation_id, "turn_id": turn_id, "channel": channel, "language": language,
        "question": redactor.redact(question or ""),
        "outcome": _value(result.outcome), "reason": _value(result.reason),
        "confidence": round(float(result.confidence or 0.0), 4), "thresholds": thresholds_for(tenant),
        "intent": result.intent, "risk": result.risk,
        "sources": redactor.redact_value(_sources(result)),
        "choices": len(result.choices or []),
        "index_version": index_version, "config_version": config_version(tenant, settings),
        "template": result.template, "template_version": template_version(tenant, settings),
        "timings_ms": {key: round(float(value), 2) for key, value in (result.timings_ms or {}).items()},
    }


def record_turn_with_audit(conn: Connection, *, tenant: Tenant, conversation_id: str, channel: str, question: str,
                           result: TurnResult, inbound_event_id: int | None = None, index_version: str | None = None,
                           turn_id: str | None = None, settings: Settings | None = None) -> str:
    """Write the turns row and its append-only audit row in the caller's transaction; returns the turn id.

    `result` is what the dialogue produced; `question` the resident's raw text (only its redaction is stored).
    `index_version` defaults to the version in the tenant's index manifest on disk.
    """
    turn_id = turn_id or new_id()
    version = index_version or current_index_version(tenant.id, settings)
    detail = turn_audit_detail(tenant, conversation_id=conversation_id, turn_id=turn_id, channel=channel,
                               question=question, result=result, index_version=version, settings=settings)
    record_turn(
        conn, tenant=tenant.id, conversation_id=conversation_id, outcome=detail["outcome"],
        inbound_event_id=inbound_event_id, reason=detail["reason"], confidence=detail["confidence"],
        risk=result.risk, intent=result.intent, language=detail["language"], sources=detail["sources"],
        timings=detail["timings_ms"], index_version=version, config_version=detail["config_version"],
        redacted_question=detail["question"], turn_id=turn_id, channel=channel, template=result.template,
        template_version=detail["template_version"],
    )
    append_audit(conn, actor=ASSISTANT_ACTOR, action=TURN_ACTION, tenant=tenant.id, target=turn_id, detail=detail)
    return turn_id
