"""Structured sources answer by their slots before any ranking: a garbage item in a named municipality, the
collection days of an area (and 丁目), a stockpile item for a household, or the field a follow-up asks about.
Such an answer is an exact match in the data, so it stops the turn; when a needed slot is missing (which ward,
which area) the resident is asked for it, with choices taken from the data. Anything else goes on to retrieval.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from dialogue.records import Slots, stockpile_days
from dialogue.steps.answer import answer_with, source_of
from dialogue.steps.deps import StepDeps
from dialogue.steps.stop import escalate, reply
from core.outcomes import EscalationReason, Outcome
from dialogue.context import TurnContext
from knowledge.documents import SourceDocument
from knowledge.glossary import glossary_for
from knowledge.knowledge_base import IndexMissing
from knowledge.structured import (
    EVACUATION_WORDS, HAZARD_MAP_WORDS, PET_WORDS, Entry, Question, StructuredCatalogue, area_label, catalogue_for,
    chome_in, fold, household_of,
)

MAX_CHOICES = 6
_DAYS_WORDS = re.compile(r"日|曜|いつ|収集|回収|出す|出せ|when|day|collect|哪天|什么时候|星期|언제|요일|수거")
_STOCKPILE_WORDS = re.compile(
    r"備蓄|蓄え|たくわえ|ストック|非常|防災|ぼうさい|災害|用意|準備|何本|何枚|何個|何リットル|何食|どれくらい|どのくらい|"
    r"stock|emergency|disaster|how many|how much|储备|备|防灾|多少|비축|비상|얼마|몇", re.I)
# A question about a garbage item asks how to put it out (or is the item's name alone: 「電池」, 「目黒区 傘」).
_DISPOSAL_WORDS = re.compile(
    r"ごみ|ゴミ|捨て|すて|出す|出し|出せ|だす|だし|処分|分別|回収|リサイクル|資源|粗大|どうやって|どうすれば|どこに|どう出|"
    r"trash|garbage|rubbish|dispos|throw|recycl|burnable|\bbin\b|垃圾|扔|丢|处理|回收|쓰레기|버려|버리|버릴|분리|배출", re.I)
# A follow-up that only gives another 丁目: 「2丁目は？」, 「じゃあ３丁目だと？」.
_ONLY_CHOME = re.compile(r"(?:じゃあ|では|なら)?\s*(?:\d+|[一二三四五六七八九十]+)\s*(?:丁目|ちょうめ)\s*(?:は|だと|なら|の場合は|では)?\s*[?？。]?\s*")
# Words only a garbage question uses (「出す」 alone is also 「住民票を出す」).
_GARBAGE_WORDS = re.compile(r"ごみ|ゴミ|粗大|分別|資源|リサイクル|捨て|すて方|trash|garbage|rubbish|recycl|垃圾|쓰레기|분리수거",
                            re.I)
# A follow-up that asks how to sort, not when: 「何ごみ」, 「分別は」, 「捨て方」.
_SORTING_WORDS = re.compile(r"何ごみ|なにごみ|何ゴミ|分別|捨て方|出し方|which (?:bin|trash)|what (?:kind|type)|哪种|什么垃圾|무슨 쓰레기")
_FILLER = re.compile(r"[\s、。,.?？!！・]|では|で|は|って|を|が|も|の|とか|です|ですか|について|区|市")
_BARE_MAX_CHARS = 3
_NOUN_PHRASE_MAX_CHARS = 24
# What a follow-up about a support programme asks for → the record's fields that answer it.
FIELD_QUESTIONS = (
    (re.compile(r"申請|申し込|申込|手続|どこで|どうやって|方法|apply|申请|신청"), ["利用•申請方法", "お問い合わせ先"]),
    (re.compile(r"問い合わせ|問合せ|連絡先|電話|窓口|contact|phone|联系|电话|문의|연락"), ["お問い合わせ先"]),
    (re.compile(r"対象|誰が|だれが|条件|もらえ|受けられ|eligib|who can|对象|대상"), ["対象者"]),
    (re.compile(r"いくら|金額|支給額|内容|how much|多少钱|金额|얼마"), ["支援内容"]),
    (re.compile(r"いつから|いつまで|期限|締切|受付|deadline|期限|기한"), ["受付開始日", "受付終了日", "利用•申請方法"]),
)
_FOLLOW_UP_MAX_CHARS = 20
# The hazards 東京備蓄ナビ links maps for, as its labels name them, and how residents name them.
HAZARDS = (  # with their readings: 「こうずい ハザードマップ」
    ("洪水", re.compile(r"洪水|こうずい|大雨|川の氾濫|河川|flood|洪水|홍수", re.I)),
    ("津波", re.compile(r"津波|つなみ|tsunami|海啸|쓰나미|해일", re.I)),
    ("土砂", re.compile(r"土砂|どしゃ|がけ崩れ|崖崩れ|landslide|泥石流|滑坡|산사태|토사", re.I)),
    ("内水", re.compile(r"内水|ないすい|浸水|しんすい|下水|inland|内涝|내수|침수", re.I)),
    ("高潮", re.compile(r"高潮|たかしお|storm surge|风暴潮|해일|고조", re.I)),
    ("火山", re.compile(r"火山|かざん|噴火|ふんか|volcan|화산", re.I)),
)
# The hazards of the GSI emergency list, as its flags name them (knowledge/ingest/gsi_evacuation.py).
EVACUATION_HAZARDS = (
    ("洪水", re.compile(r"洪水|大雨|氾濫|水害|flood|홍수", re.I)),
    ("地震", re.compile(r"地震|earthquake|지진", re.I)),
    ("津波", re.compile(r"津波|tsunami|海啸|쓰나미", re.I)),
    ("大規模な火事", re.compile(r"火事|火災|fire|火灾|화재", re.I)),
    ("土砂災害", re.compile(r"土砂|がけ崩れ|崖崩れ|土石流|地滑り|landslide|泥石流|산사태", re.I)),
    ("高潮", re.compile(r"高潮|storm surge|风暴潮", re.I)),
    ("内水氾濫", re.compile(r"内水|浸水|inland flood|内涝", re.I)),
    ("火山", re.compile(r"火山|噴火|volcan|화산", re.I)),
)
_EMERGENCY_WORDS = re.compile(r"避難場所|緊急|逃げ|一時|emergency|evacuation area|紧急|避难场所|대피\s*장소|긴급", re.I)
_FAMILY_WITHOUT_SIZE = re.compile(r"家族の分|家族分|家族で|家族の|うちの家族|for my family|for the family|家人|가족")


def gloss_question(ctx: TurnContext, deps: StepDeps) -> None:
    """A question in English, Chinese or Korean gets the Japanese names of the records it speaks of (umbrella → 傘,
    目黑区 → 目黒区, 세타가야구 → 世田谷区): the structured answers read them, and retrieval searches with them."""
    if ctx.language == "ja" or ctx.chosen_doc_id is not None or ctx.result is not None:
        return
    try:
        index = deps.kb.index(ctx.tenant.id)
    except IndexMissing:
        return
    glossed = glossary_for(catalogue_for(index), (index.tenant, index.version)).gloss(ctx.text, ctx.language)
    if glossed != ctx.text:
        ctx.notes["glossed"] = glossed
        if ctx.query == ctx.text:
            ctx.query = glossed


def answer_structured(ctx: TurnContext, deps: StepDeps) -> None:
    if ctx.chosen_doc_id is not None:
        return
    try:
        index = deps.kb.index(ctx.tenant.id)
    except IndexMissing:
        return
    catalogue = catalogue_for(index)
    question = catalogue.question(_with_pending_slot(ctx, catalogue))
    last = index.document(ctx.memory.last_doc_id) if ctx.memory.last_doc_id else None
    for resolve in (_evacuation_sites, _hazard_map, _garbage_elsewhere, _collection_days, _stockpile, _garbage_item,
                    _field_follow_up):
        if resolve(ctx, deps, index, catalogue, question, last):
            ctx.notes["structured"] = resolve.__name__.lstrip("_")
            return


def _with_pending_slot(ctx: TurnContext, catalogue: StructuredCatalogue) -> str:
    """「江東区」 after 「どちらの区市ですか」 (asked without choices: 62 municipalities) completes the question asked."""
    text = ctx.notes.get("glossed") or ctx.text
    memory = ctx.memory
    if memory.last_outcome != Outcome.CLARIFY.value or memory.last_choices or not memory.last_question:
        return text
    if catalogue.municipality_in(catalogue.question(text)) and len(text) <= _FOLLOW_UP_MAX_CHARS:
        ctx.notes["follow_up_of"] = memory.last_question
        ctx.query = f"{memory.last_question} {ctx.text}"
        return f"{memory.last_question} {text}"
    return text


# --- the resolvers: each answers, asks, or returns False -----------------------------------------------------

def _evacuation_sites(ctx, deps, index, catalogue: StructuredCatalogue, question: Question, last) -> bool:
    """「目黒区の駒場小学校は洪水のときも避難できますか」, 「世田谷区の洪水のときの避難場所は」, 「三軒茶屋あたりの避難所」:
    the municipality's GSI lists by site, hazard or place; a list it did not publish is handed over."""
    if not catalogue.evacuation or not EVACUATION_WORDS.search(question.text):
        return False
    named = catalogue.municipality_in(question, catalogue.evacuation)
    areas, _ = catalogue.areas_in(question, named)
    municipality = named or (areas[0].municipality if areas else None)
    sites = catalogue.sites_in(question, municipality)
    if municipality is None and len(_unique(s.municipality for s in sites)) == 1:
        municipality = sites[0].municipality
    if municipality is None:
        return _ask(ctx, deps, "municipality", [], open_slot=True)
    doc = index.document(catalogue.evacuation[municipality])
    meta = (doc.meta or {}) if doc is not None else {}
    hazard = next((label for label, pattern in EVACUATION_HAZARDS if pattern.search(question.text)), None)
    wanted = "emergency" if hazard or _EMERGENCY_WORDS.search(question.text) else "evacuation"
    site = next((s.name for s in sites if s.municipality == municipality), None)
    if site is not None:
        return _answer(ctx, deps, doc, Slots(hazard=hazard, site=site, shelter_list=wanted))
    listed = [s for s in meta.get(wanted) or [] if hazard is None or hazard in s["hazards"]]
    if not listed:  # no such list, or none of its sites designated for that hazard: a person answers
        return _no_list(ctx, deps, doc, wanted)
    area = _area_named(question, areas, listed, catalogue.municipality_keys.get(municipality) or ())
    return _answer(ctx, deps, doc, Slots(hazard=hazard, area=area, shelter_list=wanted))


