"""Rate limits at the web chat's and Rasa REST's door (SQLite through the real app): past the limit a polite
reply in the resident's language with Retry-After, nothing recorded; resubmissions are never refused; the source
address is the proxy's X-Forwarded-For only when the proxy is trusted; signed LINE webhooks are never refused."""
from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from channels.line import LineAdapter
from channels.registry import TenantChannels
from madoguchi.app import create_app
from storage.schema import inbound_events
from tests.channels.fakes import line_signature

API = "/api/v1/t/amagasaki"


def limited(services, **limits):
    """This test's services only (the loaded tenants are shared by every test: copy, never change them)."""
    tenant = services.tenants["amagasaki"]
    services.tenants = {**services.tenants, "amagasaki": replace(tenant, raw={**tenant.raw, "rate_limits": limits})}


def start(client, headers=None):
    body = client.post(f"{API}/conversations", headers=headers or {}).json()
    return body["conversation_id"], {"X-Resident-Token": body["resident_token"]}


def send(client, conversation, headers, text="住民票はどこで取れますか", message_id=None, **extra_headers):
    return client.post(f"{API}/conversations/{conversation}/messages", headers={**headers, **extra_headers},
                       json={"text": text, "client_message_id": message_id or uuid.uuid4().hex})


def recorded(services) -> int:
    with services.db.read() as conn:
        return conn.execute(select(func.count()).select_from(inbound_events)).scalar_one()


def test_past_the_residents_limit_a_polite_reply_in_their_language_and_nothing_recorded(client, services):
    limited(services, resident_per_minute=3)
    conversation, headers = start(client)
    assert [send(client, conversation, headers).status_code for _ in range(3)] == [200, 200, 200]
    refused = send(client, conversation, headers)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 80  # ≤ 60 + 60·(1 − 2/3)
    assert "少しお待ちください" in refused.json()["detail"] and "1分あたり3件" in refused.json()["detail"]
    english = send(client, conversation, headers, text="Where can I get a residence certificate?")
    assert english.status_code == 429 and "please wait a moment" in english.json()["detail"]
    assert recorded(services) == 3


def test_a_resubmitted_message_is_never_refused(client, services):
    limited(services, resident_per_minute=2)
    conversation, headers = start(client)
    first = send(client, conversation, headers, message_id="0f8e6c2a9b7d4e31a5c6d7e8f9a0b1c2")
    send(client, conversation, headers)
    again = send(client, conversation, headers, message_id="0f8e6c2a9b7d4e31a5c6d7e8f9a0b1c2")  # the page retried after a lost response
    assert again.status_code == 200 and again.json()["answer"] == first.json()["answer"]


def test_the_source_address_limit_holds_across_residents(client, services):
    limited(services, address_per_minute=4, resident_per_minute=100)
    sessions = [start(client) for _ in range(3)]
    codes = [send(client, c, h).status_code for c, h in sessions for _ in range(2)]
    assert codes == [200, 200, 200, 200, 429, 429]


def test_new_sessions_are_limited_per_address_in_the_language_asked_for(client, services):
    limited(services, conversations_per_minute=2)
    first, headers = start(client)
    assert client.post(f"{API}/conversations").status_code == 201
    # a resident who already has a session resumes it: that is no new session, and never refused
    assert client.post(f"{API}/conversations", headers=headers).json()["conversation_id"] == first
    refused = client.post(f"{API}/conversations", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert refused.status_code == 429 and "잠시 기다려 주십시오" in refused.json()["detail"]
    assert client.post(f"{API}/conversations").status_code == 429


def test_forwarded_for_counts_only_behind_a_trusted_proxy(client, services, monkeypatch):
    limited(services, address_per_minute=2, resident_per_minute=100)
    conversation, headers = start(client)
    spoofed = [send(client, conversation, headers, **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code
               for i in range(3)]
    assert spoofed == [200, 200, 429]  # an untrusted peer's header is ignored: one address
    monkeypatch.setenv("MADOGUCHI_TRUSTED_PROXIES", "testclient,127.0.0.1")
    behind = [send(client, conversation, headers, **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code
              for i in range(3)]
    assert behind == [200, 200, 200]  # behind the proxy each resident's own address counts


def test_the_stateless_ask_is_limited_per_address(client, services):
    limited(services, address_per_minute=2)
    codes = [client.post(f"{API}/ask", json={"question": "住民票"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_a_rasa_client_is_told_politely_as_a_message(client, services):
    limited(services, resident_per_minute=1)
    url = "/t/amagasaki/webhooks/rest/webhook"
    assert client.post(url, json={"sender": "user-1", "message": "住民票"}).status_code == 200
    refused = client.post(url, json={"sender": "user-1", "message": "住民票はどこ"})
    assert refused.status_code == 200
    (message,) = refused.json()
    assert message["recipient_id"] == "user-1" and "少しお待ちください" in message["text"]


def test_a_signed_line_webhook_is_never_refused(services):
    limited(services, resident_per_minute=1, address_per_minute=1)
    services.channels["amagasaki"] = TenantChannels("amagasaki", {"line": LineAdapter("amagasaki", "s3cret", "t")})
    events = [{"type": "message", "mode": "active", "timestamp": 1, "webhookEventId": f"ev{i}",
               "deliveryContext": {"isRedelivery": False}, "replyToken": f"rt{i}",
               "source": {"type": "user", "userId": "U1"}, "message": {"type": "text", "id": str(i), "text": "質問"}}
              for i in range(20)]
    body = json.dumps({"destination": "Ubot", "events": events}).encode()
    with TestClient(create_app(services, start_background=False)) as client:
        for _ in range(3):  # and redelivered: still 200, nothing refused
            response = client.post("/webhooks/line/amagasaki", content=body,
                                   headers={"X-Line-Signature": line_signature("s3cret", body)})
            assert response.status_code == 200
    assert recorded(services) == 20
