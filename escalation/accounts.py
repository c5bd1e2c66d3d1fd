"""Operator accounts: scrypt password hashes and the roles an account may have (the console's sign-in is in
madoguchi/web/staff_auth.py; accounts are created with `madoguchi users`, there is no sign-up page).

Passwords: hashlib.scrypt (n=2**14, r=8, p=1; ~16 MiB, ~50 ms) with a random salt, stored as
`scrypt$n$r$p$salt$hash` (base64), so the cost can be raised later without breaking old hashes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
ROLES = ("operator", "supervisor", "admin")
SUPERVISING_ROLES = ("supervisor", "admin")


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


def password_fingerprint(password_hash: str) -> str:
    """Changes whenever the password does (a session signed before then ends)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]
