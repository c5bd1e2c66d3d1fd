"""Channel webhooks (LINE, Twilio voice, HTTP inbound mail) and the channel loops started with the app.

    POST /webhooks/line/{tenant}                       X-Line-Signature; 200 {"received", "new"} at once
    POST /webhooks/twilio/voice/{tenant}               call start → greeting TwiML
    POST /webhooks/twilio/voice/{tenant}/gather        speech or keys → answer / hold / transfer TwiML
    POST /webhooks/twilio/voice/{tenant}/poll          back from a hold → answer or hold again
    POST /webhooks/twilio/voice/{tenant}/noinput       silence → keypad fallback, then goodbye
    POST /webhooks/twilio/voice/{tenant}/status        status callback (call ended) → empty TwiML
    POST /webhooks/email/{tenant}                      raw RFC 5322 message from an HTTP inbound-mail provider,
                                                       Authorization: Bearer $MADOGUCHI_<TENANT>_EMAIL_INBOUND_TOKEN

Every route: the tenant's adapter verifies the request first (fail closed: 401 without a signature, 403 with a
wrong one, and nothing stored), parses it (400 with the reason when malformed), records each event in the inbox
(unique on channel + the provider's id, so a redelivery stores nothing new) and answers at once; the turn is the
inbox worker's (conversations/inbox_worker.py), the reply the outbox sender's (conversations/outbox_sender.py). A channel that is off for
the tenant answers 404 saying why. Twilio is the one channel that hears its answer in the response: see
conversations/call_flow.py.

start_background(services, stop) starts the inbox workers, the outbox senders, the SMTP endpoint and the IMAP
pollers (conversations/runtime.py ChannelSettings: how many, ports, intervals).
"""
from __future__ import annotations

import hmac
import logging
import os
import threading
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from channels.base import PayloadError, SignatureError
from channels.common import header
from conversations.inbox import record_events
from conversations.call_flow import VoiceFlow
from madoguchi.composition import Services, get_services

log = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks", tags=["channels"])
ServicesDep = Annotated[Services, Depends(get_services)]

TWIML = "application/xml"
SIGNATURE_HEADERS = {"line": "X-Line-Signature", "voice": "X-Twilio-Signature"}


def channel_adapter(services: Services, tenant: str, channel: str) -> Any:
    """The tenant's adapter for `channel`, or 404 saying why there is none."""
    if tenant not in services.tenants:
        raise HTTPException(404, f"unknown tenant {tenant!r}")
    built = services.channels.get(tenant)
    adapter = built.get(channel) if built is not None else None
    if adapter is None:
        reason = (built.off.get(channel) if built is not None else None) or "not configured"
        log.info("%s webhook for %s refused: channel off (%s)", channel, tenant, reason)
        # The public answer names no setting: which secrets are missing is for the start-up log, not the internet.
        public = "disabled in config" if reason.startswith("disabled") else "not configured"
        raise HTTPException(404, f"the {channel} channel is off for {tenant}: {public}")
    return adapter


def verify_or_reject(adapter: Any, channel: str, raw: bytes, headers: Any, **kwargs: Any) -> None:
    if not header(headers, SIGNATURE_HEADERS[channel]):
        raise HTTPException(401, f"missing {SIGNATURE_HEADERS[channel]}")
    try:
        adapter.verify(raw, headers, **kwargs)
    except SignatureError as exc:
        log.warning("%s webhook rejected: %s", channel, exc)
        raise HTTPException(403, "signature does not match") from None


def parse_or_reject(adapter: Any, raw: bytes, headers: Any, **kwargs: Any) -> list[Any]:
    try:
        return adapter.parse(raw, headers, **kwargs)
    except PayloadError as exc:
        raise HTTPException(400, f"malformed payload: {exc}") from None


# -- LINE --------------------------------------------------------------------------------------------------------

@router.post("/line/{tenant}")
async def line_webhook(tenant: str, request: Request, services: ServicesDep) -> dict[str, int]:
    adapter = channel_adapter(services, tenant, "line")
    raw = await request.body()
    verify_or_reject(adapter, "line", raw, request.headers)
    events = parse_or_reject(adapter, raw, request.headers)
    fresh = await run_in_threadpool(record_events, services, events) if events else []
    return {"received": len(events), "new": sum(fresh)}


