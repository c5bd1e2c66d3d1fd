"""Structured sources answer by their slots before any ranking: a garbage item in a named municipality, the
collection days of an area (and 丁目), a stockpile item for a household, or the field a follow-up asks about.
Such an answer is an exact match in the data, so it stops the turn; when a needed slot is missing (which ward,
which area) the resident is asked for it, with choices taken from the data. Anything else goes on to retrieval.
"""
from __future__ import annotations

import re
from typing import Any

from dialogue.records import Slots
from dialogue.steps.answer import answer_with, source_of
from dialogue.steps.deps import StepDeps
from dialogue.steps.stop import reply
from core.outcomes import Outcome
from dialogue.context import TurnContext
from knowledge.documents import SourceDocument
from knowledge.knowledge_base import IndexMissing
from knowledge.structured import (
    Entry, Question, StructuredCatalogue, area_label, catalogue_for, fold, household_size,
)

MAX_CHOICES = 6
_DAYS_WORDS = re.compile(r"日|曜|いつ|収集|回収|出す|出せ|when|day|collect|哪天|什么时候|언제|요일")
_STOCKPILE_WORDS = re.compile(r"備蓄|蓄え|たくわえ|ストック|非常|防災|災害|用意|準備|stock|emergency|disaster|储备|备|비축|비상")
# What a follow-up about a support programme asks for → the record's fields that answer it.
FIELD_QUESTIONS = (
    (re.compile(r"申請|申し込|申込|手続|どこで|どうやって|方法|apply|申请|신청"), ["利用•申請方法", "お問い合わせ先"]),
    (re.compile(r"問い合わせ|問合せ|連絡先|電話|窓口|contact|phone|联系|电话|문의|연락"), ["お問い合わせ先"]),
    (re.compile(r"対象|誰が|だれが|条件|もらえ|受けられ|eligib|who can|对象|대상"), ["対象者"]),
    (re.compile(r"いくら|金額|支給額|内容|how much|多少钱|金额|얼마"), ["支援内容"]),
    (re.compile(r"いつから|いつまで|期限|締切|受付|deadline|期限|기한"), ["受付開始日", "受付終了日", "利用•申請方法"]),
)
_FOLLOW_UP_MAX_CHARS = 20


def answer_structured(ctx: TurnContext, deps: StepDeps) -> None:
    if ctx.chosen_doc_id is not None:
        return
    try:
        index = deps.kb.index(ctx.tenant.id)
    except IndexMissing:
        return
    catalogue = catalogue_for(index)
    question = catalogue.question(ctx.notes.get("glossed") or ctx.text)
    last = index.document(ctx.memory.last_doc_id) if ctx.memory.last_doc_id else None
    for resolve in (_collection_days, _garbage_item, _stockpile, _field_follow_up):
        if resolve(ctx, deps, index, catalogue, question, last):
            ctx.notes["structured"] = resolve.__name__.lstrip("_")
            return


# --- the resolvers: each answers, asks, or returns False -----------------------------------------------------

def _collection_days(ctx, deps, index, catalogue: StructuredCatalogue, question: Question, last) -> bool:
    named = catalogue.municipality_in(question)
    areas, _ = catalogue.areas_in(question, named)
    municipality = named or _municipality_of(last)
    category = catalogue.category_in(question, areas[0].municipality if areas else municipality)
    if not areas:
        # 「燃やさないごみの日は？」 right after an area's collection days keeps that area.
        if last is not None and last.kind == "garbage_days" and category and not catalogue.items_in(question):
            return _answer(ctx, deps, last, Slots(category=category))
        return False
    if catalogue.items_in(question) and not _DAYS_WORDS.search(question.text) and not category:
        return False  # 「三軒茶屋でペットボトルは何ごみ」 is about sorting, not the days
    if len(areas) == 1:
        return _answer(ctx, deps, index.document(areas[0].doc_id), Slots(category=category))
    choices = [_choice(index, a, f"{a.municipality} {area_label(a.name)}", Slots(category=category)) for a in areas]
    return _ask(ctx, deps, "area", choices)


