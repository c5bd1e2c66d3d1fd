"""JSON API v1 on a real (temporary SQLite) database through the real conversations.turns path."""
from __future__ import annotations

import logging
import threading
import uuid

import pytest
from sqlalchemy import func, select

from madoguchi.api.schemas import MAX_TEXT_CHARS
from storage.schema import conversations, escalations, feedback, inbound_events, messages, turns
from madoguchi.api.i18n import STRINGS

API = "/api/v1/t/amagasaki"


def send(client, conversation_id, headers, text, client_message_id=None):
    return client.post(f"{API}/conversations/{conversation_id}/messages", headers=headers,
                       json={"text": text, "client_message_id": client_message_id or uuid.uuid4().hex})


def count(services, table, *where) -> int:
    with services.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


class TestConversations:
    def test_start_returns_an_id_and_a_random_token(self, client):
        response = client.post(f"{API}/conversations")
        assert response.status_code == 201
        body = response.json()
        assert body["tenant"] == "amagasaki" and body["state"] == "assistant"
        assert len(body["resident_token"]) >= 32
        assert client.post(f"{API}/conversations").json()["resident_token"] != body["resident_token"]

    def test_start_with_an_existing_token_resumes_the_open_conversation(self, client, session):
        conversation_id, headers = session
        again = client.post(f"{API}/conversations", headers=headers).json()
        assert again["conversation_id"] == conversation_id
        assert again["resident_token"] == headers["X-Resident-Token"]

    def test_the_database_never_holds_the_token(self, client, services, session):
        conversation_id, headers = session
        send(client, conversation_id, headers, "児童手当の申請方法")
        token = headers["X-Resident-Token"]
        with services.db.read() as conn:
            payloads = [str(row.payload) for row in conn.execute(select(inbound_events.c.payload))]
            addresses = [row.resident_address for row in conn.execute(select(conversations.c.resident_address))]
        assert payloads and all(token not in payload for payload in payloads)
        assert addresses and all(token not in address for address in addresses)


class TestMessages:
    def test_an_answer_comes_with_its_sources_ids_and_interface_strings(self, client, session):
        conversation_id, headers = session
        response = send(client, conversation_id, headers, "児童手当はどうやって申請すればいいですか")
        assert response.status_code == 200
        reply = response.json()
        assert reply["outcome"] == "answered" and reply["conversation_id"] == conversation_id
        assert reply["sources"][0] == {"doc_id": "faq-12", "title": "児童手当の申請", "as_of": "2019",
                                       "url": "https://www.city.example.jp/jidou", "citation": None, "source": None}
        assert reply["confidence"] == pytest.approx(0.93)
        assert reply["turn_id"] and reply["replayed"] is False
        assert reply["resident_message_id"] < reply["reply_message_id"]
        assert reply["ui"]["sources"] == "出典" and reply["language"] == "ja"

    def test_the_interface_strings_follow_the_reply_language(self, client, session):
        conversation_id, headers = session
        reply = send(client, conversation_id, headers, "How do I apply for child allowance?").json()
        assert reply["language"] == "en"
        assert reply["ui"]["helpful"] == "Helpful" and reply["ui"]["sources"] == "Sources"

    def test_a_clarification_offers_numbered_choices_and_a_number_picks_one(self, client, session):
        conversation_id, headers = session
        reply = send(client, conversation_id, headers, "ごみの出し方").json()
        assert reply["outcome"] == "clarify"
        assert [c["n"] for c in reply["choices"]] == [1, 2]
        picked = send(client, conversation_id, headers, "1").json()
        assert picked["outcome"] == "answered"
        assert picked["sources"][0]["citation"] == "尼崎市よくある質問 No.40"

    def test_the_transcript_after_an_id_holds_only_what_is_new(self, client, session):
        conversation_id, headers = session
        first = send(client, conversation_id, headers, "児童手当").json()
        send(client, conversation_id, headers, "ごみ")
        url = f"{API}/conversations/{conversation_id}/messages"
        everything = client.get(url, headers=headers).json()
        assert [m["role"] for m in everything["messages"]] == ["resident", "assistant", "resident", "assistant"]
        assert everything["messages"][1]["sources"][0]["doc_id"] == "faq-12"
        assert everything["messages"][3]["choices"][1]["title"] == "家庭ごみの分別"
        newer = client.get(url, params={"after": first["reply_message_id"]}, headers=headers).json()
        assert [m["text"] for m in newer["messages"]][0] == "ごみ"
        assert newer["last_id"] == everything["last_id"]
        nothing = client.get(url, params={"after": everything["last_id"]}, headers=headers).json()
        assert nothing["messages"] == [] and nothing["last_id"] == everything["last_id"]


