"""The composition root builds one of each long-lived part and hands the same ones to every floor: the staff
corrections and the insight topics embed with the service's configured embedder (they used to take the default
one), the engine answers from the service's knowledge base, and a turn reads the corrections of the service's
database."""
from __future__ import annotations

from config.settings import Settings
from governance import review
from governance.insight import build_insight
from knowledge.knowledge_base import KnowledgeBase
from madoguchi.composition import build_services
from tests.channels.standins import ScriptedEngine
from tests.governance.seeding import seed_run
from tests.knowledge.helpers import CharGramEmbedder


def configured(db, tmp_path, **overrides):
    settings = Settings(data_dir=tmp_path / "var", **overrides)
    knowledge = KnowledgeBase(settings)
    knowledge.embedder = CharGramEmbedder()  # stands for MADOGUCHI_EMBEDDER=st:/path (a city's own model)
    return build_services(settings, db=db, knowledge=knowledge, engine=ScriptedEngine(), channels={})


def test_every_floor_gets_the_one_knowledge_base_and_embedder(db, tmp_path, knowledge_settings) -> None:
    services = configured(db, tmp_path)
    assert services.embedder is services.knowledge.embedder is services.corrections.embedder
    real = build_services(knowledge_settings, db=db, channels={})  # the real engine (its intent vectors are cached)
    assert real.engine.kb is real.knowledge
    assert real.engine.deps.corrections is real.corrections


def test_curated_answers_are_matched_with_the_configured_embedder(db, tmp_path) -> None:
    services = configured(db, tmp_path)
    tokyo = services.tenants["tokyo"]
    review.write_curated_answer(services.corrections, tokyo, reviewer="suzuki",
                                question="粗大ごみの出し方と申し込みの方法、料金、収集日について詳しく教えてください",
                                answer="粗大ごみは受付センターへの事前申込制です。")
    before = services.embedder.calls
    found = services.corrections.curated_answer_for(
        "tokyo", "粗大ごみの出し方と申込みの方法、料金、収集日について詳しく教えてください")  # a paraphrase
    assert found is not None and found.match == "similar"
    assert services.embedder.calls > before


def test_insight_topics_are_embedded_with_the_configured_embedder(db, tmp_path) -> None:
    services = configured(db, tmp_path)
    seed_run(services)
    before = services.embedder.calls
    insight = build_insight(services.db, ["tokyo"], embedder=services.embedder, days=7)
    assert insight.clusters and services.embedder.calls > before
