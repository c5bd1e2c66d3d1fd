"""`sync_tenant`: websites re-crawled, only what changed re-embedded, removed pages retired; the schedule."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import yaml

from config.settings import Settings
from config.tenancy import load_tenant_file
from knowledge import sync
from knowledge.index import TenantIndex
from knowledge.ingestion import tenant_index_dir
from knowledge.sync import SyncSchedule, sync_tenant
from tests.knowledge.helpers import CharGramEmbedder
from tests.knowledge.municipal_site import serve_site, website_options


@pytest.fixture
def embedder(monkeypatch):
    fake = CharGramEmbedder()
    monkeypatch.setattr(sync, "get_embedder", lambda *args, **kwargs: fake)
    return fake


@pytest.fixture
def site():
    served = serve_site()
    yield served
    served.close()


def city_tenant(tmp_path, site, **extra):
    faq = tmp_path / "faq.jsonl"
    faq.write_text('{"id": "f1", "question": "犬の登録", "answer": "保健所で登録します。"}\n', encoding="utf-8")
    raw = {"id": "city", "display_name": "○○市", "sources": [
        {"loader": "faq_jsonl", "path": str(faq), "name": "市のFAQ", "as_of": "2024"},
        {"loader": "website", **website_options(site)}], **extra}
    path = tmp_path / "tenants" / "city.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_tenant_file(path), Settings(data_dir=tmp_path / "data", tenants_dir=path.parent, shared_dir=tmp_path)


def index_of(settings):
    return TenantIndex.load(tenant_index_dir(settings, "city"))


def test_first_sync_builds_the_index_from_every_source(tmp_path, site, embedder):
    tenant, settings = city_tenant(tmp_path, site)
    report = sync_tenant(tenant, settings)
    index = index_of(settings)
    assert report.rebuilt and report.documents == len(index) and report.embedded_new > 0
    assert index.document("f1") is not None  # the FAQ, read from its file
    assert {d.source for d in index.docs} == {"市のFAQ", "○○市 公式サイト"}
    assert report.sources["○○市 公式サイト"]["new"] >= 6


def test_an_unchanged_site_re_embeds_nothing_and_leaves_the_index_alone(tmp_path, site, embedder):
    tenant, settings = city_tenant(tmp_path, site)
    sync_tenant(tenant, settings)
    manifest = tenant_index_dir(settings, "city") / "manifest.json"
    stamp, calls = manifest.stat().st_mtime_ns, embedder.calls
    report = sync_tenant(tenant, settings)
    assert not report.rebuilt and report.embedded_new == 0 and embedder.calls == calls
    assert manifest.stat().st_mtime_ns == stamp
    summary = report.sources["○○市 公式サイト"]
    assert summary["unchanged"] >= 6 and summary["not_modified"] >= 5
    assert (summary["new"], summary["changed"], summary["removed"], summary["failed"]) == (0, 0, 0, 0)


def test_only_the_changed_page_is_re_embedded_and_a_removed_page_is_retired(tmp_path, site, embedder):
    tenant, settings = city_tenant(tmp_path, site)
    sync_tenant(tenant, settings)
    before = index_of(settings)
    removed_ids = [d.doc_id for d in before.docs if d.url and d.url.endswith("/kurashi/inkan.html")]
    site.change_page("/kurashi/gomi.html")
    site.remove_page("/kurashi/inkan.html")
    calls = embedder.calls
    report = sync_tenant(tenant, settings)
    after = index_of(settings)
    changed = [d for d in after.docs if d.url and d.url.endswith("/kurashi/gomi.html")]
    assert report.rebuilt and "2,500円" in "".join(d.body for d in changed)
    # Three embedded texts per passage at most (title, title + body head, title as a question), only the changed
    # page's: every other passage's vectors come from the cache.
    assert 0 < report.embedded_new == embedder.calls - calls <= 3 * len(changed)
    assert removed_ids and not any(after.document(i) for i in removed_ids)
    assert [(r.url, r.doc_ids) for r in report.removed] == [(site.url("/kurashi/inkan.html"), removed_ids)]
    assert after.document("f1") is not None and len(after) == len(before) - len(removed_ids)


def test_a_tenant_without_websites_has_nothing_to_sync(tmp_path, site, embedder):
    tenant, settings = city_tenant(tmp_path, site)
    tenant = type(tenant)(**{**tenant.__dict__, "sources": tenant.sources[:1]})
    assert sync.website_sources(tenant) == [] and SyncSchedule.for_tenant(tenant) is None


def test_schedules_from_the_tenant_yaml(tmp_path, site):
    every, _ = city_tenant(tmp_path, site, sync={"every_hours": 6})
    schedule = SyncSchedule.for_tenant(every)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    assert schedule.due(None, now) and schedule.due(now - timedelta(hours=6), now)
    assert not schedule.due(now - timedelta(hours=5), now)
    daily, _ = city_tenant(tmp_path, site, sync={"daily_at": "03:30"})
    schedule = SyncSchedule.for_tenant(daily)
    slot = datetime(2026, 12, 1, 3, 30, tzinfo=timezone(timedelta(hours=9)))  # 03:30 in Tokyo
    assert schedule.due(slot - timedelta(minutes=1), slot + timedelta(minutes=1))
    assert not schedule.due(slot + timedelta(minutes=1), slot + timedelta(hours=23))
    bad, _ = city_tenant(tmp_path, site, sync={"weekly": True})
    with pytest.raises(ValueError):
        SyncSchedule.for_tenant(bad)


def test_last_sync_time_is_kept(tmp_path, site, embedder):
    tenant, settings = city_tenant(tmp_path, site)
    assert sync.last_synced(settings, "city") is None
    sync_tenant(tenant, settings)
    assert datetime.now(timezone.utc) - sync.last_synced(settings, "city") < timedelta(minutes=1)
