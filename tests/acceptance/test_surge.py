"""A LINE surge on 2 web instances and 2 workers (processes of their own) on PostgreSQL, with one of each killed
(-9) and restarted, a new index version published and answering switched off midway, emergencies among the
questions and a backpressure limit the surge passes: nothing lost, nothing sent twice, every resident's replies in
order (busy notices included), every turn on a published version, none answered after the switch.
bench/scale.py runs the same at full size and reports the figures."""
from __future__ import annotations

import pytest

from storage.testing import postgres_unavailable
from tests.acceptance.surge import surge_on_postgres
from tests.conftest import POSTGRES_URL

# Questions tokyo answers (or asks which one is meant), so each resident's conversation stays with the assistant and
# every message makes a turn: one handed over to a person goes silent for the assistant.
QUESTIONS = ["世田谷区で「ガラスびん（飲み物、食品、調味料）」は何ごみとして出せばいいですか？",
             "目黒区で「アルミ缶」は何ごみですか？", "八王子市でペットボトルは何ごみ？",
             "世田谷区で「写真フィルム（ネガ）」は何ごみとして出せばいいですか？",
             "水は1人1日何リットル備蓄すればいいですか？", "渋谷区の児童手当について教えて"]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(400)
def test_a_surge_through_kills_a_hot_swap_and_a_kill_switch_loses_and_duplicates_nothing(knowledge_settings,
                                                                                          tmp_path):
    if reason := postgres_unavailable(POSTGRES_URL):
        pytest.skip(reason)
    report = surge_on_postgres(POSTGRES_URL, knowledge_settings.data_dir, QUESTIONS, residents=6, messages=4,
                               seconds=10, work_dir=tmp_path / "cluster", drain_timeout=150, duplicate_share=0.3,
                               lease_s=(3.0, 5.0), backpressure={"max_backlog": 1, "max_wait_s": 0.05}, emergency_every=7)
    print(report)  # pytest -s shows the figures
    assert report["drained"], report
    assert report["events"] == report["stored"] == report["done"] == 24, report
    assert report["duplicates_sent"] >= 1 and report["failed"] == 0, report
    assert (report["lost"], report["duplicated"], report["order_violations"]) == (0, 0, 0), report
    assert report["turns"] + report["silent"] == 24, report
    # Every turn's reply, plus a busy notice for each new resident who wrote while the inbox was past its limit.
    assert report["replies"] == report["turns"] + report["busy_notices"] and report["unsent"] == 0, report
    assert report["emergencies"] >= 1 and report["emergency_to_reply_ms"]["p50"] is not None, report
    published = set(report["index_versions"].values())
    assert set(report["turns_by_index_version"]) <= published, report  # none unrecorded ("none")
    switched = report["answering_off"]
    assert switched["events_after"] >= 1 and switched["answered_after"] == 0, report
    assert switched["handed_over_after"] + switched["silent_after"] == switched["events_after"], report
