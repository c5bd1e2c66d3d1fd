"""`madoguchi import-rasa`: a Rasa project's intents, FAQ responses and one-step rules moved into a tenant."""
from __future__ import annotations

from pathlib import Path

import pytest

from dialogue.intents import IntentClassifier
from dialogue.steps.deps import StepDeps
from madoguchi.rasa_import import import_rasa
from storage import list_audit
from tests.knowledge.helpers import CharGramEmbedder

NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - こんにちは、市役所さん
    - おはようございます！
- intent: faq/opening_hours
  examples: |
    - 市役所は何時から開いていますか
    - 窓口の受付時間を教えて
- intent: faq/bulky_waste
  examples: |
    - 粗大ごみはどうやって出せばいい？
- intent: faq/no_answer
  examples: |
    - 答えのない質問
- intent: bot_challenge
  examples: |
    - あなたはロボットですか
- intent: inform_ward
  examples: |
    - [中央区](ward)に住んでいます
- synonym: 市役所
  examples: |
    - 役所
"""
DOMAIN = """version: "3.1"
intents: [greet, faq, bot_challenge, inform_ward]
responses:
  utter_greet:
  - text: こんにちは！
  utter_faq/opening_hours:
  - text: 市役所の窓口は平日の午前8時30分から午後5時15分までです。
  utter_faq/bulky_waste:
  - text: 粗大ごみは粗大ごみ受付センターへ事前にお申し込みください。
  utter_iamabot:
  - text: わたしは市のAIアシスタントです。
  utter_unused:
  - text: 使われない応答
"""
RULES = """version: "3.1"
rules:
- rule: bot challenge
  steps:
  - intent: bot_challenge
  - action: utter_iamabot
"""


@pytest.fixture
def rasa_project(tmp_path: Path) -> Path:
    root = tmp_path / "rasa-assistant"
    (root / "data").mkdir(parents=True)
    (root / "data" / "nlu.yml").write_text(NLU, encoding="utf-8")
    (root / "data" / "rules.yml").write_text(RULES, encoding="utf-8")
    (root / "domain.yml").write_text(DOMAIN, encoding="utf-8")
    return root


@pytest.fixture
def tokyo(services):
    return services.tenants["tokyo"]


def test_faq_responses_and_one_step_rules_become_curated_answers_with_their_source(services, tokyo, rasa_project,
                                                                                    tmp_path):
    report = import_rasa(rasa_project, tokyo, services.corrections, tmp_path / "tenants", source_url="https://city.example.jp/faq")
    assert {(c["intent"], c["question"]) for c in report.curated} == {
        ("faq/opening_hours", "市役所は何時から開いていますか"), ("faq/opening_hours", "窓口の受付時間を教えて"),
        ("faq/bulky_waste", "粗大ごみはどうやって出せばいい？"), ("bot_challenge", "あなたはロボットですか")}
    found = services.corrections.curated_answer_for("tokyo", "窓口の受付時間を教えて")
    assert found.answer == "市役所の窓口は平日の午前8時30分から午後5時15分までです。"
    assert found.source_title == "東京都 よくある質問" and found.source_url == "https://city.example.jp/faq"
    with services.db.read() as conn:
        provenance = [row.detail for row in list_audit(conn, tenants=["tokyo"]) if row.action == "review.import_rasa"]
    assert {(d["intent"], d["response"], d["file"]) for d in provenance} >= {
        ("faq/opening_hours", "utter_faq/opening_hours", "domain.yml"),
        ("bot_challenge", "utter_iamabot", "domain.yml")}


def test_what_cannot_be_mapped_is_reported(services, tokyo, rasa_project, tmp_path):
    report = import_rasa(rasa_project, tokyo, services.corrections, tmp_path / "tenants")
    reasons = {item.get("intent") or item.get("response"): item["reason"] for item in report.not_mapped}
    assert "faq/no_answer" in reasons and "utter_faq/no_answer" in reasons["faq/no_answer"]
    assert "inform_ward" in reasons and "utter_unused" in reasons
    assert "greet" not in reasons and "faq/opening_hours" not in reasons


def test_shared_intents_extend_the_tenants_own_examples_and_the_classifier_uses_them(services, tokyo, rasa_project,
                                                                                     tmp_path):
    tenants_dir = tmp_path / "tenants"
    report = import_rasa(rasa_project, tokyo, services.corrections, tenants_dir)
    assert report.intents == {"greeting": 2}
    nlu = tenants_dir / "tokyo" / "nlu.yml"
    assert "- intent: greeting" in nlu.read_text(encoding="utf-8")
    embedder = CharGramEmbedder()
    base = IntentClassifier(embedder=embedder, cache_dir=tmp_path / "cache")
    deps = StepDeps(kb=None, classifier=base, tenant_nlu_path=lambda tenant: tenants_dir / tenant.id / "nlu.yml")
    own = deps.classifier_for(tokyo)
    assert own is not base and len(own.examples) == len(base.examples) + 2
    assert any(e.text == "こんにちは、市役所さん" and e.intent == "greeting" for e in own.examples)
    assert deps.classifier_for(services.tenants["amagasaki"]) is base  # no file of its own


def test_importing_again_adds_only_what_is_new(services, tokyo, rasa_project, tmp_path):
    import_rasa(rasa_project, tokyo, services.corrections, tmp_path / "tenants")
    again = import_rasa(rasa_project, tokyo, services.corrections, tmp_path / "tenants")
    assert again.curated == [] and again.skipped_existing == 4 and again.intents == {"greeting": 0}
