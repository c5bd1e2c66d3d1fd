"""The answer policy: when to answer, clarify (with which choices) or hand over."""
from dataclasses import dataclass

from core.policy import PREVIOUS_THRESHOLDS, Thresholds, clarify_choices, decide


@dataclass
class _Doc:
    doc_id: str
    title: str


@dataclass
class _Hit:
    doc: _Doc
    score: float


def _hits(*pairs):
    return [_Hit(_Doc(str(i), title), score) for i, (title, score) in enumerate(pairs)]


def test_answer_only_above_the_answer_bar_clarify_above_the_clarify_bar_else_hand_over():
    thresholds = Thresholds(answer=0.9, clarify=0.4)
    assert decide(0.95, 0.99, thresholds) == "answer"
    assert decide(0.6, 0.5, thresholds) == "clarify"
    assert decide(0.6, 0.3, thresholds) == "escalate"


def test_the_previous_policy_almost_never_clarified():
    assert decide(0.8399, 0.99, PREVIOUS_THRESHOLDS) == "clarify"
    assert decide(0.8, 0.8395, PREVIOUS_THRESHOLDS) == "escalate"


def test_choices_have_distinct_titles_in_rank_order():
    hits = _hits(("住民票の写し", 0.6), ("住民票の写し", 0.55), ("印鑑登録", 0.5), ("戸籍謄本", 0.4), ("転入届", 0.3))
    assert [h.doc.doc_id for h in clarify_choices(hits)] == ["0", "2", "3"]


def test_a_far_off_candidate_is_not_offered_but_the_first_always_is():
    hits = _hits(("ごみの出し方", 0.8), ("粗大ごみ", 0.5), ("犬の登録", 0.1))
    assert [h.doc.title for h in clarify_choices(hits)] == ["ごみの出し方", "粗大ごみ"]
    assert len(clarify_choices(_hits(("ひとつだけ", 0.01)))) == 1
    assert clarify_choices([]) == []