def _area_named(question: Question, areas: list[Entry], sites: list[dict], ward_keys) -> str | None:
    """The place a question names, as the sites' addresses write it (a collection area's name, or a word of the
    question found in an address: 「三軒茶屋」 in 東京都世田谷区三軒茶屋1-…)."""
    words = [a.keys[0] for a in areas] + [question.text[t.start:t.end] for t in question.tokens
                                          if t.pos == "名詞" and t.pos2 == "固有名詞" and t.end - t.start >= 2]
    addresses = [unicodedata.normalize("NFKC", s["address"]) for s in sites]
    for word in (w for w in words if fold(w) not in ward_keys):  # 「世田谷区の…」 names the ward, not a place in it
        if any(word in address for address in addresses):
            return word
    return None


def _no_list(ctx, deps, doc, wanted: str) -> bool:
    """The municipality published no such list: a person answers (the other list is no answer to this one)."""
    result = escalate(ctx, deps, EscalationReason.NO_CONTENT)
    result.sources = [source_of(doc, 1.0)] if doc is not None else []
    ctx.notes["missing_list"] = wanted
    return True


def _hazard_map(ctx, deps, index, catalogue: StructuredCatalogue, question: Question, last) -> bool:
    """「江東区の洪水ハザードマップ」: that municipality's map for that hazard; without a municipality, ask which."""
    if not HAZARD_MAP_WORDS.search(question.text):
        return False
    hazard = next((label for label, pattern in HAZARDS if pattern.search(question.text)), None)
    named = catalogue.municipality_in(question, catalogue.hazard_maps)
    if named is None:
        if catalogue.municipality_in(question) is not None:
            return False  # a place the hazard-map list does not hold: retrieval decides
        return _ask(ctx, deps, "municipality", [], open_slot=True)
    doc = index.document(catalogue.hazard_maps[named])
    links = (doc.meta or {}).get("links") or {} if doc is not None else {}
    if hazard is not None and not any(hazard in label for label in links):
        result = escalate(ctx, deps, EscalationReason.NO_CONTENT)  # no map listed for that hazard: a person finds one
        result.sources = [source_of(doc, 1.0)] if doc is not None else []
        ctx.notes["missing_hazard"] = hazard
        return True
    return _answer(ctx, deps, doc, Slots(hazard=hazard))


