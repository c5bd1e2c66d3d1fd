"""Staff corrections: curated answers and the right source are used from then on; outdated documents are not."""
from __future__ import annotations

from datetime import timedelta

import pytest

from governance import review
from governance.review import StaffCorrections, question_key, review_items
from storage import append_message, utcnow
from storage.schema import escalations
from tests.governance.seeding import GARBAGE, seed_run, write_manifest


@pytest.fixture
def tokyo(services):
    return services.tenants["tokyo"]


def test_question_key_ignores_width_spaces_case_and_end_marks() -> None:
    key = question_key("粗大ゴミの出し方は")
    assert question_key("粗大ゴミの 出し方は？") == key == question_key("粗大ゴミの出し方は?")
    assert question_key("ＡＢＣ　カード") == question_key("abcカード")


def test_a_curated_answer_matches_the_same_question_at_once(services, tokyo) -> None:
    assert services.corrections.curated_answer_for("tokyo", "粗大ごみの出し方を教えてください") is None
    curated_id = review.write_curated_answer(services.corrections, tokyo, reviewer="suzuki", question="粗大ごみの出し方を教えてください",
        answer="粗大ごみは粗大ごみ受付センターへの事前申込制です。", source_title="世田谷区 粗大ごみ",
        source_url="https://www.city.setagaya.lg.jp/sodai", expires_at=utcnow() + timedelta(days=30))
    found = services.corrections.curated_answer_for("tokyo", "粗大ごみの出し方を教えてください？")
    assert found is not None and found.id == curated_id and found.match == "exact"
    assert found.answer.startswith("粗大ごみは") and found.source_url.endswith("/sodai")
    assert services.corrections.curated_answer_for("amagasaki", "粗大ごみの出し方を教えてください") is None


def test_a_paraphrase_matches_by_similarity_and_another_question_does_not(services, tokyo) -> None:
    review.write_curated_answer(services.corrections, tokyo, reviewer="suzuki", question="粗大ごみの出し方を教えてください",
                                answer="事前申込制です。")
    similar = services.corrections.curated_answer_for("tokyo", "粗大ゴミはどうやって出せばいいですか")
    assert similar is not None and similar.match == "similar" and similar.similarity >= review.SIMILARITY_THRESHOLD
    assert services.corrections.curated_answer_for("tokyo", "住民票の写しを取りたい") is None
    assert services.corrections.curated_answer_for("tokyo", "大きなごみの捨て方") is None  # same topic, not the question


def test_expired_and_retired_answers_are_not_used(services, tokyo) -> None:
    review.write_curated_answer(services.corrections, tokyo, reviewer="suzuki", question="児童手当の振込日",
                                answer="古い答え", expires_at=utcnow() - timedelta(minutes=1))
    assert services.corrections.curated_answer_for("tokyo", "児童手当の振込日") is None
    current = review.write_curated_answer(services.corrections, tokyo, reviewer="suzuki", question="児童手当の振込日",
                                          answer="6月・10月・2月です。")
    assert services.corrections.curated_answer_for("tokyo", "児童手当の振込日").id == current
    assert review.retire_curated_answer(services.corrections, tokyo, reviewer="suzuki", curated_id=current)
    assert services.corrections.curated_answer_for("tokyo", "児童手当の振込日") is None


def test_the_right_source_for_a_reviewed_turn_becomes_a_curated_document(services, tokyo) -> None:
    run = seed_run(services)
    turn_id = run.turns["handover-0"]
    assert turn_id in {item.turn_id for item in review_items(services.db, tokyo)}
    review.write_curated_answer(services.corrections, tokyo, reviewer="suzuki", turn_id=turn_id, doc_id="shibuya-juminhyo-1")
    # The stored question is the redacted one, so the same redacted question matches.
    found = services.corrections.curated_answer_for("tokyo", "住民票の写しを取りたい。連絡先は090-1000-5678です")
    assert found is not None and found.doc_id == "shibuya-juminhyo-1" and found.answer is None
    assert "〔電話番号〕" in found.question and "090-1000-5678" not in found.question
    assert turn_id not in {item.turn_id for item in review_items(services.db, tokyo)}


def test_outdated_flag_holds_until_reingest_or_clear(services, tokyo) -> None:
    assert services.corrections.outdated_doc_ids("tokyo") == set()
    review.flag_outdated(services.corrections, tokyo, reviewer="suzuki", doc_id=GARBAGE.doc_id, reason="料金改定")
    assert services.corrections.outdated_doc_ids("tokyo") == {GARBAGE.doc_id}
    assert services.corrections.outdated_doc_ids("amagasaki") == set()
    write_manifest(services.settings, version="idx-test-0002")  # the tenant was re-ingested
    assert services.corrections.outdated_doc_ids("tokyo") == set()
    review.flag_outdated(services.corrections, tokyo, reviewer="suzuki", doc_id=GARBAGE.doc_id)
    assert services.corrections.outdated_doc_ids("tokyo") == {GARBAGE.doc_id}
    # Clearing closes every open flag of the document, the one that lapsed with the re-ingest too.
    assert review.clear_outdated(services.corrections, tokyo, reviewer="suzuki", doc_id=GARBAGE.doc_id) == 2
    assert services.corrections.outdated_doc_ids("tokyo") == set()


def test_corrections_from_another_process_show_after_the_cache_period(services, tokyo, monkeypatch) -> None:
    from storage import governance as repo

    assert services.corrections.curated_answer_for("tokyo", "犬の登録") is None  # cached: nothing curated
    with services.db.transaction() as conn:  # written behind this process's back
        repo.add_curated_answer(conn, tenant="tokyo", question="犬の登録", question_key=question_key("犬の登録"),
                                created_by="other", answer="区役所で登録します。")
    assert services.corrections.curated_answer_for("tokyo", "犬の登録") is None
    monkeypatch.setattr(review, "CACHE_SECONDS", 0.0)
    assert services.corrections.curated_answer_for("tokyo", "犬の登録").answer == "区役所で登録します。"


def test_review_list_has_unhelpful_low_confidence_and_corrected_drafts_redacted(services, tokyo) -> None:
    run = seed_run(services)
    with services.db.transaction() as conn:
        row = conn.execute(escalations.select().where(escalations.c.turn_id == run.turns["handover-1"])).first()
        append_message(conn, conversation_id=row.conversation_id, tenant="tokyo", role="operator",
                       text="住民票は区民事務所かコンビニで取れます。お電話は03-3411-6666へ（担当 山田）")
    items = {item.turn_id: item for item in review_items(services.db, tokyo)}
    unhelpful = items[run.turns["answered-3"]]
    assert "unhelpful" in unhelpful.kinds and "〔電話番号〕" in unhelpful.comment
    assert "low_confidence" in items[run.turns["handover-0"]].kinds
    corrected = items[run.turns["handover-1"]]
    assert "corrected_draft" in corrected.kinds and "03-3411-6666" not in corrected.operator_reply
    text = repr(list(items.values()))
    assert not [secret for secret in run.secrets if secret in text]
    review.dismiss(services.db, tokyo, reviewer="suzuki", turn_id=run.turns["answered-3"])
    assert run.turns["answered-3"] not in {item.turn_id for item in review_items(services.db, tokyo)}


def test_corrections_survive_a_missing_table(tmp_path) -> None:
    """An unmigrated database must not stop the dialogue: no corrections, a warning in the log."""
    from storage import Database

    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    corrections = StaffCorrections(db, embedder=None)  # nothing to embed: no curated answers can be read
    assert corrections.curated_answer_for("tokyo", "何か") is None
    assert corrections.outdated_doc_ids("tokyo") == set()
