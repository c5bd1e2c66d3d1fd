"""The Rasa action (integrations/rasa_action) run by rasa-sdk's own action server, in its own virtualenv
(.venv-rasa: rasa-sdk pins an older pydantic than madoguchi's), calling a running madoguchi on loopback over HTTP,
the way a Rasa assistant calls its action endpoint."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from config.settings import Settings
from madoguchi.app import create_app
from madoguchi.composition import build_services
from storage.schema import escalations, turns
from storage.testing import sqlite_copy
from tests.api.fakes import FakeEngine

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
ACTIONS_DIR = ROOT / "integrations" / "rasa_action"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up in {seconds} s")


@pytest.fixture(scope="module")
def madoguchi(tmp_path_factory, sqlite_template):
    tmp = tmp_path_factory.mktemp("madoguchi")
    settings = Settings(data_dir=tmp / "data", secret_key="test-secret")
    db = sqlite_copy(sqlite_template, tmp)
    services = build_services(settings, db=db, engine=FakeEngine(), channels={})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(services, start_background=False), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(f"http://127.0.0.1:{port}/t/tokyo/webhooks/rest/")
    yield f"http://127.0.0.1:{port}", services
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()


@pytest.fixture(scope="module")
def action_server(madoguchi):
    if not RASA_PYTHON.exists():
        pytest.skip("rasa-sdk's virtualenv is absent: `make rasa-action-venv` builds .venv-rasa (make test does)")
    port = free_port()
    env = {**os.environ, "MADOGUCHI_URL": madoguchi[0], "MADOGUCHI_TENANT": "tokyo", "PYTHONPATH": ""}
    process = subprocess.Popen([str(RASA_PYTHON), "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
                               cwd=ACTIONS_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/health")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def call_action(server: str, sender: str, text: str, message_id: str) -> dict:
    """The request Rasa's processor sends to its action endpoint."""
    tracker = {
        "sender_id": sender, "slots": {}, "paused": False, "followup_action": None, "active_loop": {},
        "latest_message": {"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.3}, "entities": [],
                           "message_id": message_id},
        "latest_event_time": time.time(), "latest_input_channel": "rest", "latest_action_name": "action_listen",
        "latest_action": {"action_name": "action_listen"},
        "events": [{"event": "user", "timestamp": time.time(), "text": text, "parse_data": {}}],
    }
    body = {"next_action": "action_ask_madoguchi", "sender_id": sender, "tracker": tracker, "version": "3.6.21",
            "domain": {"slots": {"madoguchi_outcome": {"type": "text"}, "madoguchi_handover": {"type": "bool"}},
                       "responses": {}, "actions": ["action_ask_madoguchi"], "intents": [], "entities": [],
                       "forms": {}, "config": {"store_entities_as_slots": True}, "session_config": {}}}
    request = urllib.request.Request(f"{server}/webhook", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def slots(result: dict) -> dict:
    return {e["name"]: e["value"] for e in result["events"] if e["event"] == "slot"}


def test_the_action_utters_madoguchis_answer(action_server, madoguchi):
    result = call_action(action_server, "rasa-user-1", "児童手当の申請方法は？", "msg-0001")
    (response,) = result["responses"]
    assert response["text"] == FakeEngine().run_turn(None, "児童手当の申請方法は？").answer
    assert slots(result) == {"madoguchi_outcome": "answered", "madoguchi_handover": False}
    with madoguchi[1].db.read() as conn:
        outcomes = [t.outcome for t in conn.execute(select(turns).where(turns.c.channel == "rest"))]
    assert "answered" in outcomes


def test_choices_become_buttons_and_a_hand_over_sets_the_slot(action_server, madoguchi):
    result = call_action(action_server, "rasa-user-2", "ごみの出し方", "msg-0002")
    assert [b["payload"] for b in result["responses"][0]["buttons"]] == ["1", "2"]
    assert slots(result)["madoguchi_outcome"] == "clarify"
    handed = call_action(action_server, "rasa-user-2", "担当者と話したい", "msg-0003")
    assert slots(handed) == {"madoguchi_outcome": "escalated", "madoguchi_handover": True}
    with madoguchi[1].db.read() as conn:
        assert conn.execute(select(escalations)).fetchall()  # queued for an operator, like any channel's


def rest_turns(services) -> int:
    with services.db.read() as conn:
        return len(conn.execute(select(turns).where(turns.c.channel == "rest")).fetchall())


def test_a_retried_action_call_is_answered_once(action_server, madoguchi):
    before = rest_turns(madoguchi[1])
    first = call_action(action_server, "rasa-user-3", "住民票について", "msg-0004")
    again = call_action(action_server, "rasa-user-3", "住民票について", "msg-0004")
    assert first["responses"] == again["responses"] and first["responses"]
    assert rest_turns(madoguchi[1]) == before + 1