def _garbage_elsewhere(ctx, deps, index, catalogue: StructuredCatalogue, question: Question, last) -> bool:
    """「練馬区で電池は何ごみ？」, 「杉並区の燃えるごみの日」: a municipality whose garbage data the tenant does not hold
    is handed over, saying which ones it does hold; never another ward's rule, never an area asked for there."""
    named = catalogue.municipality_in(question)
    if not catalogue.categories or named is None or named in catalogue.categories:
        return False
    asks_days = bool(catalogue.categories_in(question, None)) and bool(_DAYS_WORDS.search(question.text))
    # 「練馬区 ペットボトル」, 「练马区 塑料瓶 怎么扔」: a thing the data sorts, named or put out there, is garbage too.
    puts_out_an_item = bool(catalogue.item_mentions(question)) and bool(
        _DISPOSAL_WORDS.search(question.text) or _is_noun_phrase(question))
    if not (_GARBAGE_WORDS.search(question.text) or asks_days or puts_out_an_item):
        return False
    said = deps.composer(ctx.tenant).render("no_garbage_data", ctx.language, municipality=named,
                                            known=sorted(catalogue.categories))
    escalate(ctx, deps, EscalationReason.NO_CONTENT, prefix=said)
    ctx.notes["outside_coverage"] = named
    return True


