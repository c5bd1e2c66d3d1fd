"""Rasa's REST channel served by madoguchi: the same durable turn path as the web chat (inbound event, turn, audit,
hand-over), Rasa's response shape, buttons for choices, operator messages pulled with the next response."""
from __future__ import annotations

from sqlalchemy import select

from madoguchi.api.rasa_rest import resident_address
from storage.schema import audit_log, conversations, escalations, inbound_events, outbox, turns

URL = "/t/amagasaki/webhooks/rest/webhook"


def rows(services, table, **where):
    with services.db.read() as conn:
        query = select(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return list(conn.execute(query))


def test_a_message_gets_rasa_shaped_replies_through_the_durable_path(client, services):
    response = client.post(URL, json={"sender": "user-123", "message": "児童手当の申請方法は？"})
    assert response.status_code == 200
    (reply,) = response.json()
    assert reply["recipient_id"] == "user-123" and reply["text"] and "buttons" not in reply
    (event,) = rows(services, inbound_events, channel="rest")
    assert event.status == "done" and event.tenant == "amagasaki"
    (turn,) = rows(services, turns, inbound_event_id=event.id)
    assert turn.channel == "rest" and turn.outcome == "answered"
    assert len(rows(services, audit_log, target=turn.id)) == 1
    (conversation,) = rows(services, conversations, channel="rest")
    assert conversation.resident_address == resident_address("user-123", "test-secret") != "user-123"
    from conversations.outbox_sender import OutboxSender

    OutboxSender(services, "outbox-test").run_once()
    (queued,) = rows(services, outbox)
    assert queued.status == "sent"  # the client pulls: the sender needs no provider for it


def test_choices_are_buttons_whose_payload_picks_them(client, services):
    (reply,) = client.post(URL, json={"sender": "u1", "message": "ごみの出し方"}).json()
    assert reply["buttons"] == [{"title": "粗大ごみの出し方", "payload": "1"},
                                {"title": "家庭ごみの分別", "payload": "2"}]
    (picked,) = client.post(URL, json={"sender": "u1", "message": reply["buttons"][0]["payload"]}).json()
    assert "粗大ごみ" in picked["text"] or picked["text"]
    assert len(rows(services, conversations, channel="rest")) == 1  # one conversation per sender


def test_a_hand_over_is_queued_and_operator_messages_come_with_the_next_response(client, services):
    (reply,) = client.post(URL, json={"sender": "u2", "message": "担当者と話したい",
                                      "metadata": {"madoguchi": True}}).json()[:1]
    (escalation,) = rows(services, escalations)
    assert escalation.tenant == "amagasaki"
    from conversations.operator_replies import send_operator_reply

    claim = services.queue.claim(["amagasaki"], "yamada")
    send_operator_reply(services, claim, "担当の山田です。ご用件をどうぞ。")
    second = client.post(URL, json={"sender": "u2", "message": "住民票のことです"}).json()
    assert [m["text"] for m in second] == ["担当の山田です。ご用件をどうぞ。"]  # the operator holds it: no bot reply
    assert client.post(URL, json={"sender": "u2", "message": "よろしく"}).json() == []  # nothing new since


def test_details_on_request_and_a_retried_message_id_is_answered_once(client, services):
    body = {"sender": "u3", "message": "担当者をお願いします", "metadata": {"madoguchi": True, "message_id": "m-0001"}}
    first = client.post(URL, json=body).json()
    details = first[-1]["custom"]["madoguchi"]
    assert details["outcome"] == "escalated" and details["escalated"] and details["reason"] == "requested"
    again = client.post(URL, json=body).json()
    assert again[-1]["custom"]["madoguchi"]["turn_id"] == details["turn_id"]
    assert again[-1]["custom"]["madoguchi"]["replayed"] is True
    assert len(rows(services, turns)) == 1


def test_default_tenant_route_health_and_bad_requests(client):
    assert client.post("/webhooks/rest/webhook", json={"sender": "u4", "message": "こんにちは"}).status_code == 200
    assert client.get("/t/amagasaki/webhooks/rest/").json() == {"status": "ok"}
    assert client.post("/t/nowhere/webhooks/rest/webhook", json={"sender": "u", "message": "x"}).status_code == 404
    assert client.post(URL, json={"sender": "u", "message": "   "}).status_code == 422
    assert client.post(URL, json={"message": "no sender"}).status_code == 422


def test_a_failure_is_a_polite_json_error_that_echoes_nothing(client, services):
    response = client.post(URL, json={"sender": "u5", "message": "故障のテスト 090-1234-5678"})
    assert response.status_code == 500 and "090-1234-5678" not in response.text
    assert response.json()["detail"]
    (event,) = rows(services, inbound_events, channel="rest")
    assert event.status in ("received", "failed")  # given back to be retried, never lost
    invalid = client.post(URL, json={"sender": "u5", "message": "x" * 5000})
    assert invalid.status_code == 422 and "xxxx" not in invalid.text
