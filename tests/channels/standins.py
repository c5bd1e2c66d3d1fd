"""A scripted dialogue engine for the channel tests: the real conversations.turns stores its turns.

`ScriptedEngine` implements `run_turn(tenant, text, memory=None, channel="web") -> TurnResult` with canned
outcomes chosen by words in the question and an optional delay (a slow engine for the hold and load tests); the
real engine on a real index is exercised in tests/acceptance/test_channel_real_engine.py. An emergency or crisis
(the real risk policy of config/risk.yml) is handed over with the real numbers-first template, as the real risk
step does, so the SLA tiers can be tested without loading the engine.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from config.tenancy import Tenant
from core.outcomes import EscalationReason, Outcome, Source, TurnResult
from dialogue.compose import Composer
from dialogue.language import detect_language
from dialogue.risk import assess_risk

ANSWER_URL = "https://www.city.example.jp/kurashi/gomi/sodai.html"


class ScriptedEngine:
    """Answers by keyword: 担当者 → escalated (requested), 難問 → escalated (low confidence), 選択 → clarify,
    anything else → answered with a citation URL. `delay_s` makes every turn slow."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls: list[str] = []
        self._lock = threading.Lock()

    @property
    def kb(self) -> Any:
        return _NoIndex()

    def greet(self, tenant: Any, language: str = "ja") -> TurnResult:
        return TurnResult(Outcome.SMALLTALK, "友だち追加ありがとうございます。ご質問をどうぞ。", language=language)

    def run_turn(self, tenant: Any, text: str, memory: Any = None, channel: str = "web") -> TurnResult:
        with self._lock:
            self.calls.append(text)
        if self.delay_s:
            time.sleep(self.delay_s)
        return risk_result(tenant, text) or scripted_result(text)


class _NoIndex:
    def has_index(self, tenant: str) -> bool:
        return False


def risk_result(tenant: Any, text: str) -> TurnResult | None:
    """What the real risk step gives an emergency or crisis: the numbers first, handed over at top priority."""
    if not isinstance(tenant, Tenant):
        return None
    language = detect_language(text)
    risk = assess_risk(text, tenant=tenant, language=language)
    if not risk.numbers_first:
        return None
    answer = Composer(tenant).render(risk.tier or "emergency", language, numbers=risk.numbers)
    return TurnResult(Outcome.ESCALATED, answer, reason=EscalationReason.RISK, risk=risk.tier, language=language,
                      template=risk.tier or "emergency", notes={"risk_numbers": [list(n) for n in risk.numbers]})


def scripted_result(text: str) -> TurnResult:
    if "担当者" in text:
        return TurnResult(Outcome.ESCALATED, "担当者におつなぎします。", reason=EscalationReason.REQUESTED)
    if "難問" in text:
        return TurnResult(Outcome.ESCALATED, "担当者が確認してご連絡します。", confidence=0.1,
                          reason=EscalationReason.LOW_CONFIDENCE)
    if "選択" in text:
        return TurnResult(Outcome.CLARIFY, "どちらについてですか。", confidence=0.5,
                          choices=[{"n": 1, "doc_id": "d1", "title": "粗大ごみ"}, {"n": 2, "doc_id": "d2",
                                                                                 "title": "資源ごみ"}])
    source = Source(doc_id="gomi-1", title="粗大ごみの出し方", url=ANSWER_URL, score=0.9)
    answer = f"「{text}」について: 粗大ごみは電話03-1234-5678で予約してください。詳しくは {ANSWER_URL} をご覧ください。"
    return TurnResult(Outcome.ANSWERED, answer, confidence=0.9, sources=[source])