def _collection_days(ctx, deps, index, catalogue: StructuredCatalogue, question: Question, last) -> bool:
    named = catalogue.municipality_in(question)
    areas, _ = catalogue.areas_in(question, named)
    municipality = named or _municipality_of(last)
    categories = catalogue.categories_in(question, areas[0].municipality if areas else municipality)
    if not areas:
        if last is not None and last.kind == "garbage_days" and _asks_days_again(catalogue, question):
            return _answer(ctx, deps, last, _days_slots(catalogue, question, last))
        if last is not None and last.kind == "garbage_days" and _ONLY_CHOME.fullmatch(question.folded):
            # 「2丁目は？」 after 三軒茶屋1丁目's days: the same place, that 丁目 (and the categories asked before)
            same = catalogue.same_area(last.doc_id, chome_in(question.folded) or 0)
            previous = catalogue.question(ctx.memory.last_question or "")
            if len(same) == 1:
                return _answer(ctx, deps, index.document(same[0].doc_id), _days_slots(catalogue, previous, last))
        if categories and _DAYS_WORDS.search(question.text) and not catalogue.items_in(question):
            return _ask_for_area(ctx, deps, catalogue, named)
        return False
    if not (categories or _DAYS_WORDS.search(question.text) or _is_bare(question, [a.keys[0] for a in areas])):
        return False  # 「三宿小学校は避難所ですか」 names an area but does not ask for its collection days
    if catalogue.items_in(question) and not _DAYS_WORDS.search(question.text) and not categories:
        return False  # 「三軒茶屋でペットボトルは何ごみ」 is about sorting, not the days
    slots = _days_slots(catalogue, question, index.document(areas[0].doc_id))
    if len(areas) == 1:
        return _answer(ctx, deps, index.document(areas[0].doc_id), slots)
    choices = [_choice(index, a, f"{a.municipality} {area_label(a.name)}", slots) for a in areas]
    return _ask(ctx, deps, "area", choices)


