"""行政サービス情報 records of a civichat data folder (`<dataset>__systemsdata.json`).

Each `*__systemsdata.json` holds {"systemsData": [record, …]}: support programmes in the 行政サービス情報 schema
(タイトル（制度名）, 概要, 支援内容, 対象者, 利用•申請方法, お問い合わせ先, 詳細参照先, …) or, for nurseries, facility
records (幼稚園•保育園のタイトル, 住所, 休園日, …). One document per record; doc_id is the record's own サービスID,
url its 詳細参照先. The sibling questions/answers/systems.json files are civichat's eligibility quiz (which
answers lead to which programme), not citable text, so they are not loaded.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from knowledge.documents import IngestProblem, SourceDocument
from knowledge.ingest.base import Item, citation_fields, register
from knowledge.ingest.readers import json_key_line, load_json

ID_FIELD = "サービスID"
URL_FIELD = "詳細参照先"
# Fields shown first, in the order a resident reads a programme; every other non-empty field follows as written.
LEADING_FIELDS = ("概要", "支援内容", "対象者", "利用•申請方法", "受付開始日", "受付終了日", "お問い合わせ先", "制度所管組織")
# Bookkeeping fields that say nothing to a resident (ids, change codes, tags kept in meta instead).
HIDDEN_FIELDS = {ID_FIELD, URL_FIELD, "制度番号", "元制度番号", "制度変更区分", "公開日", "都道府県", "市町村", "エリア"}
TAG_PREFIXES = ("タグ", "テーマ")


@register("civichat_services")
def load_civichat_services(path: Path, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    files = sorted(path.glob("*__systemsdata.json")) if path.is_dir() else [path]
    if not files:
        yield IngestProblem(str(path), None, "no *__systemsdata.json file in the folder")
    for file in files:
        yield from _load_file(file, tenant, options)


def _load_file(file: Path, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    data, text, problem = load_json(file)
    records = data.get("systemsData") if isinstance(data, dict) else None
    if problem or not isinstance(records, list):
        yield problem or IngestProblem(str(file), 1, "expected a JSON object with a systemsData list")
        return
    dataset = file.name.split("__")[0]
    for index, record in enumerate(records):
        yield _record(record, index, dataset, file, text, tenant, options)


def _record(record: Any, index: int, dataset: str, file: Path, text: str | None, tenant: str,
            options: dict[str, Any]) -> Item:
    if not isinstance(record, dict):
        return IngestProblem(str(file), None, f"record {index} is not an object; skipped")
    service_id, title_field = record.get(ID_FIELD), _title_field(record)
    line = json_key_line(text, ID_FIELD, service_id) if service_id else None
    if not service_id or not title_field:
        return IngestProblem(str(file), line, f"record {index} has no {ID_FIELD} or title; skipped")
    name = str(record[title_field]).strip()
    municipality = _municipality(record, dataset, options)
    shared = citation_fields(options)
    return SourceDocument(
        doc_id=str(service_id), tenant=tenant, title=f"{municipality}: {name}" if municipality else name,
        body=_body(record, title_field), kind="service",
        citation=f"{file.parent.name}/{file.name} {ID_FIELD}={service_id}",
        meta={"dataset": dataset, "program": name, "municipality": municipality, "tags": _tags(record),
              "fields": {f: _text(record[f]) for f in LEADING_FIELDS if _text(record.get(f))},
              "file": file.name, "line": line},
        **{**shared, "url": record.get(URL_FIELD) or None},
    )


def _title_field(record: dict[str, Any]) -> str | None:
    return next((k for k, v in record.items() if "タイトル" in k and isinstance(v, str) and v.strip()), None)


def _municipality(record: dict[str, Any], dataset: str, options: dict[str, Any]) -> str | None:
    # The tenant YAML may name each dataset's municipality (the national programmes have no 市町村 field).
    configured = (options.get("municipalities") or {}).get(dataset)
    return configured or record.get("市町村") or record.get("都道府県") or None


def _body(record: dict[str, Any], title_field: str) -> str:
    shown = [f for f in LEADING_FIELDS if f in record]
    shown += [f for f in record if f not in shown and f != title_field and f not in HIDDEN_FIELDS
              and not f.startswith(TAG_PREFIXES)]
    return "\n".join(f"{field}: {_text(record[field])}" for field in shown if _text(record[field]))


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip()


def _tags(record: dict[str, Any]) -> list[str]:
    return [str(v) for k, v in record.items() if k.startswith(TAG_PREFIXES) and v]
