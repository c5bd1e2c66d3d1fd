"""The operator console (/console/…): the pages operators work the queue in.

Pages (jinja2, Japanese, light JS in static/console.js):
  GET  /console/login, POST /console/login, POST /console/logout
  GET  /console                                   queue, most urgent first, with first-response countdowns
  GET  /console/api/queue                         the same as JSON (the page refreshes itself with it)
  POST /console/claim-next                        claim the most urgent one of my tenants
  POST /console/escalations/{id}/claim            claim this one
  GET  /console/escalations/{id}                  transcript, draft + confidence, sources, risk, channel, actions
  GET  /console/escalations/{id}/messages?after=N new messages and state (polled every few seconds)
  POST /console/escalations/{id}/heartbeat        keeps the claim alive while the page is open (JSON, CSRF header)
  POST /console/escalations/{id}/reply|note|wait|resolve|return|transfer
  GET  /console/supervisor                        load per operator, breached SLAs (supervisor, admin)
Every page checks the session (madoguchi/web/staff_auth.py); every POST checks the CSRF token; every escalation is
looked up within the operator's tenants, so another tenant's id answers 404 exactly like an id that does not exist.
"""
from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from conversations.operator_replies import ask_for_satisfaction, send_operator_reply
from escalation.accounts import burn_password_check, verify_password
from escalation.queue import HELD_STATES, HeldClaim, StaleClaim
from governance.audit import thresholds_for
from governance.intake import mask_for_staff, screen_staff_text
from madoguchi.composition import Services, get_services
from madoguchi.web.console.switches import NOTICES as SWITCH_NOTICES, switch_rows
from madoguchi.web.console.triage import (
    RISK_FILTERS, STATE_FILTERS, URGENT_RISKS, QueueFilter, preview, reason_words, risk_label, urgent_numbers,
)
from madoguchi.web.staff_time import local_time, tenant_zone
from madoguchi.web.staff_auth import (
    LOGIN_COOKIE, SESSION_COOKIE, Operator, SessionSigner, api_operator, checked_api_operator, checked_operator,
    end_session, get_signer, new_login_nonce, page_operator, start_session,
)
from madoguchi.web import sign_in_throttle
from madoguchi.web.hardening import bidi_safe
from core.text import neutralise_bidi
from storage import (
    add_note, append_audit, conversations_with_failed_replies, first_resident_texts, get_conversation, get_operator,
    list_messages, list_notes, list_operators, operator_tenant_ids, undelivered_replies, utcnow,
)

log = logging.getLogger(__name__)

THROTTLED_MESSAGE = "サインインの失敗が続いたため、{seconds}秒ほどお待ちください。"
HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
# The staff console is a browser UI (pages, forms, the page's own polling), not an API: like the chat page it
# stays out of the OpenAPI document.
router = APIRouter(include_in_schema=False)

STATE_LABELS = {"queued": "待機中", "claimed": "対応中", "waiting_resident": "住民の返信待ち",
                "resolved": "解決済み", "returned": "アシスタントに戻した"}
ROLE_LABELS = {"resident": "住民", "assistant": "アシスタント", "operator": "担当者", "system": "システム"}
NOTICES = {"stale": "この会話はもうあなたの担当ではありません（再割り当てされたか、対応が終わっています）。",
           "taken": "ほかの担当者がすでに対応しています。", "empty": "対応待ちの問い合わせはありません。",
           "sent": "返信を送りました。", "noted": "メモを残しました。", "invalid": "入力内容を確認してください。",
           "waiting": "住民の返信待ちにしました。", "resolved": "解決済みにしました。"}
# A reply sent and resolved in one step records this as the resolution unless the operator wrote one.
REPLIED_RESOLUTION = "返信で案内済み"

templates.env.filters["local_time"] = local_time
# Whatever a page prints, a resident's bidi controls cannot reorder it (an RLO shows as ⟦U+202E RLO⟧).
templates.env.finalize = bidi_safe
templates.env.globals.update(STATE_LABELS=STATE_LABELS, ROLE_LABELS=ROLE_LABELS, RISK_FILTERS=RISK_FILTERS,
                             STATE_FILTERS=STATE_FILTERS, reason_words=reason_words, risk_label=risk_label)


