"""The dashboard's figures from a seeded run, topics of the unanswered questions, and a CSV free of personal data."""
from __future__ import annotations

import csv
import io

import numpy as np

from governance.insight import average_linkage, build_insight, cluster_questions, insight_csv
from tests.governance.seeding import UNANSWERED, seed_run


def test_figures_of_a_seeded_run(services) -> None:
    run = seed_run(services)
    insight = build_insight(services.db, ["tokyo"], embedder=services.embedder, days=7)
    assert insight.total_turns == run.counts["turns"] == 23
    assert insight.handovers == 5 and abs(insight.handover_rate - 5 / 23) < 1e-9
    assert dict(insight.handover_reasons) == {"low_confidence": 3, "no_content": 2}
    assert sum(insight.channels.values()) == 23 and set(insight.channels) == {"web", "line", "voice", "email"}
    assert insight.outcomes["answered"] == 15 and insight.outcomes["clarify"] == 3
    assert insight.topics["世田谷区 ごみ分別辞典・収集日 (5374.jp)"] == 18
    assert insight.sla == {"on_time": 2, "late": 1, "pending": 2, "no_target": 0}
    assert abs(insight.sla_on_time_rate - 2 / 3) < 1e-9
    assert insight.satisfaction == {"helpful": 2, "unhelpful": 1}
    today = insight.days[-1]
    assert sum(insight.by_day_outcome[today].values()) == 23
    assert build_insight(services.db, ["amagasaki"], embedder=services.embedder, days=7).total_turns == 0


def test_unanswered_questions_are_grouped_into_topics_with_redacted_examples(services) -> None:
    run = seed_run(services)
    insight = build_insight(services.db, ["tokyo"], embedder=services.embedder, days=7)
    counts = sorted(topic.count for topic in insight.clusters)
    assert counts == [2, 3] and sum(counts) == len(UNANSWERED)
    biggest = insight.clusters[0]
    assert "住民票" in biggest.label and all("住民票" in example for example in biggest.examples)
    assert all("〔電話番号〕" in example for example in biggest.examples)
    assert not [s for s in run.secrets if any(s in e for topic in insight.clusters for e in topic.examples)]


def test_average_linkage_merges_only_close_vectors() -> None:
    vectors = np.array([[1, 0, 0], [0.99, 0.14, 0], [0, 1, 0], [0, 0.98, 0.2], [0, 0, 1]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    clusters = sorted(sorted(c) for c in average_linkage(vectors, 0.9))
    assert clusters == [[0, 1], [2, 3], [4]]
    assert len(average_linkage(vectors, 1.01)) == 5


def test_clustering_redacts_again_on_the_way_out(services) -> None:
    """Even a row stored unredacted (an old bug, a manual insert) leaves as redacted text."""
    class Row:
        redacted_question = "マイナンバー 4713 4109 3573 の再発行"
        reason, outcome = "no_content", "escalated"

    (topic,) = cluster_questions([Row()], services.embedder)
    assert "4713" not in topic.label and "〔個人番号〕" in topic.label


def test_csv_export_holds_the_aggregates_and_no_personal_data(services) -> None:
    run = seed_run(services)
    exported = insight_csv(build_insight(services.db, ["tokyo"], embedder=services.embedder, days=7))
    rows = list(csv.DictReader(io.StringIO(exported)))
    sections = {row["section"] for row in rows}
    assert {"questions_by_channel", "questions_by_outcome", "questions_by_topic", "handover_reason",
            "handover_rate", "sla_first_response", "satisfaction", "unanswered_topic"} <= sections
    by_key = {(row["section"], row["key"]): row["value"] for row in rows if not row["day"]}
    assert by_key[("handover_reason", "low_confidence")] == "3" and by_key[("handover_rate", "all")] == "0.2174"
    assert sum(int(r["value"]) for r in rows if r["section"] == "questions_by_outcome") == 23
    assert not [secret for secret in run.secrets if secret in exported]


def test_topic_text_leaves_out_sentences_with_personal_data() -> None:
    from governance.insight import topic_text

    assert topic_text("住民票の写しを取りたい。連絡先は〔電話番号〕です") == "住民票の写しを取りたい。"
    assert topic_text("〔住所〕の粗大ごみ") == "の粗大ごみ"


class CountingEmbedder:
    """The service's real embedder, counting what one view asks of it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    def embed_queries(self, texts):
        self.calls.append(list(texts))
        return self.inner.embed_queries(texts)


def _handed_over(services, questions: list[str]) -> None:
    from storage import open_conversation, record_turn

    with services.db.transaction() as conn:
        for n, question in enumerate(questions):
            conversation = open_conversation(conn, tenant="tokyo", channel="line", resident_address=f"U-long-{n}")
            record_turn(conn, tenant="tokyo", conversation_id=conversation.id, outcome="escalated",
                        reason="low_confidence", redacted_question=question, channel="line")


def test_one_huge_message_and_many_new_ones_cost_one_view_a_bounded_amount(services) -> None:
    """Issue 14 item 1: one signed LINE message of 333,333 characters kept the dashboard busy for 13 minutes. Now a
    view embeds at most NEW_VECTORS_PER_VIEW new questions, each cut to TOPIC_CHARS; the rest come on later views."""
    from governance.insight import NEW_VECTORS_PER_VIEW, TOPIC_CHARS

    huge = "粗大ごみの出し方を教えてください。" + "あ" * 333_333
    _handed_over(services, [huge] + [f"質問{n}番: 犬の登録について{n}回目の相談です。" for n in range(NEW_VECTORS_PER_VIEW + 5)])
    counting = CountingEmbedder(services.embedder)
    first = build_insight(services.db, ["tokyo"], embedder=counting, days=7)
    embedded = [text for call in counting.calls for text in call]
    assert len(embedded) <= NEW_VECTORS_PER_VIEW and max(map(len, embedded)) <= TOPIC_CHARS
    assert first.topics_pending == NEW_VECTORS_PER_VIEW + 6 - len(embedded) > 0
    second = build_insight(services.db, ["tokyo"], embedder=counting, days=7)
    assert second.topics_pending == 0
    assert sum(topic.count for topic in second.clusters) == NEW_VECTORS_PER_VIEW + 6
    assert all(len(topic.label) <= TOPIC_CHARS for topic in second.clusters)


def test_the_cache_builds_once_per_key_and_interval_even_when_asked_at_once() -> None:
    import threading
    import time as real_time

    from governance.insight import Insight, InsightCache

    now = [0.0]
    cache = InsightCache(ttl_seconds=60, clock=lambda: now[0])
    builds: list[int] = []

    def build() -> Insight:
        builds.append(1)
        real_time.sleep(0.05)  # long enough for the other requests to arrive while it runs
        return Insight(tenants=["tokyo"], since=None, until=None, days=[])

    threads = [threading.Thread(target=cache.get, args=(("tokyo", 30), build)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    cache.get(("tokyo", 7), build)  # another key is another build
    now[0] = 61
    cache.get(("tokyo", 30), build)  # expired
    assert len(builds) == 3


def test_a_dashboard_day_is_a_day_in_japan() -> None:
    from datetime import UTC, date, datetime

    from governance.insight import _day_range, local_day

    assert local_day(datetime(2026, 3, 1, 14, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert local_day(datetime(2026, 3, 1, 15, 0, tzinfo=UTC)) == date(2026, 3, 2)  # 00:00 in Tokyo
    assert _day_range(datetime(2026, 3, 1, 16, 0, tzinfo=UTC), datetime(2026, 3, 3, 1, 0, tzinfo=UTC)) == [
        "2026-03-02", "2026-03-03"]