def _asks_days_again(catalogue: StructuredCatalogue, question: Question) -> bool:
    """After a collection-day answer, 「びんとかんは？」 or 「燃やさないごみの日は？」 asks the same area's days for
    those categories (a thing that is not a category, 「スプレー缶は？」, asks how to sort it)."""
    if len(question.text) > _FOLLOW_UP_MAX_CHARS or _SORTING_WORDS.search(question.text):
        return False
    return bool(catalogue.categories_in(question, None)) and catalogue.names_only_categories(question)


def _days_slots(catalogue: StructuredCatalogue, question: Question, area: SourceDocument | None) -> Slots:
    """The categories asked about, each as the area's municipality names it. When one asked about is no column of
    its own there (世田谷区 collects びん and かん as 資源), every column is given rather than a guess."""
    municipality = _municipality_of(area)
    asked = catalogue.categories_in(question, None)
    own = catalogue.categories_in(question, municipality)
    columns = catalogue.categories.get(municipality) or set()
    if any(category not in columns for category in asked):
        return Slots()
    return Slots(categories=own)


def _ask_for_area(ctx, deps, catalogue: StructuredCatalogue, municipality: str | None) -> bool:
    """「燃えるごみの日はいつ？」 names no area: ask for it (and for the municipality when none is named either)."""
    if municipality is None:
        return _ask(ctx, deps, "municipality", [], open_slot=True, known=sorted(catalogue.categories))
    return _ask(ctx, deps, "area", [], open_slot=True, municipality=municipality)


def _stockpile(ctx, deps, index, catalogue: StructuredCatalogue, question: Question, last) -> bool:
    household = household_of(question.text)
    asks_stock = bool(_STOCKPILE_WORDS.search(question.text))
    following = last is not None and last.kind == "stockpile"
    entries = catalogue.stockpile_in(question)
    if not entries and following and household.size and len(question.text) <= _FOLLOW_UP_MAX_CHARS:
        entries = [e for e in catalogue.stockpile if e.doc_id == last.doc_id]  # 「４人家族だと？」: the same item
    if not entries and PET_WORDS.search(question.text) and catalogue.stockpile_in(_without_pets(catalogue, question)):
        return _no_pet_record(ctx, deps)
    if not entries:
        return False
    if not (household.size or asks_stock or following):
        return False
    if _DISPOSAL_WORDS.search(question.text) and not asks_stock:
        return False  # 「乾電池の捨て方」 is about garbage
    if following and not household.size and ctx.memory.last_question:
        household = household_of(ctx.memory.last_question)  # 「じゃあトイレットペーパーは？」 keeps the household
    if _FAMILY_WITHOUT_SIZE.search(question.text) and not household.size:
        return _ask(ctx, deps, "household_size", [], open_slot=True)
    slots = Slots(household=household.size, members=dict(household.members), unknown=household.unknown,
                  days=stockpile_days(question.text) or (stockpile_days(ctx.memory.last_question or "")
                                                         if following else None))
    if len(entries) > 1:
        return _ask(ctx, deps, None, [_choice(index, e, e.name, slots) for e in entries])
    return _answer(ctx, deps, index.document(entries[0].doc_id), slots)


def _without_pets(catalogue: StructuredCatalogue, question: Question) -> Question:
    return catalogue.question(PET_WORDS.sub(" ", question.text))


def _no_pet_record(ctx, deps) -> bool:
    """「犬のマスクは何枚？」: the pets' list has no such item, and people's amounts are no answer for a pet."""
    escalate(ctx, deps, EscalationReason.NO_CONTENT)
    ctx.notes["missing_pet_record"] = True
    return True


