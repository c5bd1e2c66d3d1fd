"""A page removed from the city's website: its passages leave the index and the curated answers that cited it
are flagged for review (audited), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from governance import review
from governance.review import StaffCorrections
from knowledge import sync
from madoguchi.content_sync import run_due_syncs, run_sync
from storage import list_audit
from tests.knowledge.helpers import CharGramEmbedder
from tests.knowledge.municipal_site import serve_site
from tests.knowledge.test_sync import city_tenant


@pytest.fixture
def site():
    served = serve_site()
    yield served
    served.close()


@pytest.fixture(autouse=True)
def embedder(monkeypatch):
    fake = CharGramEmbedder()
    monkeypatch.setattr(sync, "get_embedder", lambda *args, **kwargs: fake)
    return fake


def test_curated_answers_citing_a_removed_page_are_flagged(db, tmp_path, site, embedder):
    tenant, settings = city_tenant(tmp_path, site)
    corrections = StaffCorrections(db, embedder, settings)
    report, flagged = run_sync(tenant, settings, corrections)
    assert flagged == [] and report.rebuilt
    inkan_url = site.url("/kurashi/inkan.html")
    (inkan_doc,) = [doc_id for doc_id in report.changed_doc_ids if "/kurashi/inkan.html" in doc_id]
    by_doc = review.write_curated_answer(corrections, tenant, reviewer="suzuki", question="印鑑登録に必要なものは？",
                                         doc_id=inkan_doc)
    by_url = review.write_curated_answer(corrections, tenant, reviewer="suzuki", question="印鑑登録できる年齢は",
                                         answer="15歳以上の方が登録できます。", source_url=inkan_url)
    unrelated = review.write_curated_answer(corrections, tenant, reviewer="suzuki", question="粗大ごみの申し込み",
                                            answer="受付センターへ。", source_url=site.url("/kurashi/gomi.html"))
    site.remove_page("/kurashi/inkan.html")
    report, flagged = run_sync(tenant, settings, corrections)
    assert sorted(flagged) == sorted([by_doc, by_url])
    rows = {row.id: row for row in review.corrections_overview(db, tenant.id)["curated"]}
    assert inkan_url in rows[by_doc].review_reason and rows[by_url].review_flagged_at is not None
    assert rows[unrelated].review_reason is None
    with db.read() as conn:
        audited = [row for row in list_audit(conn, tenants=[tenant.id])
                   if row.action == "review.flag_curated_for_review"]
    assert sorted(row.target for row in audited) == sorted([by_doc, by_url])


def test_the_service_runs_due_syncs_from_the_tenant_schedule(db, tmp_path, site, embedder):
    from types import SimpleNamespace

    tenant, settings = city_tenant(tmp_path, site, sync={"every_hours": 24})
    services = SimpleNamespace(tenants={tenant.id: tenant}, settings=settings, db=db,
                               corrections=StaffCorrections(db, embedder, settings))
    (report,) = run_due_syncs(services)
    assert report.rebuilt
    assert run_due_syncs(services) == []  # synced a moment ago: the next run is a day away


def test_the_review_page_shows_which_curated_answers_need_a_look(services):
    from tests.governance.web_support import app_client, sign_in

    tokyo = services.tenants["tokyo"]
    url = "https://www.city.example.lg.jp/kurashi/inkan.html"
    review.write_curated_answer(services.corrections, tokyo, reviewer="suzuki", question="印鑑登録できる年齢",
                                answer="15歳以上です。", source_url=url)
    review.write_curated_answer(services.corrections, tokyo, reviewer="suzuki", question="粗大ごみ", answer="申込制です。")
    assert len(review.flag_curated_for_removed_pages(services.corrections, tokyo, [(url, [])])) == 1
    client = app_client(services)
    sign_in(client, services, "boss", "supervisor", ["tokyo"])
    page = client.get("/t/tokyo/review").text
    assert page.count("要確認") == 1 and f"出典のページが削除されました: {url}" in page
