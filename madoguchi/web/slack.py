"""Slack interactivity: POST /slack/interactions[/{tenant}], the 「対応する」 button of an alert (escalation/
slack_alerts.py posts them). The tenant whose signing secret verifies the request takes it (fail closed: 401 when
none does); the press is answered within Slack's 3 seconds and the alert is edited afterwards."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from channels.base import PayloadError, SignatureError
from channels.slack import SlackAdapter
from escalation.slack_alerts import handle_claim_press, interaction_payload, slack_adapters
from madoguchi.api.responses import BODY_ERRORS, json_errors
from madoguchi.composition import Services, get_services

router = APIRouter(tags=["slack"], responses=json_errors(*BODY_ERRORS, 401, 403, 404, 422))


@router.post("/slack/interactions")
async def slack_interactions(request: Request, background: BackgroundTasks,
                             services: Services = Depends(get_services)) -> Response:
    return await _slack_interaction(request, background, services, None)


@router.post("/slack/interactions/{tenant_id}")
async def slack_interactions_for_tenant(tenant_id: str, request: Request, background: BackgroundTasks,
                                        services: Services = Depends(get_services)) -> Response:
    return await _slack_interaction(request, background, services, tenant_id)


async def _slack_interaction(request: Request, background: BackgroundTasks, services: Services,
                             tenant_id: str | None) -> Response:
    raw = await request.body()
    adapter = _verified_slack_adapter(services, raw, request.headers, tenant_id)
    try:
        events = adapter.parse(raw, request.headers)
    except PayloadError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    payload = interaction_payload(raw)
    for event in (e for e in events if e.kind == "claim"):
        press = handle_claim_press(services, adapter, event, payload)
        if press.update is not None:
            background.add_task(press.update)  # after the answer: Slack wants one within 3 s
        return JSONResponse(press.reply)
    return Response(status_code=200)


def _verified_slack_adapter(services: Services, raw: bytes, headers: Any,
                            tenant_id: str | None) -> SlackAdapter:
    """The tenant whose signing secret verifies the request (fail closed: 401 when none does). Several tenants
    may share one Slack app; then the alert channel the button was pressed in decides."""
    candidates = slack_adapters(services)
    if tenant_id is not None:
        candidates = {k: v for k, v in candidates.items() if k == tenant_id}
    verified = []
    for adapter in candidates.values():
        try:
            adapter.verify(raw, headers)
            verified.append(adapter)
        except SignatureError:
            continue
    if not verified:
        raise HTTPException(status_code=401, detail="signature invalid")
    channel_id = ((interaction_payload(raw).get("container") or {}).get("channel_id"))
    return next((a for a in verified if a.alert_channel == channel_id), verified[0])
