"""Request and response models of the JSON API (they are also its OpenAPI schema at /docs)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

# The dialogue's normaliser keeps 1,000 characters; longer input is refused rather than silently cut.
MAX_TEXT_CHARS = 1000
MAX_COMMENT_CHARS = 1000


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only spaces")
    return value


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="what the resident wrote")
    client_message_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="made by the page once per message (e.g. a UUID) and resent unchanged on a retry: "
                    "the same id never produces a second turn")

    _text_not_blank = field_validator("text")(_not_blank)


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)

    _question_not_blank = field_validator("question")(_not_blank)


class FeedbackIn(BaseModel):
    turn_id: str | None = Field(default=None, min_length=1, max_length=36, description="the turn the rating is about")
    escalation_id: str | None = Field(default=None, min_length=1, max_length=36,
                                      description="or: the hand-over an operator resolved (was it solved?)")
    rating: Literal["helpful", "unhelpful"]
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)

    @model_validator(mode="after")
    def one_subject(self) -> "FeedbackIn":
        if (self.turn_id is None) == (self.escalation_id is None):
            raise ValueError("give either turn_id or escalation_id")
        return self


class SourceOut(BaseModel):
    doc_id: str
    title: str
    url: str | None = None
    as_of: str | None = None
    citation: str | None = None
    source: str | None = None


class ChoiceOut(BaseModel):
    n: int
    title: str
    doc_id: str | None = None


class ConversationOut(BaseModel):
    conversation_id: str
    tenant: str
    state: str
    resident_token: str = Field(description="send it back in the X-Resident-Token header; keep it secret")


class ReplyOut(BaseModel):
    """One turn's reply, as the page shows it. A replayed client_message_id gets the same reply again."""

    conversation_id: str
    client_message_id: str | None = None
    turn_id: str | None = None
    outcome: str = Field(description="answered | clarify | escalated | declined | blocked | smalltalk | with_operator")
    reason: str | None = None
    answer: str = ""
    confidence: float | None = None
    sources: list[SourceOut] = Field(default_factory=list)
    risk: str | None = None
    language: str = "ja"
    choices: list[ChoiceOut] = Field(default_factory=list)
    resident_message_id: int | None = None
    reply_message_id: int | None = None
    escalated: bool = False
    replayed: bool = False
    ui: dict[str, str] = Field(default_factory=dict, description="interface strings in the reply's language")


class MessageOut(BaseModel):
    id: int
    role: Literal["resident", "assistant", "operator", "system"]
    text: str
    created_at: datetime
    turn_id: str | None = None
    outcome: str | None = None
    language: str | None = None
    sources: list[SourceOut] = Field(default_factory=list)
    choices: list[ChoiceOut] = Field(default_factory=list)
    kind: str | None = Field(default=None, description="satisfaction: the question after an operator resolved")
    escalation_id: str | None = Field(default=None, description="the hand-over a satisfaction question is about")


class TranscriptOut(BaseModel):
    conversation_id: str
    state: str
    handover: str | None = Field(default=None, description="the latest hand-over's state: queued | claimed | "
                                 "waiting_resident | resolved | returned")
    messages: list[MessageOut]
    last_id: int = Field(description="poll again with ?after=last_id")
    ui: dict[str, dict[str, str]] = Field(default_factory=dict, description="interface strings per language used")


class FeedbackOut(BaseModel):
    feedback_id: int


class AskOut(BaseModel):
    outcome: str
    reason: str | None = None
    answer: str
    confidence: float
    sources: list[SourceOut]
    risk: str | None = None
    language: str
    choices: list[ChoiceOut]
    intent: str | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    detail: str = Field(description="what was wrong, in one line (a refused field names its rule, never its value)")
