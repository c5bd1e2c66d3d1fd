"""A Rasa REST client talking to madoguchi with the real dialogue engine on the real tokyo index (../shared): an
answer carries its official source and as-of date, a request for a person is queued for the operators, and the
operator's reply reaches the client with its next message."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import Settings
from conversations.operator_replies import send_operator_reply
from madoguchi.app import create_app
from madoguchi.composition import build_services
from storage.schema import escalations
from storage.testing import temporary_database

pytestmark = [pytest.mark.shared, pytest.mark.slow]
URL = "/t/tokyo/webhooks/rest/webhook"


@pytest.fixture(scope="module")
def rest(tmp_path_factory, dialogue_engine, knowledge_settings):
    tmp = tmp_path_factory.mktemp("rest")
    with temporary_database("sqlite", tmp) as db:
        settings = Settings(shared_dir=knowledge_settings.shared_dir, data_dir=knowledge_settings.data_dir,
                            secret_key="test-secret")
        services = build_services(settings, db=db, engine=dialogue_engine, channels={})
        with TestClient(create_app(services, start_background=False)) as client:
            yield client, services


def ask(client, sender: str, text: str) -> tuple[list[dict], dict]:
    out = client.post(URL, json={"sender": sender, "message": text, "metadata": {"madoguchi": True}}).json()
    return [m for m in out if "text" in m], out[-1]["custom"]["madoguchi"]


def test_an_official_answer_with_its_source(rest):
    client, _ = rest
    messages, details = ask(client, "widget-1", "東京都のAI戦略で、行政サービスにAIをどう使うと書かれていますか")
    assert messages and all(m["recipient_id"] == "widget-1" for m in messages)
    assert details["outcome"] in ("answered", "clarify", "escalated")
    if details["outcome"] == "answered":
        assert details["sources"] and all(s.get("as_of") for s in details["sources"])
    if details["outcome"] == "clarify":
        assert messages[-1]["buttons"] and all(b["payload"].isdigit() for b in messages[-1]["buttons"])


def test_asking_for_a_person_is_queued_and_the_operator_reply_comes_back(rest):
    client, services = rest
    messages, details = ask(client, "widget-2", "担当の方と直接話したいです")
    assert details["outcome"] == "escalated" and details["escalated"] and messages
    with services.db.read() as conn:
        (escalation,) = conn.execute(select(escalations).where(
            escalations.c.conversation_id == details["conversation_id"])).fetchall()
    claim = services.queue.claim(["tokyo"], "tanaka")
    assert claim is not None and claim.escalation_id == escalation.id
    send_operator_reply(services, claim, "都民の声の田中です。どのようなご用件でしょうか。")
    messages, details = ask(client, "widget-2", "転入の手続きについてです")
    assert messages[0]["text"] == "都民の声の田中です。どのようなご用件でしょうか。"
