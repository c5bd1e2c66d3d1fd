"""A seeded run for the governance tests: conversations on four channels whose questions carry personal data
(My Numbers, phones, e-mails, addresses, cards, postal codes), turns of every outcome recorded through
governance.audit, hand-overs with on-time and late first responses, and feedback.

`seed_run(services)` returns a SeededRun with the conversation ids, turn ids and the raw secrets that must never
appear in audit rows, analytics or exports.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from config.settings import PROJECT_ROOT, Settings
from core.outcomes import EscalationReason, Outcome, Source, TurnResult
from governance.audit import record_turn_with_audit
from madoguchi.composition import Services, build_services
from storage import append_message, open_conversation, record_feedback
from storage.schema import escalations, turns
from tests.channels.standins import ScriptedEngine
from tests.governance import pii_corpus

INDEX_VERSION = "idx-test-0001"
GARBAGE = Source("setagaya-garbage-12", "粗大ごみの出し方", "https://www.city.setagaya.lg.jp/sodai", 0.91, "2014",
                 "世田谷区 ごみ分別辞典・収集日 (5374.jp)", "粗大ごみ 第2項")
STOCKPILE = Source("bichiku-navi-3", "家庭の備蓄の目安", "https://www.bousai.metro.tokyo.lg.jp/bichiku/", 0.88,
                   "2024-07", "東京備蓄ナビ", None)
# Questions that were handed over: two topics with paraphrases, so clustering has something to find.
UNANSWERED = [
    "住民票の写しを取りたい", "住民票はどこで取れますか", "住民票の写しの取り方を教えて",
    "犬の登録はどうする", "飼い犬の登録手続きについて知りたい",
]
CHANNELS = ("web", "line", "voice", "email")


def make_services(db: Any, tmp_path: Path) -> Services:
    settings = Settings(secret_key="test-secret-key", public_base_url="http://testserver", data_dir=tmp_path / "var",
                        tenants_dir=PROJECT_ROOT / "config" / "tenants")
    write_manifest(settings)
    return build_services(settings, db=db, engine=ScriptedEngine(), channels={})


def write_manifest(settings: Settings, tenant: str = "tokyo", version: str = INDEX_VERSION) -> None:
    """An index manifest like knowledge.index writes it (the transparency page reads its `sources`)."""
    directory = settings.index_dir / tenant
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"tenant": tenant, "documents": 1234, "index_version": version, "built_at": "2026-11-20T03:00:00Z",
                "sources": [
                    {"source": "世田谷区 ごみ分別辞典・収集日 (5374.jp)", "documents": 800, "as_of": "2014",
                     "licence": "MPL-2.0", "attribution": "世田谷区", "url": "https://www.city.setagaya.lg.jp/"},
                    {"source": "東京備蓄ナビ", "documents": 434, "as_of": "2024-07", "licence": "MIT",
                     "attribution": "東京都", "url": None}]}
    (directory / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def pii_samples(seed: int = 6) -> list[pii_corpus.Sample]:
    rnd = random.Random(seed)
    makers = (pii_corpus.my_number_sample, pii_corpus.phone_sample, pii_corpus.email_sample,
              pii_corpus.address_sample, pii_corpus.card_sample, pii_corpus.postal_sample)
    return [maker(rnd) for maker in makers for _ in range(3)]


@dataclass
class SeededRun:
    conversations: list[str] = field(default_factory=list)
    turns: dict[str, str] = field(default_factory=dict)  # label → turn id
    secrets: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


def result(outcome: Outcome, confidence: float, sources: list[Source] = (), reason: EscalationReason | None = None,
           template: str = "answer", intent: str | None = "faq") -> TurnResult:
    return TurnResult(outcome=outcome, answer="（返答）", confidence=confidence, sources=list(sources), reason=reason,
                      intent=intent, template=template, timings_ms={"normalise": 0.2, "retrieve": 18.5, "total": 21.0})


def _conversation(services: Services, conn: Any, channel: str, address: str) -> Any:
    return open_conversation(conn, tenant="tokyo", channel=channel, resident_address=address)


def add_turn(services: Services, conn: Any, conversation_id: str, channel: str, question: str,
             outcome_result: TurnResult) -> str:
    append_message(conn, conversation_id=conversation_id, tenant="tokyo", role="resident", text=question)
    turn_id = record_turn_with_audit(conn, tenant=services.tenants["tokyo"], conversation_id=conversation_id,
                                     channel=channel, question=question, result=outcome_result,
                                     settings=services.settings)
    append_message(conn, conversation_id=conversation_id, tenant="tokyo", role="assistant",
                   text=outcome_result.answer, turn_id=turn_id)
    return turn_id


def seed_run(services: Services) -> SeededRun:
    run = SeededRun()
    samples = pii_samples()
    run.secrets = {secret for sample in samples for secret in sample.secrets if len(secret) >= 6}
    with services.db.transaction() as conn:
        _seed_answered(services, conn, run, samples)
        _seed_unanswered(services, conn, run)
    _seed_feedback_and_sla(services, run)
    return run


def _seed_answered(services: Services, conn: Any, run: SeededRun, samples: list[Any]) -> None:
    """One conversation per PII sample, spread over the channels: answered, clarified, and one low-confidence."""
    for n, sample in enumerate(samples):
        channel = CHANNELS[n % len(CHANNELS)]
        conversation = _conversation(services, conn, channel, f"{channel}-resident-{n}")
        run.conversations.append(conversation.id)
        question = f"粗大ごみの出し方について。{sample.text}"
        if n % 6 == 5:
            turn = add_turn(services, conn, conversation.id, channel, question,
                            result(Outcome.CLARIFY, 0.55, [GARBAGE, STOCKPILE], template="clarify"))
        else:
            turn = add_turn(services, conn, conversation.id, channel, question,
                            result(Outcome.ANSWERED, 0.86 if n % 4 else 0.97, [GARBAGE]))
        run.turns[f"answered-{n}"] = turn


def _seed_unanswered(services: Services, conn: Any, run: SeededRun) -> None:
    for n, question in enumerate(UNANSWERED):
        channel = CHANNELS[n % len(CHANNELS)]
        conversation = _conversation(services, conn, channel, f"{channel}-handover-{n}")
        run.conversations.append(conversation.id)
        # The resident adds their phone number: it must not reach the dashboard's topic examples.
        text = f"{question}。連絡先は090-{1000 + n}-5678です"
        run.secrets.add(f"090-{1000 + n}-5678")
        reason = EscalationReason.LOW_CONFIDENCE if n % 2 == 0 else EscalationReason.NO_CONTENT
        turn = add_turn(services, conn, conversation.id, channel, text,
                        result(Outcome.ESCALATED, 0.31, [], reason=reason, template="escalated", intent=None))
        run.turns[f"handover-{n}"] = turn
        services.queue.enqueue(conn, tenant="tokyo", conversation_id=conversation.id, reason=reason, turn_id=turn,
                               sla={"first_response_minutes": 15, "resolution_minutes": 1440},
                               draft_answer="住民票は区民事務所で取れます。", draft_confidence=0.31)


def _seed_feedback_and_sla(services: Services, run: SeededRun) -> None:
    """Two hand-overs answered on time, one late; two helpful ratings and one unhelpful with a phone number."""
    with services.db.transaction() as conn:
        rows = list(conn.execute(escalations.select().order_by(escalations.c.created_at)))
        for row, minutes in zip(rows, (5, 10, 40), strict=False):
            conn.execute(update(escalations).where(escalations.c.id == row.id).values(
                first_response_at=row.created_at + timedelta(minutes=minutes)))
        for label, rating, comment in (("answered-1", "helpful", None), ("answered-2", "helpful", "助かりました"),
                                       ("answered-3", "unhelpful", "違う。折り返しは080-9876-5432へ")):
            turn_id = run.turns[label]
            conversation_id = conn.execute(turns.select().where(turns.c.id == turn_id)).first().conversation_id
            record_feedback(conn, tenant="tokyo", conversation_id=conversation_id, rating=rating, turn_id=turn_id,
                            comment=comment)
    run.secrets.add("080-9876-5432")
    run.counts = {"turns": 18 + len(UNANSWERED), "handovers": len(UNANSWERED), "on_time": 2, "late": 1,
                  "helpful": 2, "unhelpful": 1}
