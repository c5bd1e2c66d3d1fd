"""Scoring the assistant's replies (as `madoguchi ask --jsonl` prints them) on labelled questions."""
import pytest

from knowledge.evaluation import EvalQuery
from knowledge.evaluation_served import served_figures

QUERIES = [EvalQuery("a", "q", {"1": 2}), EvalQuery("b", "q", {"2": 2, "3": 1}), EvalQuery("c", "q", {"4": 1}),
           EvalQuery("d", "q", {}), EvalQuery("e", "q", {"5": 2})]


def _reply(outcome, first=None, choices=(), reason=None):
    return {"outcome": outcome, "reason": reason, "sources": [{"doc_id": first}] if first else [],
            "choices": [{"n": i, "doc_id": c} for i, c in enumerate(choices, 1)]}


def test_served_counts_right_answers_and_choices_that_hold_one():
    replies = {"a": _reply("answered", "1"), "b": _reply("clarify", choices=["3", "2"]),
               "c": _reply("answered", "4"), "d": _reply("escalated", reason="low_confidence"),
               "e": _reply("smalltalk")}
    figures = served_figures(replies, QUERIES)
    assert figures["served"] == pytest.approx(2 / 5)
    assert figures["answered_precision"] == pytest.approx(1 / 2)  # 「4」 is only related (grade 1): wrong
    assert figures["wrong"] == pytest.approx(1 / 5)
    assert figures["handed_over"] == pytest.approx(1 / 5) and figures["other"] == pytest.approx(1 / 5)
    # c and d have no grade-2 entry: d was handed over, c was (wrongly) answered.
    assert figures["no_answer_questions"] == 2
    assert figures["no_answer_handed_over_or_clarified"] == pytest.approx(1 / 2)
    assert figures["counts"]["escalated:low_confidence"] == 1


def test_only_questions_with_a_reply_are_scored_and_nothing_answered_has_no_precision():
    figures = served_figures({"d": _reply("escalated", reason="risk")}, QUERIES)
    assert figures["questions"] == 1 and figures["answered_precision"] is None
    assert figures["no_answer_handed_over_or_clarified"] == 1.0


def test_a_set_that_says_what_it_expects_is_scored_by_it():
    from knowledge.calibration_labels import labelled_row
    from tests.knowledge.helpers import doc

    docs = [doc("setagaya:pet", "世田谷区: ペットボトル", "資源", citation="tokyo-setagaya-5374-garbage/target.csv:9",
                meta={"file": "tokyo-setagaya-5374-garbage/target.csv", "item": "ペットボトル"})]
    ref = {"file": "tokyo-setagaya-5374-garbage/target.csv", "row_name": "ペットボトル"}
    ask = labelled_row({"id": "c", "turns": ["ペットボトルは何ごみ？"], "expect": "clarify", "evidence": [ref]}, docs)
    follow = labelled_row({"id": "f", "turns": ["ペットボトルは何ごみ？", "世田谷区です"], "expect": "answer",
                           "evidence": [ref]}, docs)
    away = labelled_row({"id": "h", "turns": ["私の住民税はいくら？"], "expect": "handover", "evidence": []}, docs)
    assert follow.text == "世田谷区です" and follow.context == ("ペットボトルは何ごみ？",) and follow.answerable
    assert not ask.answerable and ask.relevant == {"setagaya:pet": 1}
    replies = {"c": _reply("answered", "setagaya:pet"), "f": _reply("answered", "setagaya:pet"),
               "h": _reply("clarify", choices=["setagaya:pet"])}
    figures = served_figures(replies, [ask, follow, away])
    assert figures["counts"]["answered_right"] == 1 and figures["counts"]["wrong"] == 1  # a guessed ward
    assert figures["no_answer_questions"] == 1 and figures["no_answer_handed_over_or_clarified"] == 1.0
    slots = served_figures({"c": {"outcome": "clarify", "choices": [{"n": 1, "title": "世田谷区"}]}}, [ask])
    assert slots["served"] == 1.0  # a clarification that asks for the missing ward serves it
