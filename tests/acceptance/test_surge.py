"""A LINE surge on 2 web instances and 2 workers (processes of their own) on PostgreSQL, with one of each killed
(-9) and restarted, a new index version published and answering switched off midway: nothing lost, nothing sent
twice, every resident's replies in order, every turn on a published version, none answered after the switch.
bench/scale.py runs the same at full size and reports the figures."""
from __future__ import annotations

import pytest

from storage.testing import postgres_unavailable
from tests.acceptance.surge import surge_on_postgres
from tests.conftest import POSTGRES_URL

QUESTIONS = ["粗大ごみの出し方", "児童手当の申請方法", "住民票の写しがほしい", "近くの避難所はどこですか",
             "備蓄はどれくらい必要ですか", "ペットボトルは何ごみ"]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(400)
def test_a_surge_through_kills_a_hot_swap_and_a_kill_switch_loses_and_duplicates_nothing(knowledge_settings,
                                                                                          tmp_path):
    if reason := postgres_unavailable(POSTGRES_URL):
        pytest.skip(reason)
    report = surge_on_postgres(POSTGRES_URL, knowledge_settings.data_dir, QUESTIONS, residents=6, messages=3,
                               seconds=8, work_dir=tmp_path / "cluster", drain_timeout=150, duplicate_share=0.3,
                               lease_s=(3.0, 5.0))
    print(report)  # pytest -s shows the figures
    assert report["drained"], report
    assert report["events"] == report["stored"] == report["done"] == 18, report
    assert report["duplicates_sent"] >= 1 and report["failed"] == 0, report
    assert (report["lost"], report["duplicated"], report["order_violations"]) == (0, 0, 0), report
    assert report["turns"] + report["silent"] == 18 and report["replies"] == report["turns"], report
    published = set(report["index_versions"].values())
    assert set(report["turns_by_index_version"]) <= published, report  # none unrecorded ("none")
    assert report["answering_off"]["answered_after"] == 0, report
