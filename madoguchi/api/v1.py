"""JSON API v1: the web chat's conversations and messages, and a stateless `ask` for tools (OpenAPI at /docs).

A message takes the one inbound path every channel takes: record the InboundEvent (unique on channel + external
id), then `conversations.turns.process_event` runs the turn and stores it in one transaction. The reply is read
back from what was stored, so a resubmitted client_message_id gets the very same reply and never a second turn.
Handlers are plain `def`: FastAPI runs them in its threadpool, where the synchronous dialogue belongs.
A resident may also erase their conversation (DELETE …/conversations/{id}: the texts are blanked at once).
"""
from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response

from channels.web import WebChannel
from config.tenancy import Tenant
from conversations.inbox import record_inline
from conversations.switches import switches_in_force
from conversations.turns import ProcessedTurn, process_event, run_dialogue
from core.messages import InboundEvent
from governance.intake import screen_text
from governance.retention import erase_on_request
from knowledge.knowledge_base import IndexMissing
from madoguchi.api import transcripts
from madoguchi.api.errors import POLITE_ERROR, PoliteErrorRoute
from madoguchi.api.limits import client_address, enforce_message, enforce_new_session
from madoguchi.api.residents import (
    TOKEN_HEADER,
    external_id_for,
    is_well_formed,
    new_resident_token,
    sender_for,
)
from madoguchi.api.responses import BODY_ERRORS, json_errors
from madoguchi.api.schemas import (
    AskIn,
    AskOut,
    ConversationOut,
    FeedbackIn,
    FeedbackOut,
    MessageIn,
    ReplyOut,
    TranscriptOut,
)
from madoguchi.composition import Services, get_services
from storage import (
    Connection,
    Row,
    get_conversation,
    inbound_by_external_id,
    inbound_status,
    leased_inbound_event,
    list_messages,
    mark_inbound_failed,
    open_conversation,
    record_feedback,
    turn_of_conversation,
    utcnow,
)
from storage.escalations import escalations_of_conversation

ServicesDep = Annotated[Services, Depends(get_services)]
ResidentToken = Annotated[str | None, Header(alias=TOKEN_HEADER, description="the token from starting a conversation")]
log = logging.getLogger(__name__)

WEB_CHANNEL = WebChannel.name
# A turn takes well under a second; a duplicate waits this long for the first request to store it.
CONCURRENT_DUPLICATE_WAIT_SECONDS = 15
INLINE_WORKER = "web-api"
ERRORS = json_errors(*BODY_ERRORS, 401, 404, 422, 429, 500)

router = APIRouter(prefix="/api/v1", tags=["web chat"], route_class=PoliteErrorRoute, responses=ERRORS)


def tenant_or_404(services: Services, tenant_id: str) -> Tenant:
    tenant = services.tenants.get(tenant_id)
    if tenant is None:
        raise HTTPException(404, f"unknown tenant {tenant_id!r}")
    return tenant


def resident_sender(services: Services, token: str | None) -> str:
    if not is_well_formed(token):
        raise HTTPException(401, f"missing or malformed {TOKEN_HEADER} header: start a conversation first")
    return sender_for(token, services.settings.secret_key)


def owned_conversation(conn: Connection, tenant: Tenant, conversation_id: str, sender: str) -> Row:
    """The conversation, if this session owns it. Someone else's is reported as absent, not as forbidden, so the
    API does not confirm which conversation ids exist."""
    row = get_conversation(conn, conversation_id, tenants=[tenant.id])
    if row is None or row.channel != WEB_CHANNEL or row.resident_address != sender or row.deleted:
        raise HTTPException(404, "no such conversation for this session")
    return row