def _garbage_item(ctx, deps, index, catalogue: StructuredCatalogue, question: Question, last) -> bool:
    items = catalogue.items_in(question)
    if not items:
        return False
    covered = _unique(e.municipality for e in items)
    named = catalogue.municipality_in(question)
    if named is not None and named not in covered:
        return False  # a municipality whose data does not have the item (or none at all): retrieval decides
    municipality = named or (_municipality_of(last) if _municipality_of(last) in covered else None)
    if municipality is None:
        choices = [_choice(index, _best(items, m, question), m) for m in covered]
        return _ask(ctx, deps, "municipality", choices)
    own = [e for e in items if e.municipality == municipality]
    exact = [e for e in own if _is_exact(e, question)]
    if len(own) == 1 or len(exact) == 1:
        return _answer(ctx, deps, index.document((exact or own)[0].doc_id), Slots(municipality=municipality))
    return _ask(ctx, deps, None, [_choice(index, e, e.name) for e in own])


def _stockpile(ctx, deps, index, catalogue: StructuredCatalogue, question: Question, last) -> bool:
    entries = catalogue.stockpile_in(question)
    household = household_size(question.text)
    if not entries or not (household or _STOCKPILE_WORDS.search(question.text)):
        return False
    if len(entries) > 1:
        return _ask(ctx, deps, None, [_choice(index, e, e.name, Slots(household=household)) for e in entries])
    return _answer(ctx, deps, index.document(entries[0].doc_id), Slots(household=household))


def _field_follow_up(ctx, deps, index, catalogue, question: Question, last) -> bool:
    """「申請先は？」 after a programme's answer: that programme's 申請方法 / 問い合わせ fields, not the same answer."""
    if last is None or last.kind != "service" or len(question.text) > _FOLLOW_UP_MAX_CHARS:
        return False
    fields = (last.meta or {}).get("fields") or {}
    wanted = next((names for pattern, names in FIELD_QUESTIONS if pattern.search(question.text)), None)
    present = [name for name in wanted or [] if fields.get(name)]
    if not present:
        return False
    ctx.notes["follow_up_of"] = ctx.memory.last_question
    return _answer(ctx, deps, last, Slots(fields=present))


# --- helpers -----------------------------------------------------------------------------------------------

def _answer(ctx: TurnContext, deps: StepDeps, doc: SourceDocument | None, slots: Slots) -> bool:
    if doc is None:
        return False
    answer_with(ctx, deps, doc, 1.0, [source_of(doc, 1.0)], slots)
    return True


def _ask(ctx: TurnContext, deps: StepDeps, slot: str | None, choices: list[dict[str, Any]]) -> bool:
    choices = [c for c in choices if c is not None][:MAX_CHOICES]
    if not choices:
        return False
    for n, choice in enumerate(choices, start=1):
        choice["n"] = n
    reply(ctx, deps, Outcome.CLARIFY, "clarify", choices=choices, slot=slot)
    ctx.result.choices, ctx.result.confidence = choices, 1.0
    ctx.result.sources = [source_of(_doc, 1.0) for c in choices for _doc in [_document(deps, ctx, c["doc_id"])]
                          if _doc is not None]
    ctx.notes["missing_slot"] = slot
    return True


def _document(deps: StepDeps, ctx: TurnContext, doc_id: str) -> SourceDocument | None:
    return deps.kb.index(ctx.tenant.id).document(doc_id)


def _choice(index, entry: Entry | None, title: str, slots: Slots | None = None) -> dict[str, Any] | None:
    if entry is None or index.document(entry.doc_id) is None:
        return None
    choice: dict[str, Any] = {"n": 0, "doc_id": entry.doc_id, "title": title}
    if slots and slots.to_dict():
        choice["slots"] = slots.to_dict()
    return choice


def _best(items: list[Entry], municipality: str, question: Question) -> Entry:
    own = [e for e in items if e.municipality == municipality]
    return next((e for e in own if _is_exact(e, question)), own[0])


def _is_exact(entry: Entry, question: Question) -> bool:
    """The item's whole written name (not only its head before a bracket) is what the question names."""
    return fold(entry.name) in question.folded or not any(c in entry.name for c in "（(")


def _municipality_of(doc: SourceDocument | None) -> str | None:
    if doc is None or doc.kind not in ("garbage_item", "garbage_days"):
        return None
    return (doc.meta or {}).get("municipality")


def _unique(values) -> list:
    seen: list = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
