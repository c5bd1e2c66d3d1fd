"""A small deterministic stand-in for DialogueEngine (same run_turn signature, real TurnResult objects), so the API
tests exercise the real conversations.turns path and real storage without building an index."""
from __future__ import annotations

from typing import Any

from core.outcomes import EscalationReason, Outcome, Source, TurnResult

CHILD_ALLOWANCE = Source(doc_id="faq-12", title="児童手当の申請", url="https://www.city.example.jp/jidou", score=0.91,
                         as_of="2019")
BULKY_WASTE = Source(doc_id="faq-40", title="粗大ごみの出し方", url=None, score=0.62, as_of="2019",
                     citation="尼崎市よくある質問 No.40")
HOUSEHOLD_WASTE = Source(doc_id="faq-41", title="家庭ごみの分別", url="https://www.city.example.jp/gomi", score=0.6)


class FakeKnowledgeBase:
    """What conversations.turns asks of the engine's knowledge base: no index, so no index version."""

    def has_index(self, tenant: str) -> bool:
        return False


class FakeEngine:
    def __init__(self) -> None:
        self.kb = FakeKnowledgeBase()
        self.questions: list[str] = []

    def run_turn(self, tenant: Any, text: str, memory: Any = None, channel: str = "web") -> TurnResult:
        self.questions.append(text)
        if "故障" in text:  # lets a test see how an internal error is answered and logged
            raise RuntimeError(f"engine broke while reading {text!r}")
        if text.strip() in ("1", "2"):
            return self._answer(BULKY_WASTE if text.strip() == "1" else HOUSEHOLD_WASTE)
        if "ごみ" in text:
            return TurnResult(outcome=Outcome.CLARIFY,
                              answer="いくつか候補が見つかりました。\n1. 粗大ごみの出し方\n2. 家庭ごみの分別",
                              confidence=0.4, sources=[BULKY_WASTE, HOUSEHOLD_WASTE],
                              choices=[{"n": 1, "doc_id": "faq-40", "title": "粗大ごみの出し方"},
                                       {"n": 2, "doc_id": "faq-41", "title": "家庭ごみの分別"}])
        if "担当者" in text or "person" in text:
            return TurnResult(outcome=Outcome.ESCALATED, reason=EscalationReason.REQUESTED,
                              answer="担当者におつなぎします。", language="en" if "person" in text else "ja")
        if text.isascii():
            return self._answer(CHILD_ALLOWANCE, language="en")
        return self._answer(CHILD_ALLOWANCE)

    @staticmethod
    def _answer(source: Source, language: str = "ja") -> TurnResult:
        answer = f"{source.title}についてのご案内です。\n出典: {source.title}"
        return TurnResult(outcome=Outcome.ANSWERED, answer=answer, confidence=0.93, sources=[source],
                          language=language, intent="question")
