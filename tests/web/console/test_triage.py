"""Triage and the quicker hand-over over HTTP, on SQLite and PostgreSQL: the queue previews the question with the
risk and reason in words, filters by tenant, risk and state, shows times in the tenant's timezone and drops erased
conversations; the conversation page never prefills a draft, flags a low-confidence one, puts an emergency's
numbers within reach, and a reply (optionally resolving too) answers JSON to the page's script."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from madoguchi.app import create_app
from storage import erase_conversation, list_messages
from storage.schema import escalations
from tests.escalation.console_support import make_escalation, make_operator, make_services, sign_in


@pytest.fixture
def services(db, tmp_path):
    return make_services(db, tmp_path)


@pytest.fixture
def client(services):
    with TestClient(create_app(services, start_background=False)) as client:
        yield client


@pytest.fixture
def csrf(services, client):
    make_operator(services.db, "sato", ["tokyo", "amagasaki"])
    return sign_in(client, "sato")


def row_of(page: str, escalation_id: str) -> str:
    return page.split(f'data-id="{escalation_id}"')[1].split("</tr>")[0]


def claimed_page(client, csrf, escalation_id) -> str:
    response = client.post(f"/console/escalations/{escalation_id}/claim", data={"csrf_token": csrf})
    assert response.status_code == 200
    return response.text


def claim_token(page: str) -> str:
    return page.split('name="claim_token" value="')[1].split('"')[0]


class TestQueue:
    def test_a_row_previews_the_question_with_risk_and_reason_in_words(self, services, client, csrf):
        escalation_id, _ = make_escalation(services, question="父が急に胸を押さえて苦しんでいます", reason="risk",
                                           risk="emergency")
        row = row_of(client.get("/console").text, escalation_id)
        assert "父が急に胸を押さえて苦しんでいます" in row
        assert 'class="badge urgent">緊急（命・事件）' in row and "命・健康・安全などに関わる" in row
        assert "low_confidence" not in row and ">risk<" not in row

    def test_a_long_question_is_cut_to_a_preview(self, services, client, csrf):
        escalation_id, _ = make_escalation(services, question="あ" * 300, reason="low_confidence")
        row = row_of(client.get("/console").text, escalation_id)
        assert "あ" * 79 + "…" in row and "あ" * 80 not in row and "確信度が低い" in row

    def test_the_json_the_page_polls_carries_the_same(self, services, client, csrf):
        escalation_id, _ = make_escalation(services, question="もう生きているのがつらい", reason="risk",
                                           risk="crisis")
        entry = next(e for e in client.get("/console/api/queue").json()["entries"] if e["id"] == escalation_id)
        assert (entry["preview"], entry["risk_label"], entry["urgent"]) == ("もう生きているのがつらい", "心の危機", True)
        assert entry["reason_words"] == "命・健康・安全などに関わる"

    def test_filters_by_tenant_risk_and_state(self, services, client, csrf):
        tokyo, _ = make_escalation(services, tenant="tokyo", address="a", risk="health", reason="risk")
        amagasaki, _ = make_escalation(services, tenant="amagasaki", address="b")
        claimed, _ = make_escalation(services, tenant="tokyo", address="c")
        claimed_page(client, csrf, claimed)

        def shown(query: str) -> set[str]:
            entries = client.get("/console/api/queue?" + query).json()["entries"]
            page = client.get("/console?" + query).text
            ids = {e["id"] for e in entries}
            assert ids == {i for i in (tokyo, amagasaki, claimed) if f'data-id="{i}"' in page}, query
            return ids

        assert shown("") == {tokyo, amagasaki, claimed}
        assert shown("tenant=amagasaki") == {amagasaki}
        assert shown("risk=any") == {tokyo}
        assert shown("risk=health") == {tokyo}
        assert shown("risk=emergency") == set()
        assert shown("state=claimed") == {claimed}
        assert shown("state=queued&tenant=tokyo") == {tokyo}
        assert shown("tenant=elsewhere&risk=nonsense") == {tokyo, amagasaki, claimed}  # unknown: no filter

    def test_times_are_in_japan_time(self, services, client, csrf):
        escalation_id, _ = make_escalation(services)
        with services.db.transaction() as conn:
            conn.execute(update(escalations).where(escalations.c.id == escalation_id).values(
                created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC)))
        page = client.get("/console").text
        assert "<td>03/02 08:30</td>" in row_of(page, escalation_id) and "時刻は日本時間" in page

    def test_an_erased_conversation_leaves_the_queue_and_cannot_be_claimed(self, services, client, csrf):
        escalation_id, conversation_id = make_escalation(services)
        with services.db.transaction() as conn:
            assert erase_conversation(conn, conversation_id)
        assert f'data-id="{escalation_id}"' not in client.get("/console").text
        assert client.post("/console/claim-next", data={"csrf_token": csrf}).url.params["notice"] == "empty"


class TestConversation:
    def test_a_low_confidence_draft_is_flagged_and_never_prefilled(self, services, client, csrf):
        escalation_id, _ = make_escalation(services)  # draft confidence 0.42, below tokyo's answer threshold
        page = claimed_page(client, csrf, escalation_id)
        assert "確信度が低い回答案です" in page and "回答のしきい値" in page
        assert 'aria-describedby="reply-keys"></textarea>' in page
        assert "出典: 粗大ごみの出し方（2014 時点）" in page

    def test_an_emergency_shows_its_numbers_as_tel_links(self, services, client, csrf):
        escalation_id, _ = make_escalation(services, reason="risk", risk="emergency")
        page = claimed_page(client, csrf, escalation_id)
        urgent = page.split('id="urgent"')[1].split("</div>")[0]
        assert 'href="tel:119"' in urgent and 'href="tel:110"' in urgent and 'href="tel:%237119"' in urgent

    def test_a_crisis_shows_the_crisis_lines(self, services, client, csrf):
        escalation_id, _ = make_escalation(services, reason="risk", risk="crisis")
        urgent = claimed_page(client, csrf, escalation_id).split('id="urgent"')[1].split("</div>")[0]
        assert "心の危機" in urgent and 'href="tel:0120279338"' in urgent

    def test_a_routine_ticket_has_no_urgent_panel(self, services, client, csrf):
        escalation_id, _ = make_escalation(services, reason="risk", risk="health")
        assert 'id="urgent"' not in claimed_page(client, csrf, escalation_id)

    def test_a_reply_from_the_script_answers_json(self, services, client, csrf):
        escalation_id, conversation_id = make_escalation(services)
        token = claim_token(claimed_page(client, csrf, escalation_id))
        response = client.post(f"/console/escalations/{escalation_id}/reply", headers={"Accept": "application/json"},
                               data={"csrf_token": csrf, "claim_token": token, "text": "ご案内します。"})
        assert response.status_code == 200 and response.json()["outcome"] == "sent"
        with services.db.read() as conn:
            last = list_messages(conn, conversation_id)[-1]
        assert (last.id, last.role, last.text) == (response.json()["message_id"], "operator", "ご案内します。")

    def test_send_and_resolve_in_one_step(self, services, client, csrf):
        escalation_id, conversation_id = make_escalation(services)
        token = claim_token(claimed_page(client, csrf, escalation_id))
        response = client.post(f"/console/escalations/{escalation_id}/reply", headers={"Accept": "application/json"},
                               data={"csrf_token": csrf, "claim_token": token, "text": "ご案内します。",
                                     "then": "resolve"})
        assert response.json()["outcome"] == "resolved"
        with services.db.read() as conn:
            row = conn.execute(select(escalations).where(escalations.c.id == escalation_id)).one()
            kinds = [(m.meta or {}).get("kind") for m in list_messages(conn, conversation_id)]
        assert (row.state, row.resolution_reason) == ("resolved", "返信で案内済み")
        assert kinds[-1] == "satisfaction"

    def test_a_stale_reply_answers_409_and_sends_nothing(self, services, client, csrf):
        escalation_id, conversation_id = make_escalation(services)
        claimed_page(client, csrf, escalation_id)
        response = client.post(f"/console/escalations/{escalation_id}/reply", headers={"Accept": "application/json"},
                               data={"csrf_token": csrf, "claim_token": "not-the-token", "text": "x"})
        assert response.status_code == 409 and response.json()["outcome"] == "stale"
        with services.db.read() as conn:
            assert all(m.role != "operator" for m in list_messages(conn, conversation_id))


class TestForbiddenPages:
    def test_review_and_the_all_tenants_insight_answer_an_html_403(self, services, client, csrf):
        for path in ("/t/tokyo/review", "/insight"):
            response = client.get(path)
            assert response.status_code == 403 and response.headers["content-type"].startswith("text/html"), path
            assert "このページは表示できません" in response.text
