"""How the whole assistant served labelled questions, scored from what it replied (the output of `madoguchi ask
--jsonl`, or the dialogue engine's TurnResult.to_dict()): not retrieval alone, but the turn as a resident gets it,
with intents, risk, follow-ups, curated answers and the answer policy.

- served: an answer whose first source answers the question (grade 2), or a clarification whose choices hold one;
- wrong: an answer whose first source does not answer it (including questions the documents cannot answer);
- handed over: escalated for any reason; other outcomes (smalltalk, declined, blocked) are counted apart;
- no-answer questions (no grade-2 document, or a set's `expect: handover`) handled: escalated or clarified.

A set that says what it expects (the Tokyo residents' set: answer, clarify, handover) is scored by it: a question
to clarify is served by a clarification and answered wrong by a guess.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

from knowledge.evaluation import EvalQuery


def _answers(reply: Mapping[str, Any], query: EvalQuery) -> bool:
    """A question the set expects to be clarified (a slot is missing) is not answered right by a guess."""
    sources = reply.get("sources") or []
    if query.expect not in (None, "answer"):
        return False
    return bool(sources) and query.relevant.get(str(sources[0].get("doc_id")), 0) == 2


def _choices_answer(reply: Mapping[str, Any], query: EvalQuery) -> bool:
    """Choices that hold an answer; for a question the set expects to be clarified, any clarification that
    asks (its choices may be slot values, such as the wards, rather than documents)."""
    if query.expect == "clarify":
        return True
    return any(query.relevant.get(str(c.get("doc_id")), 0) == 2 for c in reply.get("choices") or [])


def served_figures(replies: Mapping[str, Mapping[str, Any]], queries: Sequence[EvalQuery]) -> dict:
    """Figures over every labelled question that has a reply (keyed by the question's id)."""
    scored = [(q, replies[q.id]) for q in queries if q.id in replies]
    n = len(scored)
    outcomes = Counter(r["outcome"] for _, r in scored)
    reasons = Counter(r.get("reason") or "" for _, r in scored if r["outcome"] == "escalated")
    answered = [(q, r) for q, r in scored if r["outcome"] == "answered"]
    clarified = [(q, r) for q, r in scored if r["outcome"] == "clarify"]
    right = sum(_answers(r, q) for q, r in answered)
    clarified_right = sum(_choices_answer(r, q) for q, r in clarified)
    no_answer = [(q, r) for q, r in scored if not q.answerable and q.expect != "clarify"]
    share = lambda part, whole: round(part / whole, 4) if whole else None  # noqa: E731
    return {
        "questions": n,
        "served": share(right + clarified_right, n),
        "answered": share(len(answered), n),
        "answered_precision": share(right, len(answered)),
        "wrong": share(len(answered) - right, n),
        "clarified": share(len(clarified), n),
        "clarify_holds_answer": share(clarified_right, len(clarified)),
        "handed_over": share(outcomes["escalated"], n),
        "other": share(n - len(answered) - len(clarified) - outcomes["escalated"], n),
        "no_answer_questions": len(no_answer),
        "no_answer_handed_over_or_clarified": share(
            sum(r["outcome"] in ("escalated", "clarify") for _, r in no_answer), len(no_answer)),
        "counts": {"served": right + clarified_right, "answered_right": right, "wrong": len(answered) - right,
                   "clarified": len(clarified), "clarified_with_answer": clarified_right,
                   "handed_over": outcomes["escalated"], **{f"escalated:{k}": v for k, v in sorted(reasons.items())},
                   **{f"outcome:{k}": v for k, v in sorted(outcomes.items())
                      if k not in ("answered", "clarify", "escalated")}},
    }