class TestRedelivery:
    def test_a_resubmitted_client_message_id_returns_the_same_reply_and_no_second_turn(self, client, services,
                                                                                        session):
        conversation_id, headers = session
        first = send(client, conversation_id, headers, "児童手当の申請", "retry-0001").json()
        again = send(client, conversation_id, headers, "児童手当の申請", "retry-0001").json()
        assert again["replayed"] is True and first["replayed"] is False
        assert {k: v for k, v in again.items() if k != "replayed"} == {k: v for k, v in first.items()
                                                                          if k != "replayed"}
        assert services.engine.questions == ["児童手当の申請"]
        assert count(services, turns) == 1
        assert count(services, messages, messages.c.role == "resident") == 1

    def test_concurrent_duplicates_make_one_turn(self, client, services, session):
        conversation_id, headers = session
        replies, errors = [], []

        def post() -> None:
            try:
                replies.append(send(client, conversation_id, headers, "児童手当", "same-id-42"))
            except Exception as error:  # surfaced by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors and {r.status_code for r in replies} == {200}
        assert len({r.json()["turn_id"] for r in replies}) == 1
        assert sum(not r.json()["replayed"] for r in replies) == 1
        assert count(services, turns) == 1 and len(services.engine.questions) == 1

    def test_the_same_client_id_from_two_sessions_is_two_messages(self, client, services):
        ids = []
        for _ in range(2):
            started = client.post(f"{API}/conversations").json()
            headers = {"X-Resident-Token": started["resident_token"]}
            ids.append(send(client, started["conversation_id"], headers, "児童手当", "shared-id-1").json()["turn_id"])
        assert len(set(ids)) == 2 and count(services, turns) == 2


class TestOperators:
    def test_a_request_for_a_person_escalates_and_the_assistant_then_stays_silent(self, client, services, session):
        conversation_id, headers = session
        reply = send(client, conversation_id, headers, "担当者と話したいです").json()
        assert reply["outcome"] == "escalated" and reply["reason"] == "requested" and reply["escalated"] is True
        assert count(services, escalations, escalations.c.conversation_id == conversation_id) == 1
        silent = send(client, conversation_id, headers, "まだですか").json()
        assert silent["outcome"] == "with_operator" and silent["answer"] == ""
        assert silent["resident_message_id"] > reply["reply_message_id"]
        assert services.engine.questions == ["担当者と話したいです"]
        again = send(client, conversation_id, headers, "まだですか", "x" * 8).json()
        assert again["outcome"] == "with_operator"

    def test_an_operator_reply_reaches_the_page_through_the_transcript(self, client, services, session):
        from conversations.operator_replies import send_operator_reply

        conversation_id, headers = session
        escalated = send(client, conversation_id, headers, "担当者と話したいです").json()
        claim = services.queue.claim(["amagasaki"], "sato")
        send_operator_reply(services, claim, "担当の佐藤です。ご用件をどうぞ。")
        url = f"{API}/conversations/{conversation_id}/messages"
        newer = client.get(url, params={"after": escalated["reply_message_id"]}, headers=headers).json()
        assert [(m["role"], m["text"]) for m in newer["messages"]] == [("operator", "担当の佐藤です。ご用件をどうぞ。")]
        assert newer["state"] == "with_operator"
        assert "sato" not in str(newer)  # the operator's account name stays inside


