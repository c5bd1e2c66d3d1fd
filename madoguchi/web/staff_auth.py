"""Staff sign-in for every staff page (operator console, review, insight): a signed session cookie, per-session
CSRF tokens, tenant scoping. Password hashes are the accounts' (escalation/accounts.py).

Session: the cookie holds {operator id, session id, issued-at, password fingerprint} signed with
settings.secret_key (itsdangerous). It is HttpOnly and SameSite=Lax, expires after `session_max_age_seconds`
(checked against the signed issued-at, not the browser's say-so), and dies when the password changes or the
operator is deactivated (both checked on every request). The session is also kept server side (storage.staff: a
hash of its id): signing out revokes it, a password change or `madoguchi users revoke-sessions` revokes all of the
account's, and a cookie whose session is not live signs nobody in, however well it is signed.

CSRF: each form carries `csrf_token` = the session id signed with a separate salt; every POST must present the
token of the current session (form field or X-CSRF-Token header for fetch()). The sign-in form, which has no
session yet, uses a short-lived pre-session cookie the same way (double submit, signed).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, URLSafeSerializer

from escalation.accounts import SUPERVISING_ROLES, password_fingerprint
from escalation.settings import get_escalation_settings
from madoguchi.composition import Services, get_services
from storage import (
    Row, create_staff_session, get_operator_by_id, operator_tenant_ids, revoke_staff_session, staff_session_is_live,
    utcnow,
)

SESSION_COOKIE = "madoguchi_console"
LOGIN_COOKIE = "madoguchi_console_login"


# -- the signed-in operator ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Operator:
    id: int
    username: str
    display_name: str
    role: str
    tenants: tuple[str, ...]
    session_id: str
    csrf_token: str

    @property
    def is_supervisor(self) -> bool:
        return self.role in SUPERVISING_ROLES

    def may_see(self, tenant: str) -> bool:
        return tenant in self.tenants


class SessionSigner:
    """Issues and reads session cookies and CSRF tokens; `clock` is injectable so expiry can be tested."""

    def __init__(self, secret_key: str, max_age_seconds: int, clock: Any = time.time) -> None:
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self._sessions = URLSafeSerializer(secret_key, salt="madoguchi.console.session")
        self._csrf = URLSafeSerializer(secret_key, salt="madoguchi.console.csrf")

    def issue(self, operator_row: Row, *, session_id: str | None = None, issued_at: float | None = None) -> str:
        """A signed cookie value; it signs in only once its session is recorded (start_session does both)."""
        issued_at = self._clock() if issued_at is None else issued_at
        return self._sessions.dumps({"op": operator_row.id, "sid": session_id or secrets.token_urlsafe(16),
                                     "iat": int(issued_at), "pw": password_fingerprint(operator_row.password_hash)})

    def read(self, cookie: str | None) -> dict[str, Any] | None:
        """The session's claims if the cookie is authentic and not expired, else None."""
        if not cookie:
            return None
        try:
            claims = self._sessions.loads(cookie)
        except BadSignature:
            return None
        if not isinstance(claims, dict) or self._clock() - float(claims.get("iat", 0)) > self.max_age_seconds:
            return None
        return claims

    def still_valid_for(self, claims: dict[str, Any], operator_row: Row | None) -> bool:
        return (operator_row is not None and bool(operator_row.active)
                and hmac.compare_digest(str(claims.get("pw")), password_fingerprint(operator_row.password_hash)))

    def csrf_token(self, session_id: str) -> str:
        return self._csrf.dumps(session_id)

    def csrf_matches(self, token: str | None, session_id: str) -> bool:
        if not token:
            return False
        try:
            return hmac.compare_digest(str(self._csrf.loads(token)), session_id)
        except BadSignature:
            return False

    def remaining_seconds(self, claims: dict[str, Any]) -> int:
        return max(0, int(float(claims["iat"]) + self.max_age_seconds - self._clock()))


def new_login_nonce() -> str:
    return secrets.token_urlsafe(16)


def session_id_hash(session_id: str) -> str:
    """What the database keeps of a session id: a copy of the table signs nobody in."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(services: Services, signer: SessionSigner, operator_row: Row) -> str:
    """Record a new session for the operator and return its signed cookie value."""
    session_id = secrets.token_urlsafe(24)
    with services.db.transaction() as conn:
        create_staff_session(conn, id_hash=session_id_hash(session_id), operator_id=operator_row.id,
                             expires_at=utcnow() + timedelta(seconds=signer.max_age_seconds))
    return signer.issue(operator_row, session_id=session_id)


def end_session(services: Services, operator: Operator, reason: str = "sign_out") -> bool:
    with services.db.transaction() as conn:
        return revoke_staff_session(conn, session_id_hash(operator.session_id), reason)


# -- session and CSRF -------------------------------------------------------------------------------------------------

def get_signer(request: Request) -> SessionSigner:
    """One signer per app (tests may put their own, with a fake clock, in app.state.console_signer)."""
    signer = getattr(request.app.state, "console_signer", None)
    if signer is None:
        services = request.app.state.services
        signer = SessionSigner(services.settings.secret_key, get_escalation_settings().session_max_age_seconds)
        request.app.state.console_signer = signer
    return signer


def _signed_in(request: Request, services: Services, signer: SessionSigner) -> Operator | None:
    claims = signer.read(request.cookies.get(SESSION_COOKIE))
    if claims is None:
        return None
    with services.db.read() as conn:
        row = get_operator_by_id(conn, int(claims["op"]))
        if not signer.still_valid_for(claims, row):
            return None
        if not staff_session_is_live(conn, session_id_hash(str(claims.get("sid", ""))), row.id):
            return None  # signed out, revoked, or never recorded
        tenants = tuple(operator_tenant_ids(conn, row.id))
    return Operator(id=row.id, username=row.username, display_name=row.display_name, role=row.role,
                    tenants=tenants, session_id=claims["sid"], csrf_token=signer.csrf_token(claims["sid"]))


def page_operator(request: Request, services: Services = Depends(get_services),
                  signer: SessionSigner = Depends(get_signer)) -> Operator:
    """For pages: the signed-in operator, or a redirect to the sign-in page."""
    operator = _signed_in(request, services, signer)
    if operator is None:
        raise HTTPException(status_code=303, headers={"Location": "/console/login"})
    return operator


def api_operator(request: Request, services: Services = Depends(get_services),
                 signer: SessionSigner = Depends(get_signer)) -> Operator:
    """For JSON endpoints: the signed-in operator, or 401 (the page's script sends the browser to sign in)."""
    operator = _signed_in(request, services, signer)
    if operator is None:
        raise HTTPException(status_code=401, detail="signed out")
    return operator


async def checked_operator(request: Request, operator: Operator = Depends(page_operator),
                           signer: SessionSigner = Depends(get_signer)) -> Operator:
    """For POSTs: signed in AND presenting this session's CSRF token (form field or X-CSRF-Token header)."""
    token = request.headers.get("X-CSRF-Token")
    if token is None:
        token = (await request.form()).get("csrf_token")
    if not signer.csrf_matches(token, operator.session_id):
        raise HTTPException(status_code=403, detail="CSRF token missing or invalid")
    return operator


async def checked_api_operator(request: Request, operator: Operator = Depends(api_operator),
                               signer: SessionSigner = Depends(get_signer)) -> Operator:
    if not signer.csrf_matches(request.headers.get("X-CSRF-Token"), operator.session_id):
        raise HTTPException(status_code=403, detail="CSRF token missing or invalid")
    return operator