# -- Twilio voice ------------------------------------------------------------------------------------------------

def twiml(document: str) -> Response:
    return Response(content=document, media_type=TWIML)


async def _voice_request(tenant: str, request: Request, services: Services) -> tuple[VoiceFlow, Any, dict]:
    """Verify and parse a Twilio webhook; returns the call flow, the event and the query parameters."""
    adapter = channel_adapter(services, tenant, "voice")
    raw = await request.body()
    url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    verify_or_reject(adapter, "voice", raw, request.headers, url=url)
    (event,) = parse_or_reject(adapter, raw, request.headers, url=url)
    return VoiceFlow(services, tenant, adapter), event, dict(parse_qsl(request.url.query))


@router.post("/twilio/voice/{tenant}")
async def voice_call(tenant: str, request: Request, services: ServicesDep) -> Response:
    flow, _event, _query = await _voice_request(tenant, request, services)
    return twiml(flow.start())


async def _or_transfer(flow: VoiceFlow, answer: Any) -> Response:
    """The caller is on the line: if anything fails after the request was verified, hand the call to a person
    rather than let Twilio read out its "application error"."""
    try:
        return twiml(await answer)
    except Exception:  # noqa: BLE001 - any failure: a person takes the call
        log.exception("call flow failed for %s; transferring", flow.tenant)
        return twiml(flow.script.transfer())


@router.post("/twilio/voice/{tenant}/gather")
async def voice_gather(tenant: str, request: Request, services: ServicesDep) -> Response:
    flow, event, query = await _voice_request(tenant, request, services)
    return await _or_transfer(flow, flow.gather(event, query))


@router.post("/twilio/voice/{tenant}/poll")
async def voice_poll(tenant: str, request: Request, services: ServicesDep) -> Response:
    flow, event, query = await _voice_request(tenant, request, services)
    hold = int(query["hold"]) if query.get("hold", "").isdigit() else 1
    return await _or_transfer(flow, flow.poll(event, hold))


@router.post("/twilio/voice/{tenant}/noinput")
async def voice_no_input(tenant: str, request: Request, services: ServicesDep) -> Response:
    flow, event, query = await _voice_request(tenant, request, services)
    step = int(event.meta["step"]) if str(event.meta.get("step", "")).isdigit() else 1
    return twiml(flow.no_input(step, again=query.get("again") == "1"))


@router.post("/twilio/voice/{tenant}/status")
async def voice_status(tenant: str, request: Request, services: ServicesDep) -> Response:
    _flow, event, _query = await _voice_request(tenant, request, services)
    log.info("call %s ended: %s", event.meta.get("call_sid"), event.meta.get("call_status"))
    return twiml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response />")


# -- HTTP inbound mail ---------------------------------------------------------------------------------------------

def inbound_mail_token(tenant: str) -> str | None:
    name = f"MADOGUCHI_{tenant.upper().replace('-', '_')}_EMAIL_INBOUND_TOKEN"
    return os.environ.get(name) or None


@router.post("/email/{tenant}")
async def email_webhook(tenant: str, request: Request, services: ServicesDep) -> dict[str, int]:
    adapter = channel_adapter(services, tenant, "email")
    token = inbound_mail_token(tenant)
    if token is None:
        raise HTTPException(404, f"HTTP inbound mail is off for {tenant}: set MADOGUCHI_<TENANT>_EMAIL_INBOUND_TOKEN")
    given = (request.headers.get("authorization") or "").removeprefix("Bearer ").strip()
    if not given:
        raise HTTPException(401, "missing Authorization")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(403, "wrong token")
    events = parse_or_reject(adapter, await request.body(), request.headers)
    fresh = await run_in_threadpool(record_events, services, events)
    return {"received": len(events), "new": sum(fresh)}


# -- background loops --------------------------------------------------------------------------------------------

def start_background(services: Services, stop: threading.Event) -> list[threading.Thread]:
    from conversations.email_gateway import start_email
    from conversations.outbox_sender import start_senders
    from conversations.inbox_worker import start_workers

    return [*start_workers(services, stop), *start_senders(services, stop), *start_email(services, stop)]
