"""LINE end to end: webhook → inbox → worker → outbox → the fake LINE API, on real SQLite (and PostgreSQL)."""
from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from channels.common import uuid_for_key
from channels.line import LineAdapter
from conversations.turns import process_inbound_row
from madoguchi.app import create_app
from storage.schema import inbound_events
from storage.testing import postgres_unavailable, temporary_database
from tests.channels.fakes import FakeLineApi, line_signature
from tests.channels.standins import ANSWER_URL, ScriptedEngine
from tests.channels.wiring import (
    LINE_SECRET, LINE_TOKEN, LiveServer, count, counts, escalation_rows, make_services, outbox_rows, running_loops,
    tenant_channels, wait_until,
)

PATH = "/webhooks/line/tokyo"


def webhook(*events: dict) -> bytes:
    return json.dumps({"destination": "Ubot", "events": list(events)}, ensure_ascii=False).encode()


def text_event(text: str, *, event_id: str | None = None, reply_token: str = "rt-1", user: str = "U123",
               age_s: float = 0.0) -> dict:
    return {"type": "message", "mode": "active", "timestamp": int((time.time() - age_s) * 1000),
            "webhookEventId": event_id or uuid.uuid4().hex, "deliveryContext": {"isRedelivery": False},
            "replyToken": reply_token, "source": {"type": "user", "userId": user},
            "message": {"type": "text", "id": "4687895778", "text": text}}


def signed(body: bytes, secret: str = LINE_SECRET) -> dict[str, str]:
    return {"X-Line-Signature": line_signature(secret, body), "Content-Type": "application/json"}


@pytest.fixture
def db(tmp_path):
    with temporary_database("sqlite", tmp_path) as database:
        yield database


@pytest.fixture
def line_api():
    with FakeLineApi(LINE_TOKEN) as fake:
        yield fake


@pytest.fixture
def services(db, tmp_path, line_api):
    adapter = LineAdapter("tokyo", LINE_SECRET, LINE_TOKEN, api_host=line_api.url)
    return make_services(db, tmp_path, channels={"tokyo": tenant_channels("tokyo", {"line": adapter})})


@pytest.fixture
def client(services):
    with TestClient(create_app(services, start_background=False)) as test_client:
        yield test_client


class TestLineWebhookRoute:
    body = webhook(text_event("粗大ごみの出し方", event_id="01HEVENT0001"))

    def test_valid_signature_is_stored_and_acknowledged(self, client, db):
        response = client.post(PATH, content=self.body, headers=signed(self.body))
        assert response.status_code == 200
        assert response.json() == {"received": 1, "new": 1}
        assert count(db, inbound_events, inbound_events.c.external_id == "01HEVENT0001") == 1

    @pytest.mark.parametrize("case", ["tampered", "wrong_secret", "missing", "empty"])
    def test_bad_signature_is_refused_and_nothing_stored(self, client, db, case):
        body, headers = self.body, signed(self.body)
        if case == "tampered":
            body = body.replace("粗大".encode(), "大粗".encode())
        elif case == "wrong_secret":
            headers = signed(body, "another-secret")
        elif case == "missing":
            del headers["X-Line-Signature"]
        else:
            headers["X-Line-Signature"] = ""
        response = client.post(PATH, content=body, headers=headers)
        assert response.status_code == (401 if case in ("missing", "empty") else 403)
        assert count(db, inbound_events) == 0

    def test_malformed_payload_is_400_with_a_reason(self, client, db):
        body = b'{"events": "not a list"}'
        response = client.post(PATH, content=body, headers=signed(body))
        assert response.status_code == 400
        assert "events" in response.json()["detail"]
        assert count(db, inbound_events) == 0

    def test_verification_request_without_events_is_200(self, client, db):
        body = webhook()
        response = client.post(PATH, content=body, headers=signed(body))
        assert response.status_code == 200 and response.json() == {"received": 0, "new": 0}
        assert count(db, inbound_events) == 0

    def test_redelivery_is_stored_once(self, client, db):
        for _ in range(3):
            assert client.post(PATH, content=self.body, headers=signed(self.body)).status_code == 200
        assert count(db, inbound_events) == 1

    def test_channel_off_for_the_tenant_is_404_with_the_reason(self, client, db):
        response = client.post("/webhooks/line/amagasaki", content=self.body, headers=signed(self.body))
        assert response.status_code == 404
        assert "off for amagasaki" in response.json()["detail"]
        assert client.post("/webhooks/line/nowhere", content=self.body, headers=signed(self.body)).status_code == 404
        assert count(db, inbound_events) == 0


