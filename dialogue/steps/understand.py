"""Understanding the message before retrieval: a clarification pick, intents that need no retrieval, risk tiers,
and follow-up questions completed from the conversation so far."""
from __future__ import annotations

import re
import unicodedata

from dialogue.steps.deps import StepDeps
from dialogue.steps.stop import escalate, reply
from core.outcomes import EscalationReason, Outcome
from dialogue.context import TurnContext
from dialogue.intents import SMALLTALK

_CHOICE_NUMBER = re.compile(r"^\s*(?:no\.?\s*)?([1-9])\s*(?:番|番目|つ目|です|で|を|\.|)?\s*(?:お願いします)?\s*$", re.I)
# Words that point back at what was said before (「それはどこで申請できますか」).
_ANAPHORA = re.compile(
    r"(それ|その|そこ|これ|この|あれ|あの|同じ|他に|ほかに|もっと詳しく|詳細|申請先|問い合わせ先|"
    r"\b(it|that|this|there)\b|那个|这个|그것|거기)", re.I,
)
_FOLLOW_UP_MAX_TERMS = 3
# 「どれでもない」 after a clarification: none of the choices fits, so a person takes the question.
_NONE_OF_THESE = re.compile(
    r"^\s*(どれでもない|どれも(違う|ちがう|違います|当てはまらない|当てはまりません)|いずれでもない|該当なし|該当しない|"
    r"当てはまるものはない|ない(です)?|違います|いいえ|none( of (these|them|the above))?|neither|no|都不是|都不对|没有|"
    r"다 아니에요|해당 없음|없어요)\s*[。.!！]*\s*$", re.I,
)


def pick_choice(ctx: TurnContext, deps: StepDeps) -> None:
    """After a clarification, "2" or the words of a choice pick that document; 「どれでもない」 hands over."""
    memory = ctx.memory
    if memory.last_outcome != Outcome.CLARIFY.value or not memory.last_choices:
        return
    if _NONE_OF_THESE.match(ctx.text):
        ctx.query, ctx.intent = memory.last_question or ctx.text, "none_of_the_choices"
        escalate(ctx, deps, EscalationReason.LOW_CONFIDENCE)
        return
    chosen = _choice_by_number(ctx.text, memory.last_choices) or _choice_by_words(ctx.text, memory.last_choices)
    if chosen is not None:
        ctx.chosen_doc_id = chosen["doc_id"]
        ctx.query = memory.last_question or ctx.text
        ctx.intent = "choice"
        ctx.notes["choice"] = chosen
    elif _CHOICE_NUMBER.match(ctx.text):
        _ask_again(ctx, deps, memory.last_choices)  # a number that is not one of the choices: show them again


def _ask_again(ctx: TurnContext, deps: StepDeps, choices: list[dict]) -> None:
    ctx.query, ctx.intent = ctx.memory.last_question or ctx.text, "choice_out_of_range"
    reply(ctx, deps, Outcome.CLARIFY, "clarify", choices=choices)
    ctx.result.choices = choices


def ask_for_words(ctx: TurnContext, deps: StepDeps) -> None:
    """A message without a single letter (a stray 「1」, emoji only) with nothing to pick from: ask what they
    want to know, briefly, instead of searching for it or handing it to a person."""
    if ctx.chosen_doc_id is None and not any(char.isalpha() for char in ctx.text):
        reply(ctx, deps, Outcome.SMALLTALK, "ask_for_words", intent="no_words")


def _choice_by_number(text: str, choices: list[dict]) -> dict | None:
    match = _CHOICE_NUMBER.match(text)
    if not match:
        return None
    number = int(match.group(1))
    return next((c for c in choices if int(c["n"]) == number), None)


_POLITE_END = re.compile(r"(?:です|でお願いします|をお願いします|お願いします|だよ|です?ね|で|の方)?[。.!！\s]*$")


def _choice_by_words(text: str, choices: list[dict]) -> dict | None:
    """「目黒区」, 「2丁目です」: the words of one choice (NFKC, a polite ending left off)."""
    wanted = _POLITE_END.sub("", unicodedata.normalize("NFKC", text).strip())
    if len(wanted) < 2:
        return None
    titles = [(c, unicodedata.normalize("NFKC", c["title"])) for c in choices]
    matches = [c for c, title in titles if wanted in title or title in wanted]
    return matches[0] if len(matches) == 1 else None


def classify_intent(ctx: TurnContext, deps: StepDeps) -> None:
    if ctx.chosen_doc_id is not None:
        return
    # One embedding per turn: the intent classifier and retrieval share the question's vector.
    ctx.query_vector = deps.kb.embedder.embed_queries([ctx.text])[0]
    prediction = deps.classifier_for(ctx.tenant).classify_embedded(ctx.text, ctx.query_vector)
    ctx.intent, ctx.intent_confidence = prediction.intent, prediction.confidence
    if ctx.intent in SMALLTALK:
        reply(ctx, deps, Outcome.SMALLTALK, ctx.intent)
    elif ctx.intent == "request_human":
        escalate(ctx, deps, EscalationReason.REQUESTED)
    elif ctx.intent == "complaint":
        escalate(ctx, deps, EscalationReason.COMPLAINT)
    elif ctx.intent == "out_of_scope":
        reply(ctx, deps, Outcome.DECLINED, "declined")
    elif ctx.intent == "prompt_injection":
        reply(ctx, deps, Outcome.BLOCKED, "blocked")


def assess_risk(ctx: TurnContext, deps: StepDeps) -> None:
    """Emergencies and crises get the public numbers at once and a person; other tiers get a disclaimer later."""
    ctx.risk = deps.risk_policy(ctx.tenant).assess(ctx.text, ctx.intent, ctx.language)
    if not ctx.risk.escalate:
        return
    template = {"emergency": "emergency", "crisis": "crisis", "disaster": "disaster"}.get(ctx.risk.tier, "emergency")
    numbers_text = deps.composer(ctx.tenant).render(template, ctx.language, numbers=ctx.risk.numbers)
    result = escalate(ctx, deps, EscalationReason.RISK)
    # The hand-over keeps them: the holding message after the deadline repeats exactly these numbers.
    ctx.notes["risk_numbers"] = [list(pair) for pair in ctx.risk.numbers]
    if ctx.risk.numbers_first:
        result.answer = numbers_text  # the numbers come first and alone: nothing may bury them
    else:
        result.answer = f"{numbers_text}\n\n{result.answer}"
    result.template = template


def complete_follow_up(ctx: TurnContext, deps: StepDeps) -> None:
    """A short question that points back (「それはどこで申請できますか」) is searched together with the last one."""
    last = ctx.memory.last_question
    if ctx.chosen_doc_id is not None or not last:
        return
    terms = deps.kb.tokenizer.tokenize(ctx.text)
    if _ANAPHORA.search(ctx.text) and len(terms) <= _FOLLOW_UP_MAX_TERMS:
        ctx.query = f"{last} {ctx.text}"
        ctx.notes["follow_up_of"] = last