def _garbage_item(ctx, deps, index, catalogue: StructuredCatalogue, question: Question, last) -> bool:
    named = catalogue.municipality_in(question)
    mentions = catalogue.item_mentions(question, named if named in catalogue.categories else None)
    items = [entry for mention in mentions for entry in mention]
    if not items:
        return False
    about_garbage = _DISPOSAL_WORDS.search(question.text) or _is_noun_phrase(question) or (
        "glossed" in ctx.notes and named in catalogue.categories and not _STOCKPILE_WORDS.search(question.text))
    if not about_garbage:
        return False  # 「道路の穴で自転車が転びそう」 names an item but asks nothing about putting it out
    covered = _unique(e.municipality for e in items)
    if named is not None and named not in covered:
        return False  # a municipality whose data does not have the item (or none at all): retrieval decides
    previous = _municipality_of(last)
    if named is None and previous is not None and previous not in covered:
        return False  # the resident's municipality (from the last answer) does not list the item
    municipality = named or (previous if previous in covered else None)
    if municipality is None and len(mentions) > 1:  # the ward's reply completes the question (every item in it)
        return _ask(ctx, deps, "municipality", [], open_slot=True, known=covered)
    if municipality is None:
        choices = [_choice(index, _best(items, m, question), m) for m in covered]
        return _ask(ctx, deps, "municipality", choices)
    own = [[e for e in mention if e.municipality == municipality] for mention in mentions]
    own = [entries for entries in own if entries]
    picked = [_one_record(entries, question) for entries in own]
    # 「電池と蛍光灯」 where the ward lists only 電池, or 「電池と一緒に傘を」 (two things, not a list), is not
    # answered as if one of them were all that was asked. (A glossed question lists the names it found after the
    # question, parts of a name among them: there the longest name is the thing asked.)
    glossed = "glossed" in ctx.notes
    apart = [] if glossed else catalogue.item_spans(question, municipality, together_only=False)
    if all(picked) and len(own) == len(catalogue.item_spans(question)) and len(apart) <= len(own):
        docs = [index.document(entry.doc_id) for entry in picked]
        return _answer(ctx, deps, docs[0], Slots(municipality=municipality), also=docs[1:])
    # Which record of a name is meant (or a name this municipality does not list): ask, never answer only one.
    candidates = _unique([e for entries in own for e in entries] + [e for m in apart for e in m.entries])
    return _ask(ctx, deps, None, [_choice(index, e, e.name) for e in candidates])


def _one_record(entries: list[Entry], question: Question) -> Entry | None:
    """The record a name stands for: the only one, or the only one whose whole written name the question gives."""
    exact = [e for e in entries if _is_exact(e, question)]
    if len(entries) == 1 or len(exact) == 1:
        return (exact or entries)[0]
    return None


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

def _answer(ctx: TurnContext, deps: StepDeps, doc: SourceDocument | None, slots: Slots,
            also: list[SourceDocument | None] | None = None) -> bool:
    records = [doc, *(also or [])]
    if any(record is None for record in records):
        return False
    answer_with(ctx, deps, doc, 1.0, [source_of(record, 1.0) for record in records], slots, by_slots=True,
                also=records[1:])
    return True


def _ask(ctx: TurnContext, deps: StepDeps, slot: str | None, choices: list[dict[str, Any]], *,
         open_slot: bool = False, **context: Any) -> bool:
    """Offer the choices the data has; an open slot (62 municipalities, a household) is asked for in words."""
    choices = [c for c in choices if c is not None][:MAX_CHOICES]
    if open_slot:
        reply(ctx, deps, Outcome.CLARIFY, "ask_slot", slot=slot, **context)
        ctx.result.confidence = 1.0
        ctx.notes["missing_slot"] = slot
        return True
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


def _is_bare(question: Question, keys: list[str]) -> bool:
    """The question is little more than the name (and a municipality): 「電池」, 「世田谷　ぺっとぼとる」, 「自転車は？」."""
    rest = question.folded
    for key in sorted(keys, key=len, reverse=True):
        rest = rest.replace(key, "")
    return len(_FILLER.sub("", rest)) <= _BARE_MAX_CHARS


def _is_noun_phrase(question: Question) -> bool:
    """「八王子市でティッシュの空き箱」, 「自転車は？」: a thing named, nothing said about it (no verb, no adjective)."""
    return len(question.folded) <= _NOUN_PHRASE_MAX_CHARS and not any(
        t.pos in ("動詞", "形容詞") for t in question.tokens)


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