class TestSessionScoping:
    @pytest.fixture
    def stranger(self, client):
        return {"X-Resident-Token": client.post(f"{API}/conversations").json()["resident_token"]}

    def test_another_session_cannot_read_post_or_rate(self, client, session, stranger):
        conversation_id, headers = session
        turn_id = send(client, conversation_id, headers, "児童手当").json()["turn_id"]
        base = f"{API}/conversations/{conversation_id}"
        assert client.get(f"{base}/messages", headers=stranger).status_code == 404
        assert send(client, conversation_id, stranger, "児童手当").status_code == 404
        rated = client.post(f"{base}/feedback", headers=stranger, json={"turn_id": turn_id, "rating": "helpful"})
        assert rated.status_code == 404

    def test_no_or_a_malformed_token_is_refused(self, client, session):
        conversation_id, _ = session
        url = f"{API}/conversations/{conversation_id}/messages"
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"X-Resident-Token": "short"}).status_code == 401
        assert "X-Resident-Token" in client.get(url).json()["detail"]

    def test_a_conversation_of_another_tenant_is_not_found(self, client, session):
        conversation_id, headers = session
        response = client.get(f"/api/v1/t/tokyo/conversations/{conversation_id}/messages", headers=headers)
        assert response.status_code == 404


class TestValidation:
    @pytest.mark.parametrize("body, fragment", [
        ({"text": "", "client_message_id": "abcdefgh"}, "at least 1 character"),
        ({"text": "   \n ", "client_message_id": "abcdefgh"}, "must not be empty"),
        ({"text": "あ" * (MAX_TEXT_CHARS + 1), "client_message_id": "abcdefgh"}, f"at most {MAX_TEXT_CHARS}"),
        ({"text": "児童手当", "client_message_id": "no spaces allowed"}, "pattern"),
        ({"text": "児童手当"}, "client_message_id"),
    ])
    def test_bad_messages_get_422_with_the_reason(self, client, session, body, fragment):
        conversation_id, headers = session
        response = client.post(f"{API}/conversations/{conversation_id}/messages", headers=headers, json=body)
        assert response.status_code == 422
        assert fragment in str(response.json()["detail"])

    def test_a_refused_message_says_which_rule_and_never_echoes_the_text(self, client, session):
        # A client whose message id was one character short got pydantic's raw error list back, the resident's
        # text quoted in it, for the reply 「目黒区」 to a which-ward question.
        conversation_id, headers = session
        url = f"{API}/conversations/{conversation_id}/messages"
        refused = client.post(url, headers=headers, json={"text": "目黒区", "client_message_id": "m2-1234"})
        assert refused.status_code == 422
        detail = refused.json()["detail"]
        assert isinstance(detail, str) and detail.startswith("client_message_id:") and "目黒区" not in detail
        long_text = "目黒区の者です" * 200
        too_long = client.post(url, headers=headers, json={"text": long_text, "client_message_id": "abcdefgh"})
        assert too_long.json()["detail"] == f"text: String should have at most {MAX_TEXT_CHARS} characters"

    def test_malformed_json_gets_422(self, client, session):
        conversation_id, headers = session
        response = client.post(f"{API}/conversations/{conversation_id}/messages", content=b'{"text": "x",',
                               headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 422 and "json" in str(response.json()["detail"]).lower()

    def test_unknown_tenant_is_404_everywhere(self, client, session):
        conversation_id, headers = session
        base = "/api/v1/t/atlantis"
        assert client.post(f"{base}/conversations").status_code == 404
        posted = client.post(f"{base}/conversations/{conversation_id}/messages", headers=headers,
                             json={"text": "児童手当", "client_message_id": "abcdefgh"})
        assert posted.status_code == 404 and "atlantis" in posted.json()["detail"]
        assert client.post(f"{base}/ask", json={"question": "児童手当"}).status_code == 404

    def test_nothing_is_recorded_for_a_refused_message(self, client, services, session):
        conversation_id, headers = session
        client.post(f"{API}/conversations/{conversation_id}/messages", headers=headers,
                    json={"text": "", "client_message_id": "abcdefgh"})
        assert count(services, inbound_events) == 0

    def test_a_negative_cursor_is_refused(self, client, session):
        conversation_id, headers = session
        response = client.get(f"{API}/conversations/{conversation_id}/messages", params={"after": -1},
                              headers=headers)
        assert response.status_code == 422


class TestFeedback:
    def test_a_rating_is_recorded_for_a_turn_of_the_conversation(self, client, services, session):
        conversation_id, headers = session
        turn_id = send(client, conversation_id, headers, "児童手当").json()["turn_id"]
        response = client.post(f"{API}/conversations/{conversation_id}/feedback", headers=headers,
                               json={"turn_id": turn_id, "rating": "unhelpful"})
        assert response.status_code == 201 and response.json()["feedback_id"] > 0
        with services.db.read() as conn:
            row = conn.execute(select(feedback)).one()
        assert (row.turn_id, row.rating, row.conversation_id) == (turn_id, "unhelpful", conversation_id)

    def test_unknown_turns_and_ratings_are_refused(self, client, session):
        conversation_id, headers = session
        url = f"{API}/conversations/{conversation_id}/feedback"
        assert client.post(url, headers=headers, json={"turn_id": "nope", "rating": "helpful"}).status_code == 404
        assert client.post(url, headers=headers, json={"turn_id": "nope", "rating": "great"}).status_code == 422


class TestInternalErrors:
    def test_a_failing_turn_gets_a_polite_500_and_a_log_without_personal_data(self, client, services, session,
                                                                              caplog):
        conversation_id, headers = session
        text = "故障かな 電話は090-1234-5678 メールは taro@example.jp"
        with caplog.at_level(logging.ERROR):
            response = send(client, conversation_id, headers, text, "broken-0001")
        assert response.status_code == 500
        assert response.json()["detail"] == STRINGS["ja"]["error_server"]
        logged = caplog.text
        assert "RuntimeError" in logged and "/messages" in logged
        assert "090-1234-5678" not in logged and "taro@example.jp" not in logged

    def test_a_retry_after_a_failure_runs_the_turn_again(self, client, services, session):
        conversation_id, headers = session
        send(client, conversation_id, headers, "故障中", "broken-0002")
        send(client, conversation_id, headers, "故障中", "broken-0002")
        assert services.engine.questions == ["故障中", "故障中"]
        assert count(services, turns) == 0


class TestAsk:
    def test_ask_is_a_stateless_turn(self, client, services):
        response = client.post(f"{API}/ask", json={"question": "児童手当の申請"})
        assert response.status_code == 200
        body = response.json()
        assert body["outcome"] == "answered" and body["sources"][0]["doc_id"] == "faq-12"
        assert set(body) >= {"answer", "confidence", "risk", "language", "choices", "reason"}
        assert count(services, turns) == 0 and count(services, inbound_events) == 0

    def test_an_empty_question_is_refused(self, client):
        assert client.post(f"{API}/ask", json={"question": " "}).status_code == 422


def test_the_api_is_described_in_openapi(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/t/{tenant_id}/conversations", "/api/v1/t/{tenant_id}/conversations/{conversation_id}/messages",
            "/api/v1/t/{tenant_id}/conversations/{conversation_id}/feedback", "/api/v1/t/{tenant_id}/ask"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_every_interface_language_has_every_string():
    keys = set(STRINGS["ja"])
    assert all(set(table) == keys for table in STRINGS.values())
