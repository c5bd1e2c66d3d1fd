"""Official records as sentences: one template per source type (dialogue/templates/ja/records/<kind>.j2) fills in
the record's own fields, so nothing is said that the record does not say. A kind without a template (FAQ entries,
passages of documents) is its own text, shortened at sentence boundaries.

Source placeholders are resolved here, for residents and for operators' drafts alike: 「［ＵＲＬ］」 becomes the
record's link (or goes, with the sentence that points at it, when there is none), 「{お住まいの市区町村}」 the
municipality the resident named (or plain words), the FAQ corpus's line-break mark 「＜改＞」 a line break.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dialogue.compose import Composer, UnknownTemplate, shorten
from knowledge.documents import SourceDocument
from knowledge.structured import area_label

RECORD_KINDS = ("garbage_item", "garbage_days", "stockpile", "service", "hazard_map", "evacuation_sites")
MAX_SITES_LISTED = 5
# What a follow-up asks for, and the fields of a 行政サービス情報 record that answer it.
FIELD_LABELS = {"利用•申請方法": "申請の方法", "お問い合わせ先": "お問い合わせ先", "対象者": "対象となる方",
                "支援内容": "内容", "受付開始日": "受付開始日", "受付終了日": "受付終了日", "概要": "概要"}
AGE_GROUPS = ("adult", "aged", "child2", "child1", "infants")
AGE_LABELS = {"adult": "成人", "aged": "高齢者", "child2": "中学生以上の子ども", "child1": "3歳〜小学6年生",
              "infants": "0〜2歳"}

_URL_PLACEHOLDER = re.compile(r"［ＵＲＬ］|\[URL\]")
_POINTER_SENTENCE = re.compile(r"[^。\n]*(?:次の|下記の|以下の)(?:リンク|ＵＲＬ|URL|ページ)[^。\n]*。?\s*$")
_BRACED = re.compile(r"\{([^{}]{1,20})\}")
_LINE_MARK = re.compile(r"。?＜改＞。?")
_PAST_RANGE = re.compile(r"[（(]?(\d{4})/(\d{1,2})/(\d{1,2})\s*[〜~～-]\s*(\d{4})/(\d{1,2})/(\d{1,2})[^、。\n）)]*[）)]?")


_COUNTER = re.compile(r"[^\d\s/]{1,4}")


@dataclass
class Slots:
    """What the question added to the record: the category asked about, the household size, the fields wanted."""

    categories: list[str] = field(default_factory=list)  # collection categories asked about (none: every one)
    household: int | None = None
    fields: list[str] = field(default_factory=list)
    municipality: str | None = None  # the resident's municipality, to fill 「{お住まいの市区町村}」
    members: dict[str, int] = field(default_factory=dict)  # the household by 東京備蓄ナビ's age groups
    unknown: int = 0  # members whose age group the question does not say
    days: int | None = None  # the period asked for (「3日分」, 「一週間」)
    hazard: str | None = None  # the hazard a hazard-map or evacuation question names (洪水, 津波 …)
    site: str | None = None  # an evacuation site the question names
    area: str | None = None  # a place the question names (「三軒茶屋あたり」), matched in the sites' addresses
    shelter_list: str | None = None  # which evacuation list: emergency (避難場所) or evacuation (避難所)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Slots":
        data = dict(data or {})
        if data.get("category") and "categories" not in data:  # a choice stored before several could be asked
            data["categories"] = [data["category"]]
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def official_text(doc: SourceDocument, composer: Composer, slots: Slots | None = None,
                  today: date | None = None, limit: int | None = None) -> str:
    """The record as the resident reads it, from its own fields only (the output guard recomputes this)."""
    slots, today = slots or Slots(), today or date.today()
    text = _record_text(doc, composer, slots, today) if doc.kind in RECORD_KINDS and doc.meta else None
    if not text:
        text = doc.body
    text = resolve_placeholders(text, doc.url, slots.municipality)
    text = drop_past_ranges(text, today)
    return shorten(text, limit).text if limit else text


def _record_text(doc: SourceDocument, composer: Composer, slots: Slots, today: date) -> str | None:
    composer.env.filters.setdefault("area_label", area_label)  # before loading: jinja checks filters as it compiles
    try:
        template = composer.template_for(f"records/{doc.kind}", "ja")
    except UnknownTemplate:
        return None
    meta = doc.meta
    context: dict[str, Any] = {"meta": meta, "title": doc.title}
    if doc.kind == "garbage_days":
        days = meta.get("days_text") or {}
        context.update(days=days, categories=[c for c in slots.categories if days.get(c)],
                       closure=_current_closure(meta.get("closure"), today))
    elif doc.kind == "stockpile":
        context.update(_stockpile_context(meta, slots))
    elif doc.kind == "evacuation_sites":
        context.update(_evacuation_context(meta, slots))
    elif doc.kind == "hazard_map":
        links = meta.get("links") or {}
        asked = {k: v for k, v in links.items() if slots.hazard and slots.hazard in k}
        context.update(links=asked or links, hazard=slots.hazard if asked else None)
    elif doc.kind == "service":
        context.update(program=meta.get("program") or doc.title, wanted=_distinct_fields(meta, slots.fields),
                       field_labels=FIELD_LABELS)
    rendered = template.render(**context)
    lines = [line.strip() for line in rendered.splitlines()]
    return "\n".join(line for line in lines if line) or None


def _distinct_fields(meta: dict[str, Any], wanted: list[str]) -> list[str]:
    """Fields asked for, without one that only repeats another's text (申請方法 and 問い合わせ先 often do)."""
    fields, kept, seen = meta.get("fields") or {}, [], set()
    for name in wanted:
        if fields.get(name) and fields[name] not in seen:
            kept.append(name)
            seen.add(fields[name])
    return kept


