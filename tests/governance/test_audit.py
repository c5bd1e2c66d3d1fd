"""Every turn leaves a redacted, append-only audit record; `madoguchi explain` tells a conversation's story."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from core.outcomes import EscalationReason, Outcome
from governance.audit import TURN_ACTION, record_turn_with_audit, thresholds_for
from governance.explain import explain_conversation, explanation_as_dict, format_explanation
from storage import append_audit, open_conversation
from storage.schema import audit_log, turns
from tests.governance.seeding import GARBAGE, INDEX_VERSION, result, seed_run

MY_NUMBER = "4713 4109 3573"  # valid check digit


def _audit_rows(db) -> list:
    with db.read() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == TURN_ACTION)))


def test_a_turn_writes_a_redacted_turn_row_and_an_audit_row(services) -> None:
    question = f"マイナンバー{MY_NUMBER}を書いた書類の出し方は？電話は03-1234-5678、メールtaro@example.jp"
    with services.db.transaction() as conn:
        conversation = open_conversation(conn, tenant="tokyo", channel="line", resident_address="U123")
        turn_id = record_turn_with_audit(conn, tenant=services.tenants["tokyo"], conversation_id=conversation.id,
                                         channel="line", question=question,
                                         result=result(Outcome.ANSWERED, 0.91, [GARBAGE]), settings=services.settings)
    (row,) = _audit_rows(services.db)
    detail = row.detail
    assert (row.target, row.actor, row.tenant) == (turn_id, "assistant", "tokyo")
    assert detail["conversation"] == conversation.id and detail["channel"] == "line"
    assert detail["outcome"] == "answered" and detail["confidence"] == 0.91
    assert detail["sources"][0]["doc_id"] == GARBAGE.doc_id and detail["sources"][0]["as_of"] == "2014"
    assert detail["index_version"] == INDEX_VERSION and detail["config_version"] and detail["template_version"]
    assert detail["template"] == "answer" and detail["timings_ms"]["retrieve"] == 18.5
    assert detail["thresholds"] == thresholds_for(services.tenants["tokyo"])
    assert "〔個人番号〕" in detail["question"] and "〔電話番号〕" in detail["question"]
    dumped = json.dumps(detail, ensure_ascii=False)
    for secret in (MY_NUMBER, "471341093573", "03-1234-5678", "taro@example.jp"):
        assert secret not in dumped
    with services.db.read() as conn:
        stored = conn.execute(select(turns).where(turns.c.id == turn_id)).first()
    assert stored.redacted_question == detail["question"]
    assert (stored.channel, stored.template, stored.index_version) == ("line", "answer", INDEX_VERSION)


def test_no_seeded_secret_reaches_audit_rows_or_turns(services) -> None:
    run = seed_run(services)
    with services.db.read() as conn:
        audit_text = json.dumps([dict(r._mapping) for r in conn.execute(select(audit_log))], ensure_ascii=False,
                                default=str)
        turn_text = json.dumps([dict(r._mapping) for r in conn.execute(select(turns))], ensure_ascii=False,
                               default=str)
    assert len(run.secrets) >= 18
    leaked = [secret for secret in run.secrets if secret in audit_text or secret in turn_text]
    assert leaked == []


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_turn_audit_rows_cannot_be_changed_in_the_database(services, statement: str) -> None:
    seed_run(services)
    before = len(_audit_rows(services.db))
    change = (update(audit_log).values(detail={"outcome": "answered"}) if statement == "update"
              else audit_log.delete().where(audit_log.c.action == TURN_ACTION))
    with pytest.raises(DatabaseError, match="append-only"):
        with services.db.transaction() as conn:
            conn.execute(change)
    raw_sql = "UPDATE audit_log SET actor = 'mallory'" if statement == "update" else "DELETE FROM audit_log"
    with pytest.raises(DatabaseError, match="append-only"):
        with services.db.transaction() as conn:
            conn.execute(text(raw_sql))
    assert len(_audit_rows(services.db)) == before


def test_the_storage_api_offers_no_way_to_change_an_audit_row() -> None:
    import inspect

    import storage as storage
    from storage import audit

    functions = [name for name, value in vars(audit).items()
                 if inspect.isfunction(value) and value.__module__ == audit.__name__]
    assert sorted(functions) == ["append_audit", "list_audit"]
    assert sorted(name for name in storage.__all__ if "audit" in name) == ["append_audit", "list_audit"]


def test_explain_tells_each_turn_with_thresholds_sources_and_versions(services) -> None:
    run = seed_run(services)
    conversation_id = run.conversations[-1]  # a hand-over
    explanation = explain_conversation(services.db, conversation_id, services.tenants)
    text_out = format_explanation(explanation)
    assert "escalated（担当者へ引き継ぎ）" in text_out and "理由: low_confidence（確信度が低い）" in text_out
    assert "確信度（1位の回答）: 0.310" in text_out and "→ 回答しきい値未満" in text_out
    assert f"索引版: {INDEX_VERSION}" in text_out and "引き継ぎ" in text_out and "状態 queued" in text_out
    assert "retrieve 18.5 ms" in text_out
    assert not any(secret in text_out for secret in run.secrets)
    answered = format_explanation(explain_conversation(services.db, run.conversations[0], services.tenants))
    assert "粗大ごみの出し方（世田谷区 ごみ分別辞典・収集日 (5374.jp)、2014時点）" in answered
    assert "回答しきい値" in answered
    as_dict = explanation_as_dict(explanation)
    assert as_dict["turns"][0]["audited"] is True and as_dict["turns"][0]["outcome"] == "escalated"


def test_explain_falls_back_to_the_turn_row_and_merges_an_abridged_audit_row(services) -> None:
    """The dialogue may write a shorter audit detail; the turns row fills in what it lacks."""
    from storage import record_turn

    with services.db.transaction() as conn:
        conversation = open_conversation(conn, tenant="tokyo", channel="web", resident_address="web-x")
        first = record_turn(conn, tenant="tokyo", conversation_id=conversation.id, outcome="answered",
                            confidence=0.9, sources=[GARBAGE.to_dict()], redacted_question="粗大ごみ", channel="web",
                            index_version="v9")
        append_audit(conn, actor="assistant", action="turn", tenant="tokyo", target=first, detail={
            "conversation": conversation.id, "outcome": "answered", "confidence": 0.9, "question": "粗大ごみ",
            "sources": [{"doc_id": GARBAGE.doc_id, "as_of": "2014"}]})
        record_turn(conn, tenant="tokyo", conversation_id=conversation.id, outcome="escalated",
                    reason=EscalationReason.REQUESTED, redacted_question="人と話したい")
    explanation = explain_conversation(services.db, conversation.id, services.tenants)
    assert [turn.audited for turn in explanation.turns] == [True, False]
    text_out = format_explanation(explanation)
    assert "粗大ごみの出し方" in text_out and "索引版: v9" in text_out and "監査記録なし" in text_out


def test_explain_of_an_unknown_conversation_is_none(services) -> None:
    assert explain_conversation(services.db, "no-such-id", services.tenants) is None
