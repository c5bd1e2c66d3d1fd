"""`ingest_tenant`: every configured source into the tenant's own index, bad rows reported, cache reused."""
from pathlib import Path

import pytest

from config.settings import Settings
from config.tenancy import load_tenant_file
from knowledge import ingestion
from knowledge.index import TenantIndex
from tests.knowledge.helpers import CharGramEmbedder


@pytest.fixture
def fake_embedder(monkeypatch):
    embedder = CharGramEmbedder()
    monkeypatch.setattr(ingestion, "get_embedder", lambda *args, **kwargs: embedder)
    return embedder


def write_tenant(directory: Path, tenant_id: str, faq_path: Path) -> Path:
    path = directory / f"{tenant_id}.yaml"
    path.write_text(
        f"id: {tenant_id}\ndisplay_name: {tenant_id}市\nsources:\n"
        f"  - loader: faq_jsonl\n    path: \"{faq_path}\"\n    name: {tenant_id} FAQ\n    as_of: '2024'\n",
        encoding="utf-8",
    )
    return path


def write_faq(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def two_tenants(tmp_path):
    faq_a = write_faq(tmp_path / "a.jsonl", [
        '{"id": "1", "question": "住民票の写しを取りたい", "answer": "市民課で請求できます。"}',
        '{"id": "2", "question": "犬の登録", "answer": "保健所で登録します。"}',
    ])
    faq_b = write_faq(tmp_path / "b.jsonl", [
        '{"id": "1", "question": "粗大ごみの出し方", "answer": "申込制です。"}',
        'this line is not JSON',
        '{"id": "3", "question": "", "answer": "空の質問"}',
    ])
    tenants_dir = tmp_path / "tenants"
    tenants_dir.mkdir()
    a = load_tenant_file(write_tenant(tenants_dir, "city-a", faq_a))
    b = load_tenant_file(write_tenant(tenants_dir, "city-b", faq_b))
    settings = Settings(data_dir=tmp_path / "data", tenants_dir=tenants_dir, shared_dir=tmp_path)
    return settings, a, b


def test_each_tenant_gets_its_own_index(two_tenants, fake_embedder):
    settings, a, b = two_tenants
    ingestion.ingest_tenant(a, settings)
    ingestion.ingest_tenant(b, settings)
    index_a = TenantIndex.load(ingestion.tenant_index_dir(settings, "city-a"))
    index_b = TenantIndex.load(ingestion.tenant_index_dir(settings, "city-b"))
    assert {d.tenant for d in index_a.docs} == {"city-a"} and {d.tenant for d in index_b.docs} == {"city-b"}
    assert index_a.document("1").title == "住民票の写しを取りたい"
    assert index_b.document("1").title == "粗大ごみの出し方"
    assert index_b.document("2") is None


def test_bad_rows_are_reported_with_file_and_line_and_the_rest_is_kept(two_tenants, fake_embedder):
    settings, _, b = two_tenants
    report = ingestion.ingest_tenant(b, settings)
    assert [(Path(p.file).name, p.line) for p in report.problems] == [("b.jsonl", 2), ("b.jsonl", 3)]
    assert report.to_dict()["documents"] == 1


def test_a_missing_source_is_a_problem_not_a_crash(tmp_path, fake_embedder):
    tenants_dir = tmp_path / "tenants"
    tenants_dir.mkdir()
    tenant = load_tenant_file(write_tenant(tenants_dir, "city-c", tmp_path / "nowhere.jsonl"))
    report = ingestion.ingest_tenant(tenant, Settings(data_dir=tmp_path / "data", tenants_dir=tenants_dir))
    assert report.problems and "not found" in report.problems[0].reason


def test_reingesting_unchanged_content_embeds_nothing(two_tenants, fake_embedder):
    settings, a, _ = two_tenants
    first = ingestion.ingest_tenant(a, settings)
    second = ingestion.ingest_tenant(a, settings)
    assert first.build.embedded_new > 0 and second.build.embedded_new == 0
    assert first.build.index_version == second.build.index_version
