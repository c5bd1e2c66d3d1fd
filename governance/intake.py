"""Personal data screened out of what a resident sends, before its first write anywhere (the inbox records the
screened event, so the transcript, turns, audit, escalation, outbox, exports and feedback only ever see that).

    event = screen_event(event, tenant, language)   # conversations/inbox.py, before record_inbound
    event.meta.get(NOT_KEPT_META)            # {"kinds": ["my_number"], "language": "en"}: the turn tells them
    mask_for_staff(text, tenant)             # what the console shows of a resident's words (090-****-5678)

My Number and card numbers are never stored (governance.pii.NEVER_STORED). Every other kind the redactor knows is
replaced too, unless the tenant keeps it (`pii: {keep: [phone]}` in its YAML: a call-back number an operator needs);
an address keeps its town and 丁目 (世田谷区太子堂2丁目〔番地〕), so answers and operators still know the area.
The tenant's own public numbers and addresses are never touched (governance.audit.tenant_redactor).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from config.tenancy import Tenant
from core.messages import InboundEvent
from governance.audit import tenant_redactor
from governance.pii import NEVER_STORED, PLACEHOLDERS, Redactor

NOT_KEPT_META = "pii_not_kept"  # the event's meta key: which never-stored kinds were removed, in which language
# Meta values that are a resident's words (an e-mail's subject and whole body, attachment names, a feedback
# comment). Other meta values are provider ids and flags: only never-stored kinds are looked for there.
CONTENT_KEYS = frozenset({"subject", "body", "attachments", "comment", "quote"})
ID_KEYS = frozenset({"message_id", "in_reply_to", "references", "call_sid", "client_message_id", "ref"})


def kept_kinds(tenant: Tenant | None) -> frozenset[str]:
    """The kinds a tenant stores as written (`pii.keep`); My Number and card numbers cannot be kept."""
    listed = frozenset(((tenant.get("pii") or {}).get("keep") or ()) if tenant is not None else ())
    unknown = listed - set(PLACEHOLDERS)
    if unknown or listed & NEVER_STORED:
        raise ValueError(f"tenant {tenant.id if tenant else '?'}: pii.keep may list only "
                         f"{sorted(set(PLACEHOLDERS) - NEVER_STORED)}, not {sorted(unknown | (listed & NEVER_STORED))}")
    return listed


def screen_event(event: InboundEvent, tenant: Tenant | None, language: str = "ja") -> InboundEvent:
    """The event as it may be stored. When a My Number or card number was removed, its meta says so (with the
    `language` the resident wrote in, which the caller detects), so the turn tells the resident at once."""
    redactor = tenant_redactor(tenant) if tenant is not None else Redactor()
    keep = kept_kinds(tenant)
    text, found = redactor.screen(event.text, keep)
    meta, found_in_meta = _screen_meta(event.meta, redactor, keep)
    not_kept = sorted((found | found_in_meta) & NEVER_STORED)
    if not_kept:
        meta[NOT_KEPT_META] = {"kinds": not_kept, "language": language}
    if text == event.text and meta == event.meta:
        return event
    return replace(event, text=text, meta=meta)


def _screen_meta(meta: dict[str, Any], redactor: Redactor, keep: frozenset[str]) -> tuple[dict[str, Any], set[str]]:
    found: set[str] = set()
    screened: dict[str, Any] = {}
    for key, value in meta.items():
        if key in ID_KEYS:
            screened[key] = value
            continue
        screened[key] = _screen_value(value, redactor, keep if key in CONTENT_KEYS else _ALL_BUT_NEVER_STORED,
                                      found)
    return screened, found


_ALL_BUT_NEVER_STORED = frozenset(PLACEHOLDERS) - NEVER_STORED


def _screen_value(value: Any, redactor: Redactor, keep: frozenset[str], found: set[str], depth: int = 0) -> Any:
    if isinstance(value, str):
        text, kinds = redactor.screen(value, keep)
        found |= kinds
        return text
    if depth >= 6:
        return value
    if isinstance(value, dict):
        return {k: _screen_value(v, redactor, keep, found, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_screen_value(v, redactor, keep, found, depth + 1) for v in value]
    return value


def mask_for_staff(text: str, tenant: Tenant | None) -> str:
    """A resident's words as operators see them: kept personal data masked (090-****-5678), the tenant's own
    public numbers as they are."""
    redactor = tenant_redactor(tenant) if tenant is not None else Redactor()
    return redactor.mask(text)


def screen_text(text: str | None, tenant: Tenant | None) -> str | None:
    """A resident's words that arrive outside an inbound event (the web chat's feedback comment), as storable."""
    if not text:
        return text
    redactor = tenant_redactor(tenant) if tenant is not None else Redactor()
    return redactor.screen(text, kept_kinds(tenant))[0]


def screen_staff_text(text: str) -> str:
    """What an operator writes (a reply, a note, a resolution): a My Number or card number is never stored, even
    copied from a call; everything else an operator may need to write (a phone number, an address) stays."""
    return _STAFF_REDACTOR.screen(text, _ALL_BUT_NEVER_STORED)[0]


_STAFF_REDACTOR = Redactor()
