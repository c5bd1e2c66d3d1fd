"""The kill switches on the supervisor page (TestClient, SQLite and PostgreSQL): a supervisor turns answering off
and back, every change is audited, operators and other tenants' supervisors cannot touch them."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from conversations.switches import ANSWERING, switches_in_force
from madoguchi.app import create_app
from storage import list_audit
from tests.escalation.console_support import make_operator, make_services, sign_in


@pytest.fixture
def services(db, tmp_path):
    return make_services(db, tmp_path)


@pytest.fixture
def client(services):
    with TestClient(create_app(services, start_background=False)) as client:
        yield client


def in_force(services, tenant="tokyo", channel="web"):
    with services.db.read() as conn:
        return switches_in_force(conn, services.tenant(tenant), channel)


def flip(client, csrf, action, switch=ANSWERING, tenant="tokyo", reason=""):
    return client.post("/console/switches", data={"csrf_token": csrf, "tenant": tenant, "switch": switch,
                                                  "action": action, "reason": reason}, follow_redirects=False)


def test_a_supervisor_turns_answering_off_and_on_again_and_each_change_is_audited(client, services, db):
    make_operator(db, "boss", ["tokyo"], role="supervisor")
    csrf = sign_in(client, "boss")
    page = client.get("/console/supervisor")
    assert 'id="switches"' in page.text and 'data-switch="channel:line"' in page.text
    response = flip(client, csrf, "off", reason="誤回答の調査中")
    assert response.status_code == 303 and response.headers["location"].startswith("/console/supervisor")
    assert not in_force(services).answering
    page = client.get(response.headers["location"])
    assert "停止中" in page.text and "誤回答の調査中" in page.text and "切り替えました" in page.text
    assert flip(client, csrf, "reset").status_code == 303
    assert in_force(services).answering
    with db.read() as conn:
        actions = [(r.action, r.actor, r.target) for r in list_audit(conn) if r.action.startswith("switch")]
    assert actions == [("switch_reset", "boss", ANSWERING), ("switch_off", "boss", ANSWERING)]


def test_a_channel_is_switched_off_on_its_own(client, services, db):
    make_operator(db, "boss", ["tokyo"], role="supervisor")
    csrf = sign_in(client, "boss")
    flip(client, csrf, "off", switch="channel:line")
    assert not in_force(services, channel="line").channel_open
    assert in_force(services, channel="web").all_on


def test_operators_cannot_switch_and_are_refused(client, services, db):
    make_operator(db, "sato", ["tokyo"])
    csrf = sign_in(client, "sato")
    assert flip(client, csrf, "off").status_code == 403
    assert in_force(services).answering


def test_another_tenants_switch_is_not_found_and_a_bad_token_is_refused(client, services, db):
    make_operator(db, "boss", ["amagasaki"], role="supervisor")
    csrf = sign_in(client, "boss")
    assert flip(client, csrf, "off", tenant="tokyo").status_code == 404
    assert flip(client, "forged", "off", tenant="amagasaki").status_code == 403
    assert in_force(services).answering and in_force(services, "amagasaki").answering


def test_an_unknown_switch_or_action_changes_nothing(client, services, db):
    make_operator(db, "boss", ["tokyo"], role="supervisor")
    csrf = sign_in(client, "boss")
    response = flip(client, csrf, "off", switch="channel:fax")
    assert response.status_code == 303 and "switch_invalid" in response.headers["location"]
    assert flip(client, csrf, "explode").status_code == 303
    with db.read() as conn:
        assert not [r for r in list_audit(conn) if r.action.startswith("switch")]
