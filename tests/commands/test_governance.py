"""`madoguchi explain`, `madoguchi retention run` and `madoguchi export insight` against a real database file;
explain on a conversation the real dialogue engine had (skips without ../shared)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.settings import get_settings
from madoguchi.cli import main
from tests.governance.seeding import make_services, seed_run


@pytest.fixture
def seeded_file(sqlite_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    services = make_services(sqlite_db, tmp_path)
    run = seed_run(services)
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", str(sqlite_db.url))
    get_settings.cache_clear()
    yield run
    get_settings.cache_clear()


def test_explain_prints_the_story_of_a_conversation(seeded_file, capsys) -> None:
    assert main(["explain", seeded_file.conversations[-1]]) == 0
    out = capsys.readouterr().out
    assert "ターン 1" in out and "escalated（担当者へ引き継ぎ）" in out and "引き継ぎ" in out
    assert not [secret for secret in seeded_file.secrets if secret in out]
    assert main(["explain", seeded_file.conversations[0], "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["turns"][0]["sources"][0]["as_of"] == "2014" and data["turns"][0]["audited"] is True
    assert main(["explain", "missing"]) == 1


def test_export_insight_csv_and_retention_run(seeded_file, capsys) -> None:
    assert main(["export", "insight", "--tenant", "tokyo", "--csv"]) == 0
    exported = capsys.readouterr().out
    assert exported.startswith("section,day,key,value") and "handover_reason,,low_confidence,3" in exported
    assert not [secret for secret in seeded_file.secrets if secret in exported]
    assert main(["retention", "run"]) == 0
    assert json.loads(capsys.readouterr().out) == {"erased": {"amagasaki": 0, "tokyo": 0}}


def test_explain_a_conversation_of_the_real_dialogue(dialogue_engine, knowledge_settings, sqlite_db,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.messages import InboundEvent
    from conversations.turns import process_event
    from governance.explain import explain_conversation, format_explanation
    from storage import record_inbound

    services = make_services(sqlite_db, tmp_path)
    services.engine, services.knowledge = dialogue_engine, dialogue_engine.kb  # the real dialogue and its indexes
    questions = ["こんにちは", "粗大ごみの出し方を教えてください。電話は090-2222-3333です"]
    processed = []
    for n, text in enumerate(questions):
        event = InboundEvent(channel="line", external_id=f"evt-{n}", tenant="tokyo", sender="U-real", text=text)
        with services.db.transaction() as conn:
            record_inbound(conn, event)
        processed.append(process_event(services, "line", event.external_id, tenant="tokyo"))
    explanation = explain_conversation(services.db, processed[0].conversation_id, services.tenants)
    out = format_explanation(explanation)
    assert len(explanation.turns) == 2 and all(turn.audited for turn in explanation.turns)
    assert "090-2222-3333" not in out and "〔電話番号〕" in out
    assert "smalltalk" in out and processed[1].result.outcome.value in out
    assert f"索引版: {dialogue_engine.kb.index('tokyo').version}" in out