def _current_closure(closure: dict[str, str] | None, today: date) -> dict[str, str] | None:
    """A collection pause is shown only until it ends (a pause of 2013/12/29〜2014/01/03 is long past)."""
    if not closure or not closure.get("end"):
        return None
    try:
        return closure if date.fromisoformat(closure["end"]) >= today else None
    except ValueError:
        return None


def _stockpile_context(meta: dict[str, Any], slots: Slots) -> dict[str, Any]:
    """The per-person figures, and the household's when the question gives it: exactly for the age groups it
    names; for people of unknown age only when every age group needs the same (else the adults' figure, said so)."""
    required, unit = meta.get("required"), meta.get("unit") or ""
    days = dict(meta.get("days") or {})
    context: dict[str, Any] = {"days": days, "household": slots.household, "per_person": None,
                               "household_amounts": None, "members_label": None, "assumption": None,
                               "asked_days": slots.days if slots.days not in (None, 1, days.get("low"),
                                                                              days.get("high")) else None}
    if not isinstance(required, dict):
        return context
    context["per_person"] = _per_person(required, unit)
    if not slots.household or not _COUNTER.fullmatch(unit):
        return context  # 「ガスコンロ1台につき1日4/3本」 is no unit to multiply
    figures = {group: _group_figure(required, group) for group in AGE_GROUPS}
    per_day, members = 0.0, dict(slots.members)
    unknown = max(slots.unknown, slots.household - sum(members.values()))
    for group, count in members.items():
        per_day += (figures.get(group) or 0) * count
    if unknown:
        needed = {f for f in figures.values() if f}
        if len(needed) == 1 and all(figures.values()):
            per_day += needed.pop() * unknown  # the same for everyone: no assumption needed
        elif figures.get("adult"):
            per_day += figures["adult"] * unknown
            context["assumption"] = "adult" if not members else "unknown_adult"
        else:
            return context
    if per_day <= 0:
        return context
    context["members_label"] = _members_label(members, unknown) if members else None
    context["household_amounts"] = {
        "day": _amount(per_day, unit), "low": _amount(per_day * (days.get("low") or 1), unit),
        "high": _amount(per_day * days["high"], unit) if days.get("high") else None,
        "asked": _amount(per_day * context["asked_days"], unit) if context["asked_days"] else None,
    }
    return context