@router.post("/t/{tenant_id}/conversations", status_code=201, response_model=ConversationOut)
def start_conversation(tenant_id: str, request: Request, services: ServicesDep,
                       token: ResidentToken = None) -> ConversationOut:
    """Start (or, with an existing token, resume) the session's conversation. Returns its id and the token."""
    tenant = tenant_or_404(services, tenant_id)
    if token is not None and not is_well_formed(token):
        raise HTTPException(401, f"malformed {TOKEN_HEADER} header")
    if token is None:  # a new session is a new resident: limited per source address
        enforce_new_session(services, request, tenant, WEB_CHANNEL)
    token = token or new_resident_token()
    with services.db.transaction() as conn:
        row = open_conversation(conn, tenant=tenant.id, channel=WEB_CHANNEL,
                                resident_address=sender_for(token, services.settings.secret_key))
    return ConversationOut(conversation_id=row.id, tenant=tenant.id, state=row.state, resident_token=token)


@router.post("/t/{tenant_id}/conversations/{conversation_id}/messages", response_model=ReplyOut,
             responses=json_errors(503))
def post_message(tenant_id: str, conversation_id: str, body: MessageIn, request: Request, services: ServicesDep,
                 token: ResidentToken = None) -> ReplyOut:
    """Send the resident's message and get the assistant's reply (or silence while an operator holds the
    conversation). Resending the same client_message_id returns the same reply."""
    tenant = tenant_or_404(services, tenant_id)
    sender = resident_sender(services, token)
    with services.db.read() as conn:
        owned_conversation(conn, tenant, conversation_id, sender)
    external_id = external_id_for(sender, body.client_message_id)
    if not _recorded(services, tenant, external_id):  # a resubmission is no new question: never refused
        enforce_message(services, request, tenant, sender=sender, text=body.text, channel=WEB_CHANNEL)
    _record_message(services, tenant, sender, external_id, body)  # False for a resubmission: it is processed once
    processed = _process(services, tenant.id, external_id)
    with services.db.read() as conn:
        reply = transcripts.stored_reply(conn, processed.inbound_event_id,
                                         processed.conversation_id or conversation_id, processed.resident_message_id)
    reply.client_message_id = body.client_message_id
    # Whichever request ran the turn reports it; every other copy (resubmitted or concurrent) is a replay.
    reply.replayed = processed.replayed
    return reply


def _recorded(services: Services, tenant: Tenant, external_id: str) -> bool:
    with services.db.read() as conn:
        return inbound_by_external_id(conn, tenant.id, WEB_CHANNEL, external_id) is not None


def _record_message(services: Services, tenant: Tenant, sender: str, external_id: str, body: MessageIn) -> bool:
    event = InboundEvent(channel=WEB_CHANNEL, external_id=external_id, tenant=tenant.id, sender=sender,
                         kind="message", text=body.text, received_at=utcnow(),
                         meta={"client_message_id": body.client_message_id})
    return record_inline(services, event)


def _process(services: Services, tenant_id: str, external_id: str) -> ProcessedTurn:
    """Run the turn, or replay it. A duplicate that arrives while the first request still runs the turn waits for
    it (the event is leased meanwhile), so both requests return the one reply."""
    deadline = time.monotonic() + CONCURRENT_DUPLICATE_WAIT_SECONDS
    while True:
        processed = _process_once(services, tenant_id, external_id)
        if not processed.replayed or processed.turn_id:
            return processed
        status = _inbound_status(services, processed.inbound_event_id)
        if status == "done":
            return processed  # finished without a turn: an operator holds the conversation
        if status == "failed":
            raise HTTPException(500, POLITE_ERROR)
        if time.monotonic() > deadline:
            raise HTTPException(503, "this message is still being processed: send it again shortly")
        time.sleep(0.05)


def _process_once(services: Services, tenant_id: str, external_id: str) -> ProcessedTurn:
    try:
        return process_event(services, WEB_CHANNEL, external_id, tenant=tenant_id, worker=INLINE_WORKER)
    except IndexMissing as error:
        _release(services, tenant_id, external_id, error)
        raise HTTPException(503, "the knowledge base of this tenant is not built yet") from error
    except Exception as error:
        _release(services, tenant_id, external_id, error)
        raise


def _release(services: Services, tenant_id: str, external_id: str, error: BaseException) -> None:
    """Give a failed event back at once, so the page's retry of the same message runs the turn again (the
    inbox's attempt cap still applies) instead of waiting for the lease to run out."""
    with services.db.transaction() as conn:
        row = leased_inbound_event(conn, tenant_id, WEB_CHANNEL, external_id)
        if row is not None:
            mark_inbound_failed(conn, row, type(error).__name__, retry_after_seconds=0)


