"""東京備蓄ナビ (Tokyo Metropolitan Government) data folder.

stockpile_items.json: one document per item (people's and pets' lists) with its description and the per-person
daily quantity by age group written out. hazardmap_links_62_municipalities.json: one document per municipality
with its hazard-map links; the first link is the document's url. tips_titles.json holds article titles only (the
articles are not in the data), so it adds nothing citable and is not loaded.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from knowledge.documents import IngestProblem, SourceDocument
from knowledge.ingest.base import Item, citation_fields, register
from knowledge.ingest.readers import id_prefix, json_key_line, load_json

# Age groups as the site's own form names them (ToolStep01: 乳幼児 0~2歳, 子供 3歳~小6, …).
AGE_GROUPS = (
    ("infants", "乳幼児（0〜2歳）"),
    ("child1", "子ども（3歳〜小学6年生）"),
    ("child2", "子ども（中学生以上）"),
    ("adult", "成人（18歳以上）"),
    ("aged", "高齢者（65歳以上）"),
)
# Hazard types in the order residents most often ask about them in Tokyo.
HAZARD_MAPS = (
    ("kozui", "洪水"),
    ("hanran", "内水氾濫（浸水）"),
    ("dosya", "土砂災害"),
    ("takashio", "高潮"),
    ("tsunami", "津波"),
    ("kazan", "火山"),
)
STOCKPILE_FILE = "stockpile_items.json"
HAZARD_FILE = "hazardmap_links_62_municipalities.json"


@register("bichiku_navi")
def load_bichiku_navi(path: Path, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    context = {"path": path, "tenant": tenant, "prefix": id_prefix(path, options), "shared": citation_fields(options)}
    yield from _stockpile(**context)
    yield from _hazard_maps(**context)


def _stockpile(path: Path, tenant: str, prefix: str, shared: dict[str, Any]) -> Iterator[Item]:
    file = path / STOCKPILE_FILE
    data, text, problem = load_json(file)
    if problem or not isinstance(data, dict):
        yield problem or IngestProblem(str(file), 1, "expected a JSON object with stockpileList")
        return
    days = {"note": _days_note(data), "low": data.get("downStairsRate"), "high": data.get("upStairsRate")}
    for list_name, pet in (("stockpileList", False), ("petStockpileList", True)):
        for entry in data.get(list_name, []):
            yield _stockpile_item(entry, pet, days, file, text, tenant, prefix, shared)


def _stockpile_item(entry: Any, pet: bool, days: dict[str, Any], file: Path, text: str | None, tenant: str,
                    prefix: str, shared: dict[str, Any]) -> Item:
    line = json_key_line(text, "id", entry.get("id")) if isinstance(entry, dict) else None
    try:
        item_id, name, description = entry["id"], entry["item"]["ja"], entry["description"]["ja"]
    except (KeyError, TypeError) as exc:
        return IngestProblem(str(file), line, f"stockpile item without id/item.ja/description.ja ({exc!r}); skipped")
    lines = [description]
    category = " / ".join(c for c in (_ja(entry.get("group")), _ja(entry.get("category"))) if c)
    lines += [f"分類: {category}"] if category else []
    lines += _quantity_lines(entry, days["note"])
    title = f"ペットの備蓄品: {name}" if pet else f"備蓄品: {name}"
    return SourceDocument(
        doc_id=f"{prefix}:stockpile:{item_id}", tenant=tenant, title=title, body="\n".join(lines), kind="stockpile",
        citation=f"{file.parent.name}/{file.name} id={item_id}",
        meta={"item": name, "item_en": _en(entry.get("item")), "pet": pet, "required": entry.get("required"),
              "unit": _ja(entry.get("unit")), "description": description,
              # The 3- and 7-day rates are people's: the pets' list gives no period of its own in Japanese.
              "category": category or None, "days": {} if pet else {"low": days["low"], "high": days["high"]},
              "file": file.name, "line": line},
        **shared,
    )


def _quantity_lines(entry: dict[str, Any], days: str) -> list[str]:
    unit = _ja(entry.get("unit")) or ""
    required = entry.get("required")
    if not isinstance(required, dict):
        # No per-person figure: the unit itself is the guidance when it says more than a counter word (「最低3台」).
        return [f"備蓄量の目安: {unit}"] if len(unit) > 2 else []
    amounts = [_amount(label, required, key, unit) for key, label in AGE_GROUPS]
    amounts = [a for a in amounts if a]
    if not amounts:
        return []
    return [f"1人1日あたりの目安量: {'、'.join(amounts)}", days]


def _amount(label: str, required: dict[str, Any], key: str, unit: str) -> str | None:
    male, female = required.get(f"{key}Male"), required.get(f"{key}Female")
    if not male and not female:
        return None
    if male == female:
        return f"{label} {_number(male)}{_unit(unit)}"
    return f"{label} 男性{_number(male or 0)}{_unit(unit)}・女性{_number(female or 0)}{_unit(unit)}"


def _unit(unit: str) -> str:
    # Counter words attach directly (3 L, 10枚); descriptive units are put in brackets (1（単1～単4までのセット）).
    return f" {unit}" if unit.isascii() else (unit if len(unit) <= 3 else f"（{unit}）")


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _days_note(data: dict[str, Any]) -> str:
    low, high = data.get("downStairsRate"), data.get("upStairsRate")
    if not low or not high:
        return ""
    return f"必要な備蓄の目安は上記の{low}日分（高層階にお住まいの場合は{high}日分）。"


def _hazard_maps(path: Path, tenant: str, prefix: str, shared: dict[str, Any]) -> Iterator[Item]:
    file = path / HAZARD_FILE
    data, text, problem = load_json(file)
    if problem:
        yield problem
        return
    for city in data.get("cities", []) if isinstance(data, dict) else []:
        yield _hazard_map(city, file, text, tenant, prefix, shared)


def _hazard_map(city: Any, file: Path, text: str | None, tenant: str, prefix: str, shared: dict[str, Any]) -> Item:
    name = _ja(city.get("name")) if isinstance(city, dict) else None
    if not name:
        return IngestProblem(str(file), None, "municipality without name.ja; skipped")
    links = [(label, city[key]) for key, label in HAZARD_MAPS if city.get(key)]
    lines = [_ja(city.get("description")) or f"{name}が公開しているハザードマップです。"]
    lines += [f"{label}ハザードマップ: {url}" for label, url in links]
    if not links:
        lines.append(f"東京備蓄ナビには{name}のハザードマップへのリンクが掲載されていません。")
    citation = {**shared, "url": links[0][1] if links else shared.get("url")}
    return SourceDocument(
        doc_id=f"{prefix}:hazard-map:{name}", tenant=tenant, title=f"{name}のハザードマップ", body="\n".join(lines),
        kind="hazard_map", citation=f"{file.parent.name}/{file.name} {name}",
        meta={"municipality": name, "links": dict((label, url) for label, url in links), "file": file.name,
              "line": json_key_line(text, "ja", name)},
        **citation,
    )


def _ja(value: Any) -> str | None:
    return value.get("ja") if isinstance(value, dict) else None


def _en(value: Any) -> str | None:
    return value.get("en") if isinstance(value, dict) else None