class TestLineEndToEnd:
    def test_question_is_answered_with_the_reply_token(self, client, services, line_api, db):
        token = line_api.issue_reply_token()
        body = webhook(text_event("粗大ごみの出し方", reply_token=token))
        with running_loops(services):
            assert client.post(PATH, content=body, headers=signed(body)).status_code == 200
            wait_until(lambda: line_api.delivered, what="the LINE reply")
            wait_until(lambda: outbox_rows(db)[0].status == "sent", what="the outbox row marked sent")
        (reply,) = line_api.delivered
        assert reply["replyToken"] == token
        assert "粗大ごみは電話" in reply["messages"][0]["text"] and ANSWER_URL in reply["messages"][0]["text"]
        assert counts(db) == {"inbound": 1, "turns": 1, "outbox": 1, "escalations": 0}

    def test_stale_reply_token_is_replaced_by_a_push_with_the_retry_key(self, client, services, line_api, db):
        body = webhook(text_event("粗大ごみの出し方", reply_token=line_api.issue_reply_token(), age_s=600))
        with running_loops(services):
            client.post(PATH, content=body, headers=signed(body))
            wait_until(lambda: line_api.delivered, what="the LINE push")
        (push,) = line_api.calls_to("/v2/bot/message/push")
        assert push.json()["to"] == "U123"
        assert push.headers["x-line-retry-key"] == uuid_for_key(outbox_rows(db)[0].idempotency_key)
        assert not line_api.calls_to("/v2/bot/message/reply")

    def test_clarification_choices_become_quick_reply_buttons(self, client, services, line_api):
        body = webhook(text_event("ごみの選択", reply_token=line_api.issue_reply_token()))
        with running_loops(services):
            client.post(PATH, content=body, headers=signed(body))
            wait_until(lambda: line_api.delivered, what="the LINE reply")
        items = line_api.delivered[0]["messages"][-1]["quickReply"]["items"]
        assert [i["action"]["label"] for i in items] == ["粗大ごみ", "資源ごみ"]

    def test_request_for_a_person_reaches_the_queue_and_is_told_so(self, client, services, line_api, db):
        body = webhook(text_event("担当者と話したい", reply_token=line_api.issue_reply_token()))
        with running_loops(services):
            client.post(PATH, content=body, headers=signed(body))
            wait_until(lambda: line_api.delivered, what="the LINE reply")
        (escalation,) = escalation_rows(db)
        assert escalation.state == "queued" and escalation.reason == "requested" and escalation.tenant == "tokyo"
        assert "担当者" in line_api.delivered[0]["messages"][0]["text"]

    def test_a_failing_turn_is_retried_and_answered_once(self, client, services, line_api, db):
        failures = {"left": 1}

        def flaky(services_, row):
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("index not loaded yet")
            return process_inbound_row(services_, row)

        services.runtime.process = flaky
        with db.transaction() as conn:  # retry at once instead of after the production backoff
            conn.exec_driver_sql("CREATE TRIGGER fast_retry AFTER UPDATE OF last_error ON inbound_events "
                                 "BEGIN UPDATE inbound_events SET locked_until = NULL WHERE id = NEW.id; END")
        body = webhook(text_event("粗大ごみの出し方", reply_token=line_api.issue_reply_token()))
        with running_loops(services):
            client.post(PATH, content=body, headers=signed(body))
            wait_until(lambda: line_api.delivered, what="the LINE reply after a retry")
        assert counts(db)["turns"] == 1 and len(line_api.delivered) == 1


def deliver_many(url: str, body: bytes, headers: dict[str, str], total: int, connections: int) -> list[int]:
    """POST the same body `total` times over `connections` keep-alive connections; returns the status codes."""
    host, port = url.removeprefix("http://").split(":")
    per_connection = [total // connections + (i < total % connections) for i in range(connections)]
    start = threading.Barrier(connections)

    def one_connection(n: int) -> list[int]:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        start.wait()
        statuses = []
        for _ in range(n):
            conn.request("POST", PATH, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()
        return statuses

    with ThreadPoolExecutor(connections) as pool:
        return [s for statuses in pool.map(one_connection, per_connection) for s in statuses]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_thousand_identical_deliveries_give_one_event_one_turn_one_reply(kind, tmp_path, line_api):
    if kind == "postgresql" and (reason := postgres_unavailable()):
        pytest.skip(reason)
    with temporary_database(kind, tmp_path) as db:
        engine = ScriptedEngine()
        adapter = LineAdapter("tokyo", LINE_SECRET, LINE_TOKEN, api_host=line_api.url)
        services = make_services(db, tmp_path, engine=engine,
                                 channels={"tokyo": tenant_channels("tokyo", {"line": adapter})})
        body = webhook(text_event("粗大ごみの出し方", event_id="01HSAME", reply_token=line_api.issue_reply_token()))
        with running_loops(services), LiveServer(create_app(services, start_background=False)) as server:
            statuses = deliver_many(server.url, body, signed(body), total=1000, connections=50)
            wait_until(lambda: line_api.delivered, what="the reply")
            wait_until(lambda: outbox_rows(db)[0].status == "sent", what="the outbox row marked sent")
            time.sleep(0.3)  # let any wrongly duplicated work surface before counting
        assert statuses == [200] * 1000
        assert counts(db) == {"inbound": 1, "turns": 1, "outbox": 1, "escalations": 0}
        assert len(engine.calls) == 1 and len(line_api.delivered) == 1


def test_the_app_starts_the_channel_loops_with_its_lifespan(services, line_api, db):
    """create_app(services) with its background loops (as `madoguchi serve` runs it): a webhook is answered."""
    token = line_api.issue_reply_token()
    body = webhook(text_event("粗大ごみの出し方", reply_token=token))
    with TestClient(create_app(services)) as app_client:
        assert app_client.post(PATH, content=body, headers=signed(body)).status_code == 200
        wait_until(lambda: line_api.delivered, what="the reply sent by the app's own loops")
    assert line_api.delivered[0]["replyToken"] == token
