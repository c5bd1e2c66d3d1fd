"""Slack alerts and the 「対応する」 button, against the fake Slack Web API on loopback (real slack-sdk client),
with claims on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from channels.registry import TenantChannels
from channels.slack import CLAIM_ACTION_ID, SlackAdapter
from escalation.slack_alerts import SlackNotifier
from madoguchi.app import create_app
from tests.channels.fakes import FakeSlackApi, slack_signature
from tests.escalation.console_support import make_escalation, make_operator, make_services

SECRET = "slack-signing-secret"
TOKEN = "xoxb-test"
CHANNEL = "C-ALERTS"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack_api():
    with FakeSlackApi(TOKEN) as fake:
        yield fake


@pytest.fixture
def services(db, tmp_path, slack_api):
    adapter = SlackAdapter("tokyo", SECRET, TOKEN, CHANNEL, base_url=slack_api.url + "/api/")
    return make_services(db, tmp_path, channels={"tokyo": TenantChannels("tokyo", adapters={"slack": adapter})})


@pytest.fixture
def client(services):
    with TestClient(create_app(services, start_background=False)) as client:
        yield client


def posted(slack_api):
    return [c.json() for c in slack_api.calls_to("/api/chat.postMessage")]


def buttons(message):
    found = []
    for block in message["blocks"]:
        elements = block.get("elements", []) + ([block["accessory"]] if "accessory" in block else [])
        found += [e["value"] for e in elements if e.get("action_id") == CLAIM_ACTION_ID]
    return found


class TestAlerts:
    def test_high_priority_is_posted_at_once_with_a_claim_button(self, services, slack_api):
        urgent, _ = make_escalation(services, reason="risk", risk="health", address="r1")
        ordinary, _ = make_escalation(services, address="r2")
        assert SlackNotifier(services, clock=Clock()).run_once() == 1
        [message] = posted(slack_api)
        assert message["channel"] == CHANNEL and buttons(message) == [urgent]
        assert ordinary not in json.dumps(message)

    def test_ordinary_ones_are_batched_into_one_message(self, services, slack_api):
        first, _ = make_escalation(services, address="r1")
        second, _ = make_escalation(services, address="r2", reason="low_confidence")
        clock = Clock()
        notifier = SlackNotifier(services, batch_seconds=60, clock=clock)
        assert notifier.run_once() == 0
        clock.now += 59
        assert notifier.run_once() == 0
        clock.now += 1
        assert notifier.run_once() == 2
        [message] = posted(slack_api)
        assert sorted(buttons(message)) == sorted([first, second]) and "対応待ち 2 件" in message["text"]

    def test_nothing_is_announced_twice_even_by_a_new_notifier(self, services, slack_api):
        make_escalation(services, reason="risk", risk="emergency")
        SlackNotifier(services, clock=Clock()).run_once()
        assert SlackNotifier(services, clock=Clock()).run_once() == 0
        assert len(posted(slack_api)) == 1

    def test_alerts_carry_no_words_of_the_resident(self, services, slack_api):
        make_escalation(services, reason="risk", risk="crisis", question="山田太郎です。090-1234-5678 に電話ください")
        SlackNotifier(services, clock=Clock()).run_once()
        body = json.dumps(posted(slack_api), ensure_ascii=False)
        assert "山田" not in body and "090" not in body and "/console/escalations/" in body


def press(escalation_id, user="U0SATO", channel=CHANNEL, ts="1700000001.000100", blocks=None, response_url=None):
    payload = {"type": "block_actions", "trigger_id": f"trigger-{time.monotonic_ns()}",
               "user": {"id": user, "username": "sato"}, "team": {"id": "T1"},
               "container": {"type": "message", "message_ts": ts, "channel_id": channel},
               "channel": {"id": channel}, "response_url": response_url,
               "message": {"ts": ts, "text": "alert", "blocks": blocks or []},
               "actions": [{"action_id": CLAIM_ACTION_ID, "block_id": f"escalation:{escalation_id}",
                            "value": escalation_id, "type": "button", "action_ts": "1700000002.1"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(body, secret=SECRET):
    timestamp = int(time.time())
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": slack_signature(secret, timestamp, body),
            "Content-Type": "application/x-www-form-urlencoded"}


def post_alert_and_press(services, slack_api, client, escalation_id, user="U0SATO", **options):
    SlackNotifier(services, batch_seconds=0, clock=Clock()).run_once()
    message = posted(slack_api)[-1]
    ts = next(ts for (channel, ts), body in slack_api.messages.items() if body is message or body == message)
    body = press(escalation_id, user=user, ts=ts, blocks=message["blocks"], **options)
    return client.post("/slack/interactions", content=body, headers=signed(body)), ts


class TestClaimButton:
    def test_pressing_claims_for_the_mapped_operator_and_updates_the_alert(self, services, slack_api, client):
        make_operator(services.db, "sato", ["tokyo"], slack_user_id="U0SATO")
        first, _ = make_escalation(services, address="r1")
        second, _ = make_escalation(services, address="r2")
        response, ts = post_alert_and_press(services, slack_api, client, first)
        assert response.status_code == 200 and "担当になりました" in response.json()["text"]
        assert services.queue.get(first).claimed_by == "sato"
        assert services.queue.get(second).state == "queued"
        updated = slack_api.messages[(CHANNEL, ts)]
        assert buttons(updated) == [second]  # the other line of the batch keeps its button
        assert "<@U0SATO> さんが対応中" in json.dumps(updated, ensure_ascii=False)

    def test_an_unmapped_slack_user_gets_an_ephemeral_error_and_claims_nothing(self, services, slack_api, client):
        escalation_id, _ = make_escalation(services, reason="risk", risk="health")
        response, _ = post_alert_and_press(services, slack_api, client, escalation_id, user="U0STRANGER",
                                           response_url=slack_api.url + "/actions/T1/respond")
        assert response.json()["response_type"] == "ephemeral"
        assert "登録されていません" in response.json()["text"]
        assert services.queue.get(escalation_id).state == "queued"
        [note] = slack_api.calls_to("/actions/T1/respond")
        assert note.json()["response_type"] == "ephemeral"
        assert slack_api.calls_to("/api/chat.update") == []

    def test_an_operator_of_another_tenant_may_not_claim(self, services, slack_api, client):
        make_operator(services.db, "hanako", ["amagasaki"], slack_user_id="U0HANAKO")
        escalation_id, _ = make_escalation(services, reason="risk", risk="health")
        response, _ = post_alert_and_press(services, slack_api, client, escalation_id, user="U0HANAKO")
        assert response.json()["response_type"] == "ephemeral"
        assert services.queue.get(escalation_id).state == "queued"

    def test_a_second_press_is_told_who_has_it(self, services, slack_api, client):
        make_operator(services.db, "sato", ["tokyo"], slack_user_id="U0SATO")
        make_operator(services.db, "tanaka", ["tokyo"], slack_user_id="U0TANAKA")
        escalation_id, _ = make_escalation(services, reason="risk", risk="health")
        post_alert_and_press(services, slack_api, client, escalation_id)
        body = press(escalation_id, user="U0TANAKA")
        second = client.post("/slack/interactions", content=body, headers=signed(body))
        assert "sato さんが対応中" in second.json()["text"]
        assert services.queue.get(escalation_id).claimed_by == "sato"

    def test_a_bad_signature_is_refused_and_claims_nothing(self, services, slack_api, client):
        make_operator(services.db, "sato", ["tokyo"], slack_user_id="U0SATO")
        escalation_id, _ = make_escalation(services)
        body = press(escalation_id)
        assert client.post("/slack/interactions", content=body, headers=signed(body, "wrong")).status_code == 401
        headers = signed(body)
        tampered = body.replace(b"U0SATO", b"U0SATP")
        assert client.post("/slack/interactions", content=tampered, headers=headers).status_code == 401
        assert services.queue.get(escalation_id).state == "queued"

    def test_the_tenant_route_only_accepts_that_tenants_signature(self, services, slack_api, client):
        make_operator(services.db, "sato", ["tokyo"], slack_user_id="U0SATO")
        escalation_id, _ = make_escalation(services)
        body = press(escalation_id)
        assert client.post("/slack/interactions/amagasaki", content=body, headers=signed(body)).status_code == 401
        ok = client.post("/slack/interactions/tokyo", content=body, headers=signed(body))
        assert ok.status_code == 200 and services.queue.get(escalation_id).claimed_by == "sato"
