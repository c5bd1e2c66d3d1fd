"""Every response's security headers, every route's body limit (413 before the body is read) and the refusal to
start with a known secret key — each reproduced as the probe of issue 14 did it (items 8, 10 and 13)."""
from __future__ import annotations

import http.client
import json
import os
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from channels.email import EmailAdapter, EmailInboundServer
from channels.email.adapter import SmtpSettings
from channels.line import LineAdapter
from config.settings import DEFAULT_SECRET_KEY, InsecureConfiguration, Settings, secret_key_problem
from madoguchi.app import create_app
from madoguchi.composition import build_services
from madoguchi.web.hardening import BODY_LIMITS
from madoguchi.web.staff_auth import SESSION_COOKIE, SessionSigner
from storage import get_operator
from storage.schema import inbound_events
from tests.channels.fakes import line_signature
from tests.channels.standins import ScriptedEngine
from tests.channels.wiring import LINE_SECRET, LINE_TOKEN, LiveServer, count, make_services, tenant_channels
from tests.escalation.console_support import make_operator

STRONG_KEY = "a-deployment-key-nobody-else-has-0123456789abcdef"
# Every kind of page and answer the probe looked at: public and staff pages, exports, the API documentation,
# JSON, errors, static files.
PAGES = ["/t/tokyo/", "/t/tokyo/transparency", "/t/tokyo/insight", "/t/tokyo/insight.csv", "/t/tokyo/review",
         "/insight", "/insight.csv", "/console/login", "/console", "/docs", "/redoc", "/openapi.json",
         "/t/nowhere/transparency", "/static/chat.css", "/api/v1/t/tokyo/conversations/none/messages"]
HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


@pytest.fixture
def services(db, tmp_path):
    return make_services(db, tmp_path, channels={
        "tokyo": tenant_channels("tokyo", {"line": LineAdapter("tokyo", LINE_SECRET, LINE_TOKEN)})})


@pytest.fixture
def client(services):
    with TestClient(create_app(services, start_background=False), base_url="https://madoguchi.city.example.jp",
                    follow_redirects=False) as client:
        yield client


# -- item 13: headers on every response -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code < 500
    for name in HEADERS:
        assert name in response.headers, f"{path} ({response.status_code}) has no {name}"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    if not path.startswith("/static/"):
        assert response.headers["cache-control"] == "no-store", path


def test_the_docs_page_allows_only_its_own_inline_script(client):
    page = client.get("/docs")
    policy = page.headers["content-security-policy"]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page.text and "<script>" not in page.text
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert client.get("/docs").headers["content-security-policy"] != policy  # a fresh nonce per response


def test_no_hsts_on_plain_http_in_development(db, tmp_path):
    services = build_services(Settings(data_dir=tmp_path), db=db, engine=ScriptedEngine(), channels={})
    with TestClient(create_app(services, start_background=False)) as client:
        response = client.get("/t/tokyo/transparency")
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_route_that_sets_its_own_policy_keeps_it(client):
    """The console sends a stricter policy of its own; the defaults never overwrite it or add a second one."""
    response = client.get("/console/login")
    assert len(response.headers.get_list("content-security-policy")) == 1
    assert response.headers["content-security-policy"].count("frame-ancestors") == 1


# -- item 10: body limits before reading -----------------------------------------------------------------------------

def test_an_unsigned_20_mb_line_body_is_refused_before_it_is_read_or_hmaced(services, db):
    """The probe's attack: 20 MB with no signature was read whole and HMACed. 413 comes before the signature check
    (which would say 401), over a real socket, from the Content-Length alone."""
    with LiveServer(create_app(services, start_background=False)) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.putrequest("POST", "/webhooks/line/tokyo")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(20 * 1024 * 1024))
        connection.endheaders()
        connection.send(b"{" + b" " * 65536)  # the rest never needs to arrive
        response = connection.getresponse()
        assert response.status == 413
        assert "too large" in json.loads(response.read())["detail"]
    assert count(db, inbound_events) == 0


def test_a_chunked_body_is_cut_off_at_the_limit(client, db):
    """No Content-Length: the body is counted while it streams and refused once past the limit."""
    body = json.dumps({"destination": "U", "events": [], "pad": "x" * (2 * 1024 * 1024)}).encode()
    chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
    response = client.post("/webhooks/line/tokyo", content=chunks,
                           headers={"X-Line-Signature": line_signature(LINE_SECRET, body)})
    assert response.status_code == 413
    assert count(db, inbound_events) == 0


def test_a_signed_body_under_the_limit_is_still_accepted(client, db):
    body = json.dumps({"destination": "U", "events": []}).encode()
    response = client.post("/webhooks/line/tokyo", content=body,
                           headers={"X-Line-Signature": line_signature(LINE_SECRET, body)})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/t/tokyo/conversations", "/console/login", "/slack/interactions",
                                  "/webhooks/twilio/voice/tokyo", "/t/tokyo/webhooks/rest/webhook"])
