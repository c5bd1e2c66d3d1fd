"""A TestClient on the whole app with staff signed in through the console's own session cookie."""
from __future__ import annotations

from functools import lru_cache

from fastapi.testclient import TestClient

from escalation.accounts import hash_password
from madoguchi.web.staff_auth import SESSION_COOKIE, SessionSigner, start_session
from madoguchi.app import create_app
from storage import create_operator, get_operator


@lru_cache
def password_hash() -> str:
    return hash_password("correct horse battery")  # scrypt is slow on purpose: once per run


def app_client(services) -> TestClient:
    app = create_app(services, start_background=False)
    app.state.console_signer = SessionSigner(services.settings.secret_key, 3600)
    return TestClient(app)


def staff_session(app, services, username: str, role: str, tenants: list[str]) -> tuple[str, str]:
    """Create the operator and a console session for it; returns (session cookie value, CSRF token)."""
    with services.db.transaction() as conn:
        create_operator(conn, username=username, password_hash=password_hash(), display_name=f"{username}さん",
                        role=role, tenants=tenants)
        row = get_operator(conn, username)
    signer: SessionSigner = app.state.console_signer
    cookie = start_session(services, signer, row)
    return cookie, signer.csrf_token(signer.read(cookie)["sid"])


def sign_in(client: TestClient, services, username: str, role: str, tenants: list[str]) -> str:
    """Sign the client in (session cookie); returns the session's CSRF token."""
    cookie, csrf = staff_session(client.app, services, username, role, tenants)
    client.cookies.set(SESSION_COOKIE, cookie)
    return csrf