def audit(services: Services, operator: Operator, action: str, *, tenant: str | None = None,
          target: str | None = None, detail: dict[str, Any] | None = None) -> None:
    with services.db.transaction() as conn:
        append_audit(conn, actor=operator.username, action=action, tenant=tenant, target=target, detail=detail)


# Console pages show residents' words: never cached, never framed, scripts only from this origin.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    context.setdefault("zone_label", "日本時間")
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def private_json(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _cookie_secure(services: Services) -> bool:
    return services.settings.public_base_url.startswith("https://")


# -- sign-in --------------------------------------------------------------------------------------------------------

@router.get("/console/login", response_class=HTMLResponse)
def login_page(request: Request, services: Services = Depends(get_services),
               signer: SessionSigner = Depends(get_signer)) -> HTMLResponse:
    return _login_form(request, services, signer)


def _login_form(request: Request, services: Services, signer: SessionSigner, error: str | None = None,
                status_code: int = 200) -> HTMLResponse:
    nonce = new_login_nonce()
    response = render(request, "login.html", {"csrf_token": signer.csrf_token(nonce), "error": error},
                      status_code)
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="lax",
                        secure=_cookie_secure(services), path="/console")
    return response


@router.post("/console/login")
async def login(request: Request, services: Services = Depends(get_services),
                signer: SessionSigner = Depends(get_signer)) -> Response:
    form = await request.form()
    username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))
    if not signer.csrf_matches(form.get("csrf_token"), request.cookies.get(LOGIN_COOKIE, "")):
        raise HTTPException(status_code=403, detail="CSRF token missing or invalid")
    client = request.client.host if request.client else "?"
    wait = sign_in_throttle.wait_seconds(services, client, username)
    if wait:
        audit_sign_in(services, username, "console.login_throttled")
        response = _login_form(request, services, signer, THROTTLED_MESSAGE.format(seconds=wait), 429)
        response.headers["Retry-After"] = str(wait)
        return response
    with services.db.read() as conn:
        row = get_operator(conn, username)
    if row is None or not row.active:
        burn_password_check(password)
        ok = False
    else:
        ok = verify_password(password, row.password_hash)
    audit_sign_in(services, username, "console.login" if ok else "console.login_failed")
    if not ok:
        sign_in_throttle.failed(services, client, username)
        return _login_form(request, services, signer, "ユーザー名またはパスワードが違います。", 401)
    sign_in_throttle.succeeded(services, client, username)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(SESSION_COOKIE, start_session(services, signer, row), max_age=signer.max_age_seconds,
                        httponly=True,
                        samesite="lax", secure=_cookie_secure(services), path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


def audit_sign_in(services: Services, username: str, action: str) -> None:
    with services.db.transaction() as conn:
        append_audit(conn, actor=username or "?", action=action)


@router.post("/console/logout")
def logout(services: Services = Depends(get_services), operator: Operator = Depends(checked_operator)) -> Response:
    end_session(services, operator)  # the cookie is dead even if a copy of it survives the browser
    audit(services, operator, "console.logout")
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/console/static/console.js")
def console_script() -> FileResponse:
    return FileResponse(HERE / "static" / "console.js", media_type="text/javascript")


# -- the queue ------------------------------------------------------------------------------------------------------

def queue_entries(services: Services, operator: Operator,
                  keep: QueueFilter = QueueFilter()) -> list[dict[str, Any]]:
    rows = services.queue.list_open(operator.tenants)
    ids = [row.conversation_id for row in rows]
    with services.db.read() as conn:
        failed = conversations_with_failed_replies(conn, ids)
        questions = first_resident_texts(conn, ids)
    entries = [queue_entry(services, row, operator, failed, questions) for row in rows]
    return [entry for entry in entries if keep.keeps(entry)]


def queue_entry(services: Services, row: Any, operator: Operator, failed: Collection[str] = (),
                questions: dict[str, str] | None = None) -> dict[str, Any]:
    tenant = services.tenants.get(row.tenant)
    zone = tenant_zone(tenant)
    question = (questions or {}).get(row.conversation_id)
    question = mask_for_staff(question, tenant) if question else question  # kept personal data masked
    return {"id": row.id, "tenant": row.tenant, "reason": row.reason, "reason_words": reason_words(row.reason),
            "risk": row.risk, "risk_label": risk_label(row.risk), "urgent": row.risk in URGENT_RISKS,
            "preview": neutralise_bidi(preview(question)) if question else "", "priority": row.priority,
            "state": row.state, "state_label": STATE_LABELS.get(row.state, row.state), "claimed_by": row.claimed_by,
            "assigned_to": row.assigned_to, "mine": row.claimed_by == operator.username,
            "claimable": row.state == "queued" and row.assigned_to in (None, operator.username),
            "created_at": row.created_at.isoformat(), "created_local": local_time(row.created_at, zone),
            "first_response_due": row.first_response_due.isoformat() if row.first_response_due else None,
            "answered": row.first_response_at is not None,
            "callback": bool((row.meta or {}).get("callback_requested")),
            "undelivered": row.conversation_id in failed}


@router.get("/console", response_class=HTMLResponse)
def queue_page(request: Request, notice: str | None = None, services: Services = Depends(get_services),
               operator: Operator = Depends(page_operator)) -> HTMLResponse:
    keep = QueueFilter.from_query(request.query_params, operator.tenants)
    entries = queue_entries(services, operator, keep)
    return render(request, "queue.html", {"operator": operator, "entries": entries, "filter": keep,
                                          "notice": NOTICES.get(notice or "")})


@router.get("/console/api/queue")
def queue_json(request: Request, services: Services = Depends(get_services),
               operator: Operator = Depends(api_operator)) -> JSONResponse:
    keep = QueueFilter.from_query(request.query_params, operator.tenants)
    return private_json({"entries": queue_entries(services, operator, keep),
                         "now": utcnow().isoformat()})


@router.post("/console/claim-next")
def claim_next(services: Services = Depends(get_services), operator: Operator = Depends(checked_operator)) -> Response:
    claim = services.queue.claim(operator.tenants, operator.username)
    if claim is None:
        return RedirectResponse("/console?notice=empty", status_code=303)
    return RedirectResponse(f"/console/escalations/{claim.escalation_id}", status_code=303)


@router.post("/console/escalations/{escalation_id}/claim")
def claim_one(escalation_id: str, services: Services = Depends(get_services),
              operator: Operator = Depends(checked_operator)) -> Response:
    visible_escalation(services, operator, escalation_id)
    claim = services.queue.claim_specific(escalation_id, operator.username, tenant_ids=operator.tenants)
    if claim is None:
        return RedirectResponse(f"/console/escalations/{escalation_id}?notice=taken", status_code=303)
    return RedirectResponse(f"/console/escalations/{escalation_id}", status_code=303)


# -- one conversation -------------------------------------------------------------------------------------------------

def visible_escalation(services: Services, operator: Operator, escalation_id: str) -> Any:
    """The escalation if it belongs to one of the operator's tenants; otherwise 404, never 403, so that guessing
    ids reveals nothing about other tenants."""
    row = services.queue.get(escalation_id, tenant_ids=operator.tenants)
    if row is None:
        raise HTTPException(status_code=404, detail="not found")
    return row


def held_by(row: Any, operator: Operator) -> bool:
    return row.claimed_by == operator.username and row.state in HELD_STATES


def message_view(row: Any, zone: Any = None, tenant: Any = None) -> dict[str, Any]:
    meta = row.meta or {}
    # A resident's words are shown with kept personal data masked (090-****-5678); staff and assistant text as is.
    text = mask_for_staff(row.text, tenant) if row.role == "resident" else row.text
    return {"id": row.id, "role": row.role, "role_label": ROLE_LABELS.get(row.role, row.role),
            "text": neutralise_bidi(text),  # the page's script sets it as text: bidi controls shown, not obeyed
            "at": local_time(row.created_at, zone), "operator": meta.get("operator"), "kind": meta.get("kind")}


def _sources(escalation: Any, messages: list[Any]) -> list[dict[str, Any]]:
    """The draft's sources; failing that, those of the last assistant answer."""
    if escalation.draft_sources:
        return list(escalation.draft_sources)
    for message in reversed(messages):
        if message.role == "assistant" and (message.meta or {}).get("sources"):
            return list(message.meta["sources"])
    return []


def _canned_replies(services: Services, tenant_id: str) -> list[dict[str, str]]:
    tenant = services.tenants.get(tenant_id)
    entries = (tenant.get("canned_replies") if tenant else None) or []
    return [{"title": e.get("title") or e["text"][:20], "text": e["text"]} if isinstance(e, dict)
            else {"title": str(e)[:20], "text": str(e)} for e in entries]


@router.get("/console/escalations/{escalation_id}", response_class=HTMLResponse)
def conversation_page(request: Request, escalation_id: str, notice: str | None = None,
                      services: Services = Depends(get_services),
                      operator: Operator = Depends(page_operator)) -> HTMLResponse:
    escalation = visible_escalation(services, operator, escalation_id)
    with services.db.read() as conn:
        conversation = get_conversation(conn, escalation.conversation_id, tenants=operator.tenants)
        messages = list_messages(conn, escalation.conversation_id)
        notes = list_notes(conn, escalation.id)
        undelivered = [undelivered_view(row) for row in undelivered_replies(conn, escalation.conversation_id)]
        colleagues = [o for o in list_operators(conn, tenant=escalation.tenant)
                      if o.active and o.username != operator.username]
    audit(services, operator, "console.view", tenant=escalation.tenant, target=escalation.id)
    mine = held_by(escalation, operator)
    tenant = services.tenants.get(escalation.tenant)
    zone = tenant_zone(tenant)
    return render(request, "conversation.html", {
        "operator": operator, "e": escalation, "conversation": conversation, "mine": mine,
        "messages": [message_view(m, zone, tenant) for m in messages], "notes": notes, "colleagues": colleagues,
        "sources": _sources(escalation, messages), "canned": _canned_replies(services, escalation.tenant),
        "draft": draft_view(escalation, tenant), "urgent_numbers": urgent_numbers(tenant, escalation.risk),
        "urgent": escalation.risk in URGENT_RISKS, "zone": zone,
        "tenant_name": tenant.display_name if tenant else escalation.tenant,
        "last_message_id": messages[-1].id if messages else 0, "notice": NOTICES.get(notice or ""),
        "callback": (escalation.meta or {}).get("callback_requested"), "meta": _meta_view(escalation.meta, tenant),
        "undelivered": undelivered,
    })


def _meta_view(meta: dict[str, Any] | None, tenant: Any) -> dict[str, Any]:
    """The escalation's meta as the page shows it: the resident's whole e-mail masked like their messages."""
    meta = dict(meta or {})
    if isinstance(meta.get("email_body"), str):
        meta["email_body"] = mask_for_staff(meta["email_body"], tenant)
    return meta


def draft_view(escalation: Any, tenant: Any) -> dict[str, Any] | None:
    """The assistant's draft, its confidence and whether that is below the tenant's answer threshold. The page never
    puts it in the reply box by itself: the operator chooses it."""
    if not escalation.draft_answer:
        return None
    confidence = escalation.draft_confidence
    threshold = thresholds_for(tenant)["answer"] if tenant is not None else None
    low = confidence is None or (threshold is not None and confidence < threshold)
    return {"text": neutralise_bidi(escalation.draft_answer), "confidence": confidence, "threshold": threshold,
            "low": low}


def undelivered_view(row: Any) -> dict[str, Any]:
    """A reply that did not reach the resident: the operator must know, and reach them another way."""
    return {"text": str((row.payload or {}).get("text", ""))[:200], "attempts": row.attempts,
            "given_up": row.status == "failed", "error": (row.last_error or "")[:200],
            "at": local_time(row.created_at)}


@router.get("/console/escalations/{escalation_id}/messages")
def new_messages(escalation_id: str, after: int = 0, services: Services = Depends(get_services),
                 operator: Operator = Depends(api_operator)) -> JSONResponse:
    escalation = visible_escalation(services, operator, escalation_id)
    with services.db.read() as conn:
        messages = list_messages(conn, escalation.conversation_id, after_id=after)
    tenant = services.tenants.get(escalation.tenant)
    zone = tenant_zone(tenant)
    return private_json({"messages": [message_view(m, zone, tenant) for m in messages], "state": escalation.state,
                         "state_label": STATE_LABELS.get(escalation.state, escalation.state),
                         "claimed_by": escalation.claimed_by, "mine": held_by(escalation, operator)})


@router.post("/console/escalations/{escalation_id}/heartbeat")
async def heartbeat(escalation_id: str, request: Request, services: Services = Depends(get_services),
                    operator: Operator = Depends(checked_api_operator)) -> dict:
    visible_escalation(services, operator, escalation_id)
    body = await request.json()
    token = str(body.get("token", "")) if isinstance(body, dict) else ""
    return {"ok": services.queue.heartbeat(held_claim(escalation_id, token, operator))}


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


def held_claim(escalation_id: str, token: str, operator: Operator) -> HeldClaim:
    """The form's token, bound to the escalation of the URL and the signed-in operator (never the token alone)."""
    return HeldClaim(escalation_id=escalation_id, token=token, operator=operator.username)


def _back(escalation_id: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/console/escalations/{escalation_id}?notice={notice}", status_code=303)


def wants_json(request: Request) -> bool:
    """The page's script sends forms with fetch and asks for JSON; without script the form posts and redirects."""
    return "application/json" in request.headers.get("accept", "")


REPLY_STATUS = {"sent": 200, "resolved": 200, "stale": 409, "invalid": 422}


@router.post("/console/escalations/{escalation_id}/reply")
async def reply(escalation_id: str, request: Request, services: Services = Depends(get_services),
                operator: Operator = Depends(checked_operator)) -> Response:
    visible_escalation(services, operator, escalation_id)
    form = await _form(request)
    claim = held_claim(escalation_id, form.get("claim_token", ""), operator)
    outcome, message_id = _send_reply(services, claim, form.get("text", ""))
    if outcome == "sent" and form.get("then") == "resolve":
        outcome = _resolve(services, claim, form.get("reason", "").strip() or REPLIED_RESOLUTION)
    if not wants_json(request):
        return RedirectResponse("/console", status_code=303) if outcome == "resolved" else _back(escalation_id, outcome)
    return JSONResponse({"ok": outcome in ("sent", "resolved"), "outcome": outcome, "notice": NOTICES[outcome],
                         "message_id": message_id}, status_code=REPLY_STATUS[outcome],
                        headers={"Cache-Control": "no-store"})


def _send_reply(services: Services, claim: HeldClaim, text: str) -> tuple[str, int | None]:
    try:
        return "sent", send_operator_reply(services, claim, text)
    except StaleClaim:
        return "stale", None
    except ValueError:
        return "invalid", None


def _resolve(services: Services, claim: HeldClaim, reason: str) -> str:
    if not services.queue.resolve(claim, screen_staff_text(reason[:500])):
        return "stale"
    ask_for_satisfaction(services, claim.escalation_id)
    return "resolved"


@router.post("/console/escalations/{escalation_id}/note")
async def note(escalation_id: str, request: Request, services: Services = Depends(get_services),
               operator: Operator = Depends(checked_operator)) -> Response:
    escalation = visible_escalation(services, operator, escalation_id)
    text = (await _form(request)).get("text", "").strip()
    if not text:
        return _back(escalation_id, "invalid")
    with services.db.transaction() as conn:
        note_id = add_note(conn, tenant=escalation.tenant, escalation_id=escalation.id, operator=operator.username,
                           text=screen_staff_text(text))
        append_audit(conn, actor=operator.username, action="console.note", tenant=escalation.tenant,
                     target=escalation.id, detail={"note_id": note_id})
    return _back(escalation_id, "noted")


@router.post("/console/escalations/{escalation_id}/wait")
async def wait_for_resident(escalation_id: str, request: Request, services: Services = Depends(get_services),
                            operator: Operator = Depends(checked_operator)) -> Response:
    visible_escalation(services, operator, escalation_id)
    claim = held_claim(escalation_id, (await _form(request)).get("claim_token", ""), operator)
    return _back(escalation_id, "waiting" if services.queue.mark_waiting_resident(claim) else "stale")


@router.post("/console/escalations/{escalation_id}/resolve")
async def resolve(escalation_id: str, request: Request, services: Services = Depends(get_services),
                  operator: Operator = Depends(checked_operator)) -> Response:
    visible_escalation(services, operator, escalation_id)
    form = await _form(request)
    reason = form.get("reason", "").strip()
    if not reason:
        return _back(escalation_id, "invalid")
    if _resolve(services, held_claim(escalation_id, form.get("claim_token", ""), operator), reason) == "stale":
        return _back(escalation_id, "stale")
    return RedirectResponse("/console", status_code=303)


@router.post("/console/escalations/{escalation_id}/return")
async def return_to_assistant(escalation_id: str, request: Request, services: Services = Depends(get_services),
                              operator: Operator = Depends(checked_operator)) -> Response:
    visible_escalation(services, operator, escalation_id)
    form = await _form(request)
    claim = held_claim(escalation_id, form.get("claim_token", ""), operator)
    if not services.queue.return_to_assistant(claim, form.get("reason", "")[:500] or None):
        return _back(escalation_id, "stale")
    return RedirectResponse("/console", status_code=303)


@router.post("/console/escalations/{escalation_id}/transfer")
async def transfer(escalation_id: str, request: Request, services: Services = Depends(get_services),
                   operator: Operator = Depends(checked_operator)) -> Response:
    escalation = visible_escalation(services, operator, escalation_id)
    form = await _form(request)
    target = form.get("to_operator", "").strip() or None
    if target is not None and not _colleague_of(services, target, escalation.tenant):
        return _back(escalation_id, "invalid")
    if not services.queue.transfer(held_claim(escalation_id, form.get("claim_token", ""), operator), target):
        return _back(escalation_id, "stale")
    return RedirectResponse("/console", status_code=303)


def _colleague_of(services: Services, username: str, tenant: str) -> bool:
    with services.db.read() as conn:
        row = get_operator(conn, username)
        return row is not None and row.active and tenant in operator_tenant_ids(conn, row.id)


# -- supervisors ------------------------------------------------------------------------------------------------------

@router.get("/console/supervisor", response_class=HTMLResponse)
def supervisor_page(request: Request, notice: str | None = None, services: Services = Depends(get_services),
                    operator: Operator = Depends(page_operator)) -> HTMLResponse:
    if not operator.is_supervisor:
        return forbidden_page(request, operator, "このページはスーパーバイザーと管理者のためのものです。")
    load = services.queue.load_by_operator(operator.tenants)
    with services.db.read() as conn:
        staff = {o.username: o for t in operator.tenants for o in list_operators(conn, tenant=t) if o.active}
    rows = [{"username": name, "display_name": o.display_name, "role": o.role, "holding": load.get(name, 0)}
            for name, o in sorted(staff.items())]
    breached = [queue_entry(services, row, operator) for row in services.queue.breached(operator.tenants)]
    queued = sum(1 for row in services.queue.list_open(operator.tenants) if row.state == "queued")
    return render(request, "supervisor.html", {"operator": operator, "staff": rows, "breached": breached,
                                               "queued": queued, "switches": switch_rows(services, operator),
                                               "notice": SWITCH_NOTICES.get(notice or "")})


def forbidden_page(request: Request, operator: Operator, message: str) -> HTMLResponse:
    """A signed-in operator without the role gets a page that says so, with the way back (not a JSON error)."""
    return render(request, "forbidden.html", {"operator": operator, "message": message}, status_code=403)
