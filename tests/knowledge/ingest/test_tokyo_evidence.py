"""Every evidence row of the templated Tokyo questions becomes a document that contains the gold answer."""
from __future__ import annotations

import json

import pytest

from config.tenancy import load_tenant_file
from knowledge.documents import SourceDocument
from knowledge.ingest.base import load_source
from tests.knowledge.ingest.conftest import TOKYO_YAML, split

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def tokyo_docs(shared_dir) -> list[SourceDocument]:
    items = [item for spec in load_tenant_file(TOKYO_YAML).sources for item in load_source(spec, "tokyo", shared_dir)]
    return split(items)[0]


@pytest.fixture(scope="module")
def questions(shared_dir) -> list[dict]:
    path = shared_dir / "data" / "tokyo-eval" / "dev-templated.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evidence_document(docs: list[SourceDocument], evidence: dict) -> SourceDocument | None:
    """The document an evidence row should have become, found by the row's natural key."""
    folder, file = evidence["file"].split("/")
    for doc in docs:
        if file == "target.csv" and doc.meta.get("file") == evidence["file"] and doc.meta.get("item") == evidence["row_name"]:
            return doc
        if file == "area_days.csv" and doc.meta.get("file") == evidence["file"] and doc.meta.get("area") == evidence["area"]:
            return doc
        if file.endswith("systemsdata.json") and doc.doc_id == evidence["service_id"]:
            return doc
        if file == "stockpile_items.json" and doc.doc_id == f"bichiku-navi:stockpile:{evidence['id']}":
            return doc
        if file.startswith("hazardmap") and doc.kind == "hazard_map" and doc.meta["municipality"] == evidence["municipality"]:
            return doc
    return None


def gold_parts(question: dict) -> list[str]:
    # Sorting answers are written 「category（注意: notice）」: the document must hold both parts.
    gold = question["gold_answer"]
    if question["category"] == "garbage_sorting" and "（注意: " in gold:
        category, notice = gold.split("（注意: ", 1)
        return [f"分別区分: {category}", f"注意: {notice.removesuffix('）')}"]
    if question["category"] == "garbage_sorting":
        return [f"分別区分: {gold}"]
    if question["category"] == "garbage_collection_day":
        return [f"{question['evidence']['column']}: {gold}"]
    return [gold]


def test_all_187_evidence_rows_hold_their_gold_answer(tokyo_docs, questions):
    assert len(questions) == 187
    missing, wrong = [], []
    for question in questions:
        doc = evidence_document(tokyo_docs, question["evidence"])
        if doc is None:
            missing.append(question["id"])
        elif not all(part in doc.body for part in gold_parts(question)):
            wrong.append((question["id"], gold_parts(question), doc.body[:200]))
    assert missing == [] and wrong == []


def test_documents_carry_the_citation_fields(tokyo_docs):
    assert len({d.doc_id for d in tokyo_docs}) == len(tokyo_docs)  # unique within the tenant
    for doc in tokyo_docs:
        assert doc.tenant == "tokyo" and doc.title and doc.body and doc.source
        assert doc.url or doc.citation
        assert doc.licence and doc.attribution and doc.as_of
        assert doc.kind in {"garbage_item", "garbage_days", "stockpile", "hazard_map", "service", "passage", "faq",
                            "evacuation_sites"}
        assert len(doc.title) <= 200


def test_source_urls_of_programmes_match_the_evidence(tokyo_docs, questions):
    by_id = {d.doc_id: d for d in tokyo_docs}
    for question in questions:
        if question["category"] == "support_program":
            assert by_id[question["evidence"]["service_id"]].url == question["source_url"]
