"""The steps of a turn, in order. Each is small, may stop the turn by setting `ctx.result`, and is timed."""
from dialogue.steps.guard_input import detect_language, normalise
from dialogue.steps.understand import ask_for_words, assess_risk, classify_intent, complete_follow_up, pick_choice
from dialogue.steps.retrieve import retrieve
from dialogue.steps.structured import answer_structured, gloss_question
from dialogue.steps.route import route
from dialogue.steps.guard_output import guard_output

# Steps until one decides the reply (route always does) …
TURN_STEPS = (
    normalise, detect_language, pick_choice, ask_for_words, classify_intent, assess_risk, complete_follow_up,
    gloss_question, answer_structured, retrieve, route,
)
# … then checks on whatever was decided.
CHECK_STEPS = (guard_output,)
# While a kill switch is off (no answering, or the channel in maintenance): only what finds an emergency.
SWITCHED_OFF_STEPS = (normalise, detect_language, assess_risk)
# A notice that is not a turn (the busy notice): only the resident's language.
NOTICE_STEPS = (normalise, detect_language)

__all__ = ["TURN_STEPS", "CHECK_STEPS", "SWITCHED_OFF_STEPS", "NOTICE_STEPS"]
