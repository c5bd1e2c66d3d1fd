"""Channel webhooks: one route for every channel that records what it is sent, and the Twilio voice routes.

    POST /webhooks/{channel}/{tenant}                  LINE (X-Line-Signature), HTTP inbound mail (Authorization:
                                                       Bearer $MADOGUCHI_<TENANT>_EMAIL_INBOUND_TOKEN), and any
                                                       channel added to channels/registry.py; 200 {"received", "new"}
    POST /webhooks/twilio/voice/{tenant}               call start → greeting TwiML
    POST /webhooks/twilio/voice/{tenant}/gather        speech or keys → answer / hold / transfer TwiML
    POST /webhooks/twilio/voice/{tenant}/poll          back from a hold → answer or hold again
    POST /webhooks/twilio/voice/{tenant}/noinput       silence → keypad fallback, then goodbye
    POST /webhooks/twilio/voice/{tenant}/status        status callback (call ended) → empty TwiML

Every route: the tenant's adapter verifies the request first (fail closed: 401 without a signature, 403 with a
wrong one, and nothing stored), parses it (400 with the reason when malformed), records each event in the inbox
(unique on channel + the provider's id, so a redelivery stores nothing new) and answers at once; the turn is the
inbox worker's (conversations/inbox_worker.py), the reply the outbox sender's (conversations/outbox_sender.py).
A channel that is off for the tenant answers 404 saying why. Twilio is the one channel that hears its answer in
the response: see conversations/call_flow.py.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from channels.base import Channel, MissingSignature, PayloadError, SignatureError, WebhookOff
from channels.registry import CHANNELS, channel_class
from channels.voice import VoiceAdapter
from conversations.call_flow import VoiceFlow
from conversations.inbox import record_events
from core.messages import InboundEvent
from madoguchi.api.responses import BODY_ERRORS, json_errors, media
from madoguchi.composition import Services, get_services

log = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks", tags=["channels"], responses=json_errors(*BODY_ERRORS, 401, 403, 404, 422))
ServicesDep = Annotated[Services, Depends(get_services)]

TWIML = "application/xml"
TWIML_RESPONSE = media(TWIML, "TwiML: what Twilio says or does next")
# Labels are bounded: a tenant or channel that does not exist (anyone can put one in the URL) counts as "unknown".
WEBHOOK_REJECTS = Counter("madoguchi_webhook_rejects", "Webhook requests refused, by reason",
                          ["channel", "tenant", "reason"])


def reject(channel: str, tenant: str, reason: str, status: int, detail: str) -> HTTPException:
    """The refusal, counted (reasons: unknown_tenant, channel_off, missing_signature, bad_signature, malformed)."""
    WEBHOOK_REJECTS.labels(channel if channel in CHANNELS else "unknown", tenant, reason).inc()
    return HTTPException(status, detail)


def channel_adapter(services: Services, tenant: str, channel: str) -> Any:
    """The tenant's adapter for `channel`, or 404 saying why there is none."""
    if tenant not in services.tenants:
        raise reject(channel, "unknown", "unknown_tenant", 404, f"unknown tenant {tenant!r}")
    built = services.channels.get(tenant)
    adapter = built.get(channel) if built is not None else None
    if adapter is None:
        reason = (built.off.get(channel) if built is not None else None) or "not configured"
        log.info("%s webhook for %s refused: channel off (%s)", channel, tenant, reason)
        # The public answer names no setting: which secrets are missing is for the start-up log, not the internet.
        public = "disabled in config" if reason.startswith("disabled") else "not configured"
        raise reject(channel, tenant, "channel_off", 404, f"the {channel} channel is off for {tenant}: {public}")
    return adapter


def verify_or_reject(adapter: Channel, raw: bytes, headers: Mapping[str, str], *, tenant: str = "unknown",
                     **kwargs: Any) -> None:
    try:
        adapter.verify(raw, headers, **kwargs)
    except WebhookOff as off:
        raise reject(adapter.name, tenant, "channel_off", 404, str(off)) from None
    except MissingSignature as missing:
        raise reject(adapter.name, tenant, "missing_signature", 401, str(missing)) from None
    except SignatureError as exc:
        log.warning("%s webhook rejected: %s", adapter.name, exc)
        raise reject(adapter.name, tenant, "bad_signature", 403, "signature does not match") from None