def _inbound_status(services: Services, inbound_id: int) -> str:
    with services.db.read() as conn:
        return inbound_status(conn, inbound_id)


@router.get("/t/{tenant_id}/conversations/{conversation_id}/messages", response_model=TranscriptOut)
def get_messages(tenant_id: str, conversation_id: str, services: ServicesDep,
                 after: Annotated[int, Query(ge=0, description="the last message id the page has")] = 0,
                 token: ResidentToken = None) -> TranscriptOut:
    """The transcript after message `after`: how operator replies reach the page without a reload."""
    tenant = tenant_or_404(services, tenant_id)
    sender = resident_sender(services, token)
    with services.db.read() as conn:
        conversation = owned_conversation(conn, tenant, conversation_id, sender)
        rows = list_messages(conn, conversation_id, after_id=after)
        handovers = escalations_of_conversation(conn, conversation_id)
    return transcripts.transcript(conversation, rows, after, handovers[-1].state if handovers else None)


@router.post("/t/{tenant_id}/conversations/{conversation_id}/feedback", status_code=201,
             response_model=FeedbackOut)
def post_feedback(tenant_id: str, conversation_id: str, body: FeedbackIn, services: ServicesDep,
                  token: ResidentToken = None) -> FeedbackOut:
    """Helpful / not helpful for one answer of this conversation, or solved / not solved for a hand-over."""
    tenant = tenant_or_404(services, tenant_id)
    sender = resident_sender(services, token)
    with services.db.transaction() as conn:
        owned_conversation(conn, tenant, conversation_id, sender)
        if body.turn_id is not None:
            _turn_of_conversation(conn, body.turn_id, conversation_id)
        elif body.escalation_id not in {e.id for e in escalations_of_conversation(conn, conversation_id)}:
            raise HTTPException(404, "no such hand-over in this conversation")
        feedback_id = record_feedback(conn, tenant=tenant.id, conversation_id=conversation_id, rating=body.rating,
                                      turn_id=body.turn_id, comment=screen_text(body.comment, tenant))
    return FeedbackOut(feedback_id=feedback_id)


def _turn_of_conversation(conn: Connection, turn_id: str, conversation_id: str) -> Row:
    row = turn_of_conversation(conn, turn_id, conversation_id)
    if row is None:
        raise HTTPException(404, "no such turn in this conversation")
    return row


@router.post("/t/{tenant_id}/ask", response_model=AskOut, responses=json_errors(503))
def ask(tenant_id: str, body: AskIn, request: Request, services: ServicesDep) -> AskOut:
    """One stateless turn (no conversation, nothing stored): for tools and scripts (limited per address)."""
    tenant = tenant_or_404(services, tenant_id)
    enforce_message(services, request, tenant, sender=f"ask:{client_address(request)}", text=body.question,
                    channel=WEB_CHANNEL)
    with services.db.read() as conn:
        switches = switches_in_force(conn, tenant, WEB_CHANNEL)
    try:
        result = run_dialogue(services, tenant, body.question, None, WEB_CHANNEL, switches)
    except IndexMissing as error:
        raise HTTPException(503, "the knowledge base of this tenant is not built yet") from error
    return AskOut(**transcripts.public_fields(result.to_dict()))


@router.delete("/t/{tenant_id}/conversations/{conversation_id}", status_code=204)
def erase_my_conversation(tenant_id: str, conversation_id: str, services: ServicesDep,
                          token: ResidentToken = None) -> Response:
    """The resident's deletion request: the texts of the conversation are erased at once (cannot be undone)."""
    tenant = tenant_or_404(services, tenant_id)
    sender = resident_sender(services, token)
    with services.db.read() as conn:
        owned_conversation(conn, tenant, conversation_id, sender)
    erase_on_request(services, tenant.id, conversation_id, actor="resident")
    return Response(status_code=204)
