"""Operator sign-in: scrypt password hashes, a signed session cookie, per-session CSRF tokens, tenant scoping.

Passwords: hashlib.scrypt (n=2**14, r=8, p=1; ~16 MiB, ~50 ms) with a random salt, stored as
`scrypt$n$r$p$salt$hash` (base64), so the cost can be raised later without breaking old hashes.

Session: the cookie holds {operator id, session id, issued-at, password fingerprint} signed with
settings.secret_key (itsdangerous). It is HttpOnly and SameSite=Lax, expires after `session_max_age_seconds`
(checked against the signed issued-at, not the browser's say-so), and dies when the password changes or the
operator is deactivated (both checked on every request).

CSRF: each form carries `csrf_token` = the session id signed with a separate salt; every POST must present the
token of the current session (form field or X-CSRF-Token header for fetch()). The sign-in form, which has no
session yet, uses a short-lived pre-session cookie the same way (double submit, signed).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Row

SESSION_COOKIE = "madoguchi_console"
LOGIN_COOKIE = "madoguchi_console_login"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
ROLES = ("operator", "supervisor", "admin")


# -- passwords ------------------------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * 1024 * 1024, dklen=32)


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(candidate, base64.b64decode(digest))


# A fixed hash to check against when the username is unknown, so both failures take the same time.
_DUMMY_HASH: str | None = None


def burn_password_check(password: str) -> None:
    global _DUMMY_HASH
    _DUMMY_HASH = _DUMMY_HASH or hash_password("not-a-real-password")
    verify_password(password, _DUMMY_HASH)


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
        return self.role in ("supervisor", "admin")

    def may_see(self, tenant: str) -> bool:
        return tenant in self.tenants


def _fingerprint(password_hash: str) -> str:
    """Changes whenever the password does, which ends every session signed before."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class SessionSigner:
    """Issues and reads session cookies and CSRF tokens; `clock` is injectable so expiry can be tested."""

    def __init__(self, secret_key: str, max_age_seconds: int, clock: Any = time.time) -> None:
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self._sessions = URLSafeSerializer(secret_key, salt="madoguchi.console.session")
        self._csrf = URLSafeSerializer(secret_key, salt="madoguchi.console.csrf")

    def issue(self, operator_row: Row, *, issued_at: float | None = None) -> str:
        issued_at = self._clock() if issued_at is None else issued_at
        return self._sessions.dumps({"op": operator_row.id, "sid": secrets.token_urlsafe(16), "iat": int(issued_at),
                                     "pw": _fingerprint(operator_row.password_hash)})

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
                and hmac.compare_digest(str(claims.get("pw")), _fingerprint(operator_row.password_hash)))

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