def parse_or_reject(adapter: Channel, raw: bytes, headers: Mapping[str, str], *, tenant: str = "unknown",
                    **kwargs: Any) -> list[InboundEvent]:
    try:
        return adapter.parse(raw, headers, **kwargs)
    except PayloadError as exc:
        raise reject(adapter.name, tenant, "malformed", 400, f"malformed payload: {exc}") from None


# -- every channel that records what it is sent ------------------------------------------------------------------

@router.post("/{channel}/{tenant}")
async def channel_webhook(channel: str, tenant: str, request: Request, services: ServicesDep) -> dict[str, int]:
    if not channel_class(channel).takes_webhooks:
        raise HTTPException(404, f"no webhook for channel {channel!r}")
    adapter = channel_adapter(services, tenant, channel)
    raw = await request.body()
    verify_or_reject(adapter, raw, request.headers, tenant=tenant)
    events = parse_or_reject(adapter, raw, request.headers, tenant=tenant)
    fresh = await run_in_threadpool(record_events, services, events) if events else []
    return {"received": len(events), "new": sum(fresh)}


# -- Twilio voice ------------------------------------------------------------------------------------------------

def twiml(document: str) -> Response:
    return Response(content=document, media_type=TWIML)


async def _voice_request(tenant: str, request: Request,
                         services: Services) -> tuple[VoiceFlow, InboundEvent, dict[str, str]]:
    """Verify and parse a Twilio webhook; returns the call flow, the event and the query parameters."""
    adapter = channel_adapter(services, tenant, VoiceAdapter.name)
    raw = await request.body()
    url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    verify_or_reject(adapter, raw, request.headers, tenant=tenant, url=url)
    (event,) = parse_or_reject(adapter, raw, request.headers, tenant=tenant, url=url)
    return VoiceFlow(services, tenant, adapter), event, dict(parse_qsl(request.url.query))


@router.post("/twilio/voice/{tenant}", responses=TWIML_RESPONSE)
async def voice_call(tenant: str, request: Request, services: ServicesDep) -> Response:
    flow, _event, _query = await _voice_request(tenant, request, services)
    return twiml(flow.start())


async def _or_transfer(flow: VoiceFlow, answer: Awaitable[str]) -> Response:
    """The caller is on the line: if anything fails after the request was verified, hand the call to a person
    rather than let Twilio read out its "application error"."""
    try:
        return twiml(await answer)
    except Exception:  # noqa: BLE001 - any failure: a person takes the call
        log.exception("call flow failed for %s; transferring", flow.tenant)
        return twiml(flow.script.transfer())


@router.post("/twilio/voice/{tenant}/gather", responses=TWIML_RESPONSE)
async def voice_gather(tenant: str, request: Request, services: ServicesDep) -> Response:
    flow, event, query = await _voice_request(tenant, request, services)
    return await _or_transfer(flow, flow.gather(event, query))


@router.post("/twilio/voice/{tenant}/poll", responses=TWIML_RESPONSE)
async def voice_poll(tenant: str, request: Request, services: ServicesDep) -> Response:
    flow, event, query = await _voice_request(tenant, request, services)
    hold = int(query["hold"]) if query.get("hold", "").isdigit() else 1
    return await _or_transfer(flow, flow.poll(event, hold))


@router.post("/twilio/voice/{tenant}/noinput", responses=TWIML_RESPONSE)
async def voice_no_input(tenant: str, request: Request, services: ServicesDep) -> Response:
    flow, event, query = await _voice_request(tenant, request, services)
    step = int(event.meta["step"]) if str(event.meta.get("step", "")).isdigit() else 1
    return twiml(flow.no_input(step, again=query.get("again") == "1"))


@router.post("/twilio/voice/{tenant}/status", responses=TWIML_RESPONSE)
async def voice_status(tenant: str, request: Request, services: ServicesDep) -> Response:
    _flow, event, _query = await _voice_request(tenant, request, services)
    log.info("call %s ended: %s", event.meta.get("call_sid"), event.meta.get("call_status"))
    return twiml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response />")