def _evacuation_context(meta: dict[str, Any], slots: Slots) -> dict[str, Any]:
    """A named site in either list (and whether it is designated for the hazard asked), or the sites of one list:
    near the place asked, or designated for the hazard asked, or all of them (the first few, and how many)."""
    emergency, evacuation = meta.get("emergency"), meta.get("evacuation")
    context: dict[str, Any] = {"hazard": slots.hazard, "site": None, "listed": None, "list": None, "total": 0}
    if slots.site:
        context["site"] = {
            "name": slots.site,
            "emergency": next((s for s in emergency or [] if s["name"] == slots.site), None),
            "evacuation": next((s for s in evacuation or [] if s["name"] == slots.site), None),
        }
        return context
    wanted = "emergency" if slots.hazard else (slots.shelter_list or "evacuation")
    sites = meta.get(wanted) or []
    if slots.hazard:
        sites = [s for s in sites if slots.hazard in s["hazards"]]
    if slots.area:
        sites = [s for s in sites if slots.area in unicodedata.normalize("NFKC", s["address"])]
    context.update(list=wanted, total=len(sites), listed=sites[:MAX_SITES_LISTED], area=slots.area)
    return context


def _group_figure(required: dict[str, Any], group: str) -> float | None:
    values = [v for v in (required.get(f"{group}Male"), required.get(f"{group}Female")) if isinstance(v, (int, float))]
    return max(values) if values else None


def _members_label(members: dict[str, int], unknown: int) -> str:
    parts = [f"{AGE_LABELS[g]}{members[g]}人" for g in AGE_GROUPS if members.get(g)]
    if unknown:
        parts.append(f"年齢のわからない方{unknown}人")
    return "・".join(parts)


def stockpile_days(text: str) -> int | None:
    """The period a question asks for: 「3日分」, 「一週間」, "for 3 days", 「일주일」, 「一天」."""
    normal = unicodedata.normalize("NFKC", text)
    if re.search(r"一週間|1週間|いっしゅうかん|one week|a week|1 week|一周|一星期|일주일|1주일", normal, re.I):
        return 7
    match = re.search(r"(\d+|[一二三四五六七八九十])\s*(?:日分|日間|日|days?|天|일)", normal, re.I)
    if match:
        value = match.group(1)
        days = int(value) if value.isdigit() else "一二三四五六七八九十".index(value) + 1
        return days if 1 <= days <= 31 else None
    if re.search(r"一日|1日|per day|a day|每天|一天|하루", normal, re.I):
        return 1
    return None


def _per_person(required: dict[str, Any], unit: str) -> str | None:
    parts = []
    for group in AGE_GROUPS:
        male, female = required.get(f"{group}Male"), required.get(f"{group}Female")
        if not male and not female:
            continue
        if male == female or not female or not male:
            parts.append(f"{AGE_LABELS[group]} {_amount(male or female, unit)}")
        else:
            parts.append(f"{AGE_LABELS[group]} 男性{_amount(male, unit)}・女性{_amount(female, unit)}")
    return "、".join(parts) or None


def _amount(value: float, unit: str) -> str:
    shown = f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    if not unit:
        return shown
    return f"{shown}{unit}" if len(unit) <= 3 else f"{shown}（{unit}）"


def resolve_placeholders(text: str, url: str | None, municipality: str | None = None) -> str:
    """「［ＵＲＬ］」 → the record's link, or out with the sentence pointing at it; 「{お住まいの市区町村}」 → words."""
    text = _LINE_MARK.sub("。\n", text)
    if url:
        text = _URL_PLACEHOLDER.sub(url, text)
    else:
        lines = []
        for line in text.split("\n"):
            if _URL_PLACEHOLDER.search(line):
                before = _URL_PLACEHOLDER.split(line)[0]
                line = _POINTER_SENTENCE.sub("", before) + "".join(_URL_PLACEHOLDER.split(line)[1:]).lstrip("。")
            lines.append(line)
        text = "\n".join(lines)
    text = _BRACED.sub(lambda m: municipality if municipality and "市区町村" in m.group(1) else m.group(1), text)
    return re.sub(r"\n{2,}", "\n", re.sub(r"。{2,}", "。", text)).strip()


def drop_past_ranges(text: str, today: date) -> str:
    """Date ranges that have ended (「（2013/12/29〜2014/01/03は収集休止）」) are not current information."""
    def keep(match: re.Match[str]) -> str:
        y, m, d = (int(g) for g in match.groups()[3:6])
        try:
            return "" if date(y, m, d) < today else match.group(0)
        except ValueError:
            return match.group(0)

    return _PAST_RANGE.sub(keep, text)
