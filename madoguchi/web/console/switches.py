"""The kill switches on the supervisor page: a supervisor turns answering, or one channel, off for a tenant.

    POST /console/switches    form: tenant, switch ("answering" | "channel:<name>"), action ("off" | "on" |
                              "reset": back to the tenant YAML), reason; the session's CSRF token

Only supervisors and admins, and only for their own tenants (another tenant answers 404, as everywhere in the
console). The rule, the override every instance reads and the audit row are conversations/switches.py's.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from conversations.switches import ANSWERING, Switch, change_switch, clear_override, known_switch, switch_board
from madoguchi.composition import Services, get_services
from madoguchi.web.staff_auth import Operator, checked_operator

# The staff console is a browser UI (pages, forms, the page's own polling), not an API: like the chat page it
# stays out of the OpenAPI document.
router = APIRouter(include_in_schema=False)

MAX_REASON_CHARS = 200
NOTICES = {"switched": "切り替えました。全インスタンスで次の問い合わせから反映されます。",
           "switch_invalid": "切り替えできませんでした。入力内容を確認してください。"}
CHANNEL_LABELS = {"web": "Web チャット", "line": "LINE", "voice": "電話（Twilio）", "email": "メール",
                  "rest": "Rasa REST"}


def switch_label(switch: Switch) -> str:
    if switch.name == ANSWERING:
        return "自動応答"
    return CHANNEL_LABELS.get(switch.channel or "", switch.channel or switch.name)


def switch_rows(services: Services, operator: Operator) -> list[dict[str, Any]]:
    """What the supervisor page lists: every switch of the operator's tenants, with who changed it and why."""
    tenants = [services.tenants[t] for t in operator.tenants if t in services.tenants]
    with services.db.read() as conn:
        board = switch_board(conn, tenants)
    return [{"tenant": s.tenant, "name": s.name, "label": switch_label(s), "on": s.on,
             "configured_on": s.configured_on, "overridden": s.override is not None, "set_by": s.set_by,
             "set_at": s.set_at, "reason": s.reason} for s in board]


@router.post("/console/switches")
async def flip_switch(request: Request, services: Services = Depends(get_services),
                      operator: Operator = Depends(checked_operator)) -> Response:
    if not operator.is_supervisor:
        raise HTTPException(status_code=403, detail="supervisors only")
    form = {k: str(v) for k, v in (await request.form()).items()}
    tenant_id, name, action = form.get("tenant", ""), form.get("switch", ""), form.get("action", "")
    if not operator.may_see(tenant_id) or tenant_id not in services.tenants:
        raise HTTPException(status_code=404, detail="no such tenant for this operator")
    if not known_switch(name) or action not in {"off", "on", "reset"}:
        return _back("switch_invalid")
    reason = form.get("reason", "").strip()[:MAX_REASON_CHARS] or None
    tenant = services.tenants[tenant_id]
    with services.db.transaction() as conn:
        if action == "reset":
            clear_override(conn, tenant, name, actor=operator.username)
        else:
            change_switch(conn, tenant, name, off=action == "off", actor=operator.username, reason=reason)
    return _back("switched")


def _back(notice: str) -> RedirectResponse:
    return RedirectResponse(f"/console/supervisor?notice={notice}#switches", status_code=303)
