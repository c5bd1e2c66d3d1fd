"""Rasa's REST channel, served by madoguchi: `POST /t/{tenant}/webhooks/rest/webhook` (and `/webhooks/rest/webhook`
for the default tenant) takes `{"sender", "message"}` and answers `[{"recipient_id", "text", "buttons"?}]`, so Rasa
web widgets and scripts that speak the REST channel work against madoguchi unchanged.

Every message takes the one inbound path: it is recorded as an inbound event on channel "rest" (unique per message:
the client's `metadata.message_id` when it sends one, so a retried POST is answered once), then the turn runs and
is stored in one transaction with its audit row and any hand-over, exactly as for the web chat. The REST channel is
pulled, not pushed: what an operator wrote since the client last spoke comes with the next response, before the
assistant's new reply. Clarification choices are buttons whose payload is the choice's number (the dialogue reads
「2」 as picking the second). With `"metadata": {"madoguchi": true}` a last element
`{"recipient_id", "custom": {"madoguchi": {outcome, reason, confidence, sources, escalated, …}}}` carries the
details (the Rasa action in integrations/rasa_action uses them).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, field_validator

from channels.rest import RasaRestChannel
from config.tenancy import Tenant
from conversations.inbox import record_inline
from conversations.turns import ProcessedTurn, process_event
from core.messages import InboundEvent
from knowledge.knowledge_base import IndexMissing
from madoguchi.api.errors import PoliteErrorRoute
from madoguchi.api.limits import RateLimited, enforce_message
from madoguchi.api.responses import BODY_ERRORS, json_errors
from madoguchi.api.schemas import MAX_TEXT_CHARS
from madoguchi.composition import Services, get_services
from storage import (
    Connection, first_message_after, inbound_by_external_id, leased_inbound_event, list_messages, mark_inbound_failed,
    previous_resident_message_id, resident_message_of_inbound, turn_for_inbound, utcnow,
)

log = logging.getLogger(__name__)
REST_CHANNEL = RasaRestChannel.name
WORKER = "rasa-rest"
ServicesDep = Annotated[Services, Depends(get_services)]
router = APIRouter(tags=["Rasa REST channel"], route_class=PoliteErrorRoute,
                   responses=json_errors(*BODY_ERRORS, 404, 422, 429, 500))


class RasaMessageIn(BaseModel):
    sender: str = Field(min_length=1, max_length=128, description="the client's conversation id")
    message: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    metadata: dict[str, Any] | None = None

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty or only spaces")
        return value


def resident_address(sender: str, secret_key: str) -> str:
    """The client's sender id, keyed-hashed: a REST sender id may be a phone number or a user id."""
    return "rest-" + hmac.new(secret_key.encode(), sender.encode(), hashlib.sha256).hexdigest()[:40]


@router.get("/t/{tenant_id}/webhooks/rest/")
def health(tenant_id: str, services: ServicesDep) -> dict[str, str]:
    _tenant(services, tenant_id)
    return {"status": "ok"}


@router.post("/webhooks/rest/webhook")
def webhook_default_tenant(body: RasaMessageIn, request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    return _handle(services, _tenant(services, services.settings.default_tenant), body, request)


@router.post("/t/{tenant_id}/webhooks/rest/webhook")
def webhook(tenant_id: str, body: RasaMessageIn, request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    return _handle(services, _tenant(services, tenant_id), body, request)


def _tenant(services: Services, tenant_id: str) -> Tenant:
    tenant = services.tenants.get(tenant_id)
    if tenant is None:
        raise HTTPException(404, f"unknown tenant {tenant_id!r}")
    return tenant


def _handle(services: Services, tenant: Tenant, body: RasaMessageIn, request: Request) -> list[dict[str, Any]]:
    address = resident_address(body.sender, services.settings.secret_key)
    metadata = body.metadata or {}
    client_id = str(metadata.get("message_id") or uuid.uuid4().hex)[:64]
    external_id = f"{address}:{client_id}"
    with services.db.read() as conn:
        resubmitted = inbound_by_external_id(conn, tenant.id, REST_CHANNEL, external_id) is not None
    if not resubmitted:
        try:
            enforce_message(services, request, tenant, sender=address, text=body.message, channel=REST_CHANNEL)
        except RateLimited as limited:  # a Rasa client shows what it is sent: the polite reply, as a message
            return [{"recipient_id": body.sender, "text": limited.reply}]
    event = InboundEvent(channel=REST_CHANNEL, external_id=external_id, tenant=tenant.id, sender=address,
                         kind="message", text=body.message, received_at=utcnow(), meta={"rasa_rest": True})
    record_inline(services, event)
    processed = _process(services, tenant.id, external_id)
    with services.db.read() as conn:
        out = _response_messages(conn, processed, body.sender)
        if metadata.get("madoguchi"):
            out.append({"recipient_id": body.sender, "custom": {"madoguchi": _details(conn, processed)}})
    return out


def _process(services: Services, tenant_id: str, external_id: str) -> ProcessedTurn:
    try:
        return process_event(services, REST_CHANNEL, external_id, tenant=tenant_id, worker=WORKER)
    except Exception as error:
        with services.db.transaction() as conn:
            row = leased_inbound_event(conn, tenant_id, REST_CHANNEL, external_id)
            if row is not None:
                mark_inbound_failed(conn, row, type(error).__name__, retry_after_seconds=0)
        if isinstance(error, IndexMissing):
            raise HTTPException(503, "the knowledge base of this tenant is not built yet") from error
        raise


def _response_messages(conn: Connection, processed: ProcessedTurn, sender: str) -> list[dict[str, Any]]:
    """What the client has not seen yet: operator (and holding) messages since its last response, then the reply."""
    if processed.conversation_id is None:
        return []
    floor = _last_delivered(conn, processed)
    out = []
    for row in list_messages(conn, processed.conversation_id, after_id=floor):
        if row.role == "resident":
            continue
        message: dict[str, Any] = {"recipient_id": sender, "text": row.text}
        choices = (row.meta or {}).get("choices") or []
        if choices:
            message["buttons"] = [{"title": c["title"], "payload": str(c["n"])} for c in choices]
        out.append(message)
    return out


def _last_delivered(conn: Connection, processed: ProcessedTurn) -> int:
    """The last message id the client was already given: the reply to its previous message (or that message itself
    when an operator held the conversation and nothing was said)."""
    current = _resident_message_id(conn, processed)
    if current is None:
        return (processed.reply_message_id or 1) - 1
    previous = previous_resident_message_id(conn, processed.conversation_id, current)
    if previous is None:
        return current
    following = first_message_after(conn, processed.conversation_id, previous)
    if following is not None and following.role == "assistant" and following.turn_id is not None:
        return following.id
    return previous


def _resident_message_id(conn: Connection, processed: ProcessedTurn) -> int | None:
    row = resident_message_of_inbound(conn, processed.conversation_id, processed.inbound_event_id)
    return row.id if row is not None else None


def _details(conn: Connection, processed: ProcessedTurn) -> dict[str, Any]:
    turn = turn_for_inbound(conn, processed.inbound_event_id)
    if turn is None:
        return {"outcome": "with_operator", "conversation_id": processed.conversation_id, "escalated": True}
    return {"outcome": turn.outcome, "reason": turn.reason, "confidence": turn.confidence,
            "sources": turn.sources or [], "turn_id": turn.id, "conversation_id": turn.conversation_id,
            "escalated": turn.outcome == "escalated", "replayed": processed.replayed}