def test_every_route_has_a_limit(client, path):
    limit = next(limit for prefix, limit in BODY_LIMITS if path.startswith(prefix))
    response = client.post(path, content=b"x" * (limit + 1), headers={"Content-Type": "application/json"})
    assert response.status_code == 413, path


def _mail(size: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "resident@example.jp", "info@city.example.jp", "大きな添付"
    mail["Message-ID"] = "<big@example.jp>"
    mail.set_content("ごみの出し方を教えてください。")
    mail.add_attachment(b"\0" * size, maintype="application", subtype="octet-stream", filename="big.bin")
    return mail


def test_the_smtp_endpoint_refuses_mail_over_its_limit_with_552(tmp_path):
    """The probe's 2.4 MB mail was stored whole; over the limit it is now refused, with a 5xx that says why."""
    received: list = []
    adapter = EmailAdapter("tokyo", "info@city.example.jp", SmtpSettings(host="127.0.0.1"))
    with EmailInboundServer([adapter], received.extend, port=0, max_bytes=1024 * 1024) as server:
        with smtplib.SMTP(server.host, server.port, timeout=10) as smtp:
            with pytest.raises(smtplib.SMTPResponseException) as refused:
                smtp.send_message(_mail(2_400_000))
            smtp.rset()
            smtp.send_message(_mail(10_000))  # a normal mail on the same connection still goes through
    assert refused.value.smtp_code == 552
    assert b"too" in refused.value.smtp_error.lower() or b"size" in refused.value.smtp_error.lower()
    assert len(received) == 1


def test_http_inbound_mail_over_the_mail_limit_is_413(db, tmp_path):
    settings = Settings(data_dir=tmp_path / "var", max_mail_bytes=100_000)
    adapter = EmailAdapter("tokyo", "info@city.example.jp", SmtpSettings(host="127.0.0.1"), inbound_token=lambda: "t")
    services = build_services(settings, db=db, engine=ScriptedEngine(),
                              channels={"tokyo": tenant_channels("tokyo", {"email": adapter})})
    with TestClient(create_app(services, start_background=False)) as client:
        big = client.post("/webhooks/email/tokyo", content=_mail(200_000).as_bytes(),
                          headers={"Authorization": "Bearer t"})
        small = client.post("/webhooks/email/tokyo", content=_mail(1_000).as_bytes(),
                            headers={"Authorization": "Bearer t"})
    assert (big.status_code, small.status_code) == (413, 200)
    assert count(db, inbound_events) == 1


# -- item 8: the default secret key outside development ----------------------------------------------------------

@pytest.mark.parametrize("overrides", [
    {"public_base_url": "https://madoguchi.city.example.jp"},
    {"database_url": "postgresql+psycopg://madoguchi@db:5432/madoguchi"},
    {"environment": "production"},
])
def test_the_default_key_is_refused_outside_development(tmp_path, overrides):
    settings = Settings(data_dir=tmp_path, secret_key=DEFAULT_SECRET_KEY, **overrides)
    with pytest.raises(InsecureConfiguration, match="MADOGUCHI_SECRET_KEY"):
        build_services(settings, engine=ScriptedEngine(), channels={})
    assert "at least" in secret_key_problem(settings.model_copy(update={"secret_key": "short"}))
    assert secret_key_problem(settings.model_copy(update={"secret_key": STRONG_KEY})) is None


def test_development_keeps_the_default_key(tmp_path):
    assert secret_key_problem(Settings(data_dir=tmp_path)) is None  # loopback http and SQLite
    forced = Settings(data_dir=tmp_path, public_base_url="https://x.example", environment="development")
    assert secret_key_problem(forced) is None


def test_serve_says_so_and_exits(tmp_path):
    env = {**os.environ, "MADOGUCHI_PUBLIC_BASE_URL": "https://madoguchi.city.example.jp",
           "MADOGUCHI_DATA_DIR": str(tmp_path), "MADOGUCHI_SECRET_KEY": DEFAULT_SECRET_KEY}
    env.pop("MADOGUCHI_ENVIRONMENT", None)
    run = subprocess.run([sys.executable, "-m", "madoguchi.cli", "serve", "--no-bootstrap"], env=env,
                         capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 2
    assert "refusing to start" in run.stderr and "MADOGUCHI_SECRET_KEY" in run.stderr


def test_a_session_forged_with_the_known_key_signs_nobody_in(db, tmp_path):
    """The probe forged an admin session with the default key and a password hash read from the database."""
    settings = Settings(data_dir=tmp_path, secret_key=STRONG_KEY, public_base_url="https://madoguchi.example.jp")
    services = build_services(settings, db=db, engine=ScriptedEngine(), channels={})
    make_operator(db, "admin", ["tokyo"], role="admin")
    with db.read() as conn:
        row = get_operator(conn, "admin")
    forged = SessionSigner(DEFAULT_SECRET_KEY, 3600).issue(row)
    with TestClient(create_app(services, start_background=False), base_url="https://madoguchi.example.jp",
                    follow_redirects=False) as client:
        client.cookies.set(SESSION_COOKIE, forged)
        response = client.get("/console")
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
