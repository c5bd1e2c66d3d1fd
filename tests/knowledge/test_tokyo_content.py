"""The Tokyo tenant as configured, plus a PDF the test makes and a municipal site crawled on loopback: all three
kinds of official document in one index, answerable, and an unchanged re-sync re-embeds nothing."""
from __future__ import annotations

import pytest
import yaml

from config.settings import Settings
from config.tenancy import load_tenant_file
from knowledge.ingestion import ingest_tenant
from knowledge.knowledge_base import KnowledgeBase
from knowledge.sync import sync_tenant
from tests.conftest import TEST_CACHE_DIR
from tests.knowledge.ingest.conftest import TOKYO_YAML
from tests.knowledge.ingest.pdf_samples import fee_guide_pdf
from tests.knowledge.municipal_site import serve_site, website_options

pytestmark = [pytest.mark.shared, pytest.mark.slow]
PDF_SOURCE = "○○区 証明書の手数料のご案内 (PDF)"


@pytest.fixture(scope="module")
def tokyo_with_content(tmp_path_factory, shared_dir):
    tmp = tmp_path_factory.mktemp("tokyo-content")
    site = serve_site()
    (tmp / "pdfs").mkdir()
    (tmp / "pdfs" / "tesuryo.pdf").write_bytes(fee_guide_pdf())
    raw = yaml.safe_load(TOKYO_YAML.read_text(encoding="utf-8"))
    raw["sources"] += [
        {"loader": "pdf_document", "path": str(tmp / "pdfs"), "name": PDF_SOURCE, "id_prefix": "ku-pdf",
         "base_url": "https://www.city.example.lg.jp/material/files/", "licence": "区の公式文書"},
        {"loader": "website", **website_options(site)},
    ]
    tenants = tmp / "tenants"
    tenants.mkdir()
    (tenants / "tokyo.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    settings = Settings(shared_dir=shared_dir, data_dir=tmp / "data", tenants_dir=tenants)
    # The machine's embedding cache (content-hash keyed): only the new PDF and site passages are embedded here.
    cache = settings.index_dir / "embedding-cache"
    cache.parent.mkdir(parents=True)
    (TEST_CACHE_DIR / "index" / "embedding-cache").mkdir(parents=True, exist_ok=True)
    cache.symlink_to(TEST_CACHE_DIR / "index" / "embedding-cache")
    tenant = load_tenant_file(tenants / "tokyo.yaml")
    report = ingest_tenant(tenant, settings)
    yield tenant, settings, report, site
    site.close()


def test_tokyo_loads_the_seed_document_a_pdf_and_a_crawled_site(tokyo_with_content):
    _, _, report, _ = tokyo_with_content
    counts = report.documents_per_source
    assert counts["東京都 AI戦略 論点整理"] > 10
    assert counts[PDF_SOURCE] >= 3 and counts["○○市 公式サイト"] >= 8
    assert not [p for p in report.problems if "127.0.0.1" in p.file or "tesuryo" in p.file]


def test_pdf_and_site_passages_are_found_with_their_citations(tokyo_with_content):
    _, settings, _, site = tokyo_with_content
    kb = KnowledgeBase(settings)
    pdf_hits = kb.retrieve("tokyo", "戸籍全部事項証明書の手数料はいくらですか").hits[:5]
    assert any(h.doc.source == PDF_SOURCE and h.doc.url.endswith("tesuryo.pdf#page=1") for h in pdf_hits)
    site_hits = kb.retrieve("tokyo", "児童手当の第3子以降の月額").hits[:5]
    assert any(h.doc.url == site.url("/kosodate/jidouteate.html") and h.doc.as_of == "2024-04-01"
               for h in site_hits)


def test_re_syncing_the_unchanged_site_re_embeds_nothing(tokyo_with_content):
    tenant, settings, _, _ = tokyo_with_content
    report = sync_tenant(tenant, settings)
    assert not report.rebuilt and report.embedded_new == 0
    assert report.sources["○○市 公式サイト"]["changed"] == report.sources["○○市 公式サイト"]["new"] == 0
