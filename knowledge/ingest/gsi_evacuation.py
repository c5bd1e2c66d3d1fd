"""国土地理院 指定緊急避難場所・指定避難所データ (one GeoJSON FeatureCollection per municipality, by its 6-digit code).

One document per municipality holding both its lists: 指定緊急避難場所 (emergency/: where to flee at once, with one
flag per hazard) and 指定避難所 (evacuation/: where to stay after a disaster). The sites are the document's fields
(name, address, the hazards a site is designated for), read by their slots (municipality, site, hazard, area) and
never embedded one by one: 5,400 sites would cost minutes of embedding on a cold build, 62 short titles cost
seconds. A list the municipality did not publish is None (a question about it is handed over, not answered from
the other list). The licence asks for the 出典 to be stated; `credit:` in the tenant YAML is shown
with every answer from these documents.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from knowledge.documents import IngestProblem, SourceDocument
from knowledge.ingest.base import Item, citation_fields, register
from knowledge.ingest.readers import id_prefix, load_json

LISTS = {"emergency": "指定緊急避難場所", "evacuation": "指定避難所"}
CODES_FILE = "municipality-codes.json"
# The hazard flags of the emergency list, as the data names them, and the short word an answer uses.
HAZARD_FLAGS = {"洪水": "洪水", "崖崩れ、土石流及び地滑り": "土砂災害", "高潮": "高潮", "地震": "地震", "津波": "津波",
                "大規模な火事": "大規模な火事", "内水氾濫": "内水氾濫", "火山現象": "火山"}


@register("gsi_evacuation")
def load_gsi_evacuation(path: Path, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    names, problem = _municipality_names(path)
    if problem:
        yield problem
        return
    prefix, shared = id_prefix(path, options), citation_fields(options)
    for code, municipality in sorted(names.items()):
        if not any((path / folder / f"{code}.json").exists() for folder in LISTS):
            continue  # 130001 is 東京都 itself: no list of its own
        yield from _document(path, code, municipality, tenant, prefix, shared, options.get("credit"))


def _municipality_names(path: Path) -> tuple[dict[str, str], IngestProblem | None]:
    data, _, problem = load_json(path / CODES_FILE)
    if problem or not isinstance(data, dict):
        return {}, problem or IngestProblem(str(path / CODES_FILE), 1, "expected a JSON object with cities")
    return {c["code"]: c["cityName"] for c in (data.get("cities") or {}).values() if c.get("code")}, None


def _document(path: Path, code: str, municipality: str, tenant: str, prefix: str, shared: dict[str, Any],
              credit: str | None) -> Iterator[Item]:
    meta: dict[str, Any] = {"municipality": municipality, "code": code, "credit": credit, "files": [], "line": 1}
    for folder in LISTS:
        file = path / folder / f"{code}.json"
        data, _, problem = load_json(file)
        if problem or not isinstance(data, dict):
            yield problem or IngestProblem(str(file), 1, "expected a GeoJSON object")
            meta[folder] = None
            continue
        meta["files"].append(f"{path.name}/{folder}/{file.name}")
        if data.get("type") == "unavailable":
            meta[folder] = None  # the municipality published no such list
            continue
        meta[folder] = [s for s in (_site(f.get("properties") or {}) for f in data.get("features") or []) if s["name"]]
    if meta["emergency"] is None and meta["evacuation"] is None and not meta["files"]:
        return
    yield SourceDocument(
        doc_id=f"{prefix}:{code}", tenant=tenant, title=f"{municipality}の避難場所・避難所", body=_body(meta),
        kind="evacuation_sites", citation=" ".join(meta["files"]), meta=meta, **shared,
    )


def _site(props: dict[str, Any]) -> dict[str, Any]:
    hazards = [word for flag, word in HAZARD_FLAGS.items() if str(props.get(flag) or "").strip() == "1"]
    return {"name": str(props.get("施設・場所名") or "").strip(), "address": str(props.get("住所") or "").strip(),
            "hazards": hazards}


def _body(meta: dict[str, Any]) -> str:
    """Searchable text: each list's name and its sites' names and addresses (for the lexical index)."""
    lines = []
    for folder, label in LISTS.items():
        sites = meta.get(folder)
        if sites is None:
            lines.append(f"{meta['municipality']}の{label}のデータは公開されていません。")
            continue
        lines.append(f"{meta['municipality']}の{label}（{len(sites)}か所）")
        lines += [f"{s['name']} {s['address']}" for s in sites]
    return "\n".join(lines)
