"""Governance figures on a seeded SQLite database: the cost the dialogue pays per turn for staff corrections,
and how long the dashboard takes to build.

    .venv/bin/python bench/governance.py [--turns 5000] [--curated 200]

curated lookup   curated_answer_for on a cached tenant: exact hit, and a miss that needs one query embedding
outdated lookup  outdated_doc_ids on a cached tenant
insight          build_insight over 30 days (aggregates only, then with topic clustering of ≤ 400 questions)
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.outcomes import EscalationReason, Outcome  # noqa: E402
from governance import review  # noqa: E402
from governance.insight import build_insight  # noqa: E402
from storage import open_conversation  # noqa: E402
from storage.testing import temporary_database  # noqa: E402
from tests.governance.seeding import GARBAGE, add_turn, make_services, result  # noqa: E402

TOPICS = ["住民票の写し", "粗大ごみの出し方", "児童手当の振込日", "犬の登録", "保育園の申し込み", "国民健康保険の加入",
          "印鑑登録", "転入届", "ごみの収集日", "マイナンバーカードの更新"]
FORMS = ["{}を教えてください", "{}はどうすればいいですか", "{}について知りたい", "{}の方法は？"]


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"median {statistics.median(ordered) * 1e3:.3f} ms, p99 {ordered[int(len(ordered) * 0.99)] * 1e3:.3f} ms"


def seed(services, turns: int, rnd: random.Random) -> None:
    with services.db.transaction() as conn:
        for n in range(turns):
            channel = ("web", "line", "voice", "email")[n % 4]
            conversation = open_conversation(conn, tenant="tokyo", channel=channel, resident_address=f"r{n}")
            question = rnd.choice(FORMS).format(rnd.choice(TOPICS)) + f"。電話は090-{rnd.randint(1000, 9999)}-1234"
            if rnd.random() < 0.25:
                outcome = result(Outcome.ESCALATED, 0.3, [], reason=EscalationReason.NO_CONTENT, template="escalated")
            else:
                outcome = result(Outcome.ANSWERED, 0.9, [GARBAGE])
            add_turn(services, conn, conversation.id, channel, question, outcome)


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=5000)
    parser.add_argument("--curated", type=int, default=200)
    args = parser.parse_args()
    rnd = random.Random(6)
    with tempfile.TemporaryDirectory() as tmp, temporary_database("sqlite", Path(tmp)) as db:
        services = make_services(db, Path(tmp))
        tokyo = services.tenants["tokyo"]
        started = time.perf_counter()
        seed(services, args.turns, rnd)
        seeded = time.perf_counter() - started
        for n in range(args.curated):
            review.write_curated_answer(services.corrections, tokyo, reviewer="bench", question=f"質問その{n}: {TOPICS[n % 10]}",
                                        answer="回答")
        review.flag_outdated(services.corrections, tokyo, reviewer="bench", doc_id="x")
        services.corrections.curated_answer_for("tokyo", "図書館の開館時間")  # load and embed the curated questions once
        figures = {
            "turns": args.turns, "curated_answers": args.curated,
            "seed_s_per_1000_turns": round(seeded / args.turns * 1000, 2),
            "curated_exact": _ms(timed(lambda: services.corrections.curated_answer_for("tokyo", "質問その3: 犬の登録"), 200)),
            "curated_miss_with_embedding": _ms(timed(
                lambda: services.corrections.curated_answer_for("tokyo", "図書館の開館時間"), 50)),
            "outdated": _ms(timed(lambda: services.corrections.outdated_doc_ids("tokyo"), 500)),
            "insight_aggregates": _ms(timed(lambda: build_insight(db, ["tokyo"], embedder=services.embedder, cluster=False), 5)),
            "insight_first_view_with_topics": _ms(timed(lambda: build_insight(db, ["tokyo"], embedder=services.embedder), 1)),
            "insight_with_topics_cached_vectors": _ms(timed(lambda: build_insight(db, ["tokyo"], embedder=services.embedder), 3)),
        }
        figures["cache_reload_after_expiry"] = _ms(timed(lambda: (services.corrections.cache.clear(), services.corrections.curated_answer_for(
            "tokyo", "質問その3: 犬の登録")), 20))
    print(json.dumps(figures, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
