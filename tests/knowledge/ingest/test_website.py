"""The website loader on a municipal-style site served on loopback: main content only, headings, citations and
as-of dates, robots.txt and path prefixes, a custom User-Agent, pacing, linked PDFs, and what a second crawl sees."""
from __future__ import annotations

import pytest

from config.tenancy import SourceSpec
from knowledge.crawl import CrawlStore, SiteConfig, SiteCrawler
from knowledge.ingest.base import load_source
from knowledge.ingest.website import PageExtractor, crawl_site
from tests.knowledge.ingest.conftest import split
from tests.knowledge.municipal_site import (
    COPYRIGHT,
    FOOTER_TEXT,
    NAV_LABELS,
    Resource,
    serve_site,
    sitemap_xml,
    website_options,
)


@pytest.fixture
def site():
    served = serve_site()
    yield served
    served.close()


@pytest.fixture
def crawled(site, tmp_path):
    result = crawl_site(tmp_path / "state", "t1", website_options(site))
    return site, result, result.documents()


def pages_of(docs, path):
    return [d for d in docs if d["url"].split("#")[0].endswith(path)]


def test_only_main_content_is_kept(crawled):
    _, _, docs = crawled
    assert docs
    for doc in docs:
        text = doc["title"] + doc["body"]
        assert FOOTER_TEXT not in text and COPYRIGHT not in text and "Copyright" not in text
        assert not any(label in doc["body"] for label in NAV_LABELS[1:])  # the menu
        assert "ホーム" not in doc["body"] and "よく見られているページ" not in text  # breadcrumbs, sidebar
    # Section index pages are only menus and lists of links: nothing of them is indexed.
    assert not pages_of(docs, "/kurashi/") and not pages_of(docs, "/kosodate/")


def test_headings_split_passages_and_tables_read_row_by_row(crawled):
    _, _, docs = crawled
    juminhyo = pages_of(docs, "/kurashi/juminhyo.html")
    assert all(d["title"].startswith("住民票の写しの請求") for d in juminhyo)
    assert any("郵送での請求" in d["title"] for d in juminhyo)
    body = "\n".join(d["body"] for d in juminhyo)
    assert "区分: 住民票の写し ／ 手数料: 1通 300円" in body
    teate = "\n".join(d["body"] for d in pages_of(docs, "/kosodate/jidouteate.html"))
    assert "対象: 3歳未満 ／ 月額: 15,000円" in teate and "対象: 第3子以降 ／ 月額: 30,000円" in teate


def test_citation_is_the_page_url_and_as_of_the_printed_date_else_last_modified(crawled):
    site, _, docs = crawled
    for doc in pages_of(docs, "/kurashi/juminhyo.html"):
        assert doc["url"] == doc["citation"] == site.url("/kurashi/juminhyo.html")
        assert doc["as_of"] == "2024-04-01"  # 「更新日：2024年4月1日」
    assert {d["as_of"] for d in pages_of(docs, "/kurashi/gomi.html")} == {"2024-05-10"}  # 「令和6年5月10日」
    # No date printed on the page: its Last-Modified (2024-04-01).
    assert {d["as_of"] for d in pages_of(docs, "/kosodate/jidouteate.html")} == {"2024-04-01"}
    assert all(d["source"] == "○○市 公式サイト" and d["attribution"] == "○○市" for d in docs)


def test_linked_pdfs_go_through_the_pdf_loader(crawled):
    site, _, docs = crawled
    pdf = pages_of(docs, "/material/files/tesuryo.pdf")
    assert pdf and {d["meta"]["page"] for d in pdf} == {1, 2, 3}
    assert all(d["url"] == f"{site.url('/material/files/tesuryo.pdf')}#page={d['meta']['page']}" for d in pdf)
    assert any("区分: 住民票の写し ／ 手数料: 1通 300円" in d["body"] for d in pdf)


def test_robots_prefixes_and_user_agent_are_honoured(crawled):
    site, result, _ = crawled
    requested = site.paths_requested()
    assert requested[0] == "/robots.txt"
    assert "/private/staff.html" not in requested  # linked from every page's menu, excluded by robots.txt
    assert site.url("/private/staff.html") in result.excluded_by_robots
    assert "/event/matsuri.html" not in requested  # linked, but outside the allowed prefixes
    assert {r.user_agent for r in site.requests} == {"madoguchi-test/1.0 (loopback)"}
    assert len(requested) == len(set(requested))  # each page fetched once


def test_requests_are_paced_and_crawl_delay_raises_the_pace(site, tmp_path):
    site.resources["/robots.txt"] = Resource(b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n", "text/plain", 0)
    waits: list[float] = []
    config = SiteConfig.from_options(website_options(site, delay_seconds=0.5))
    store = CrawlStore(tmp_path / "pages.sqlite")
    crawler = SiteCrawler(config, store, PageExtractor("t1", website_options(site)), sleep=waits.append)
    result = crawler.crawl()
    crawler.close()
    assert result.requests > 5 and len(waits) == result.requests - 1
    # robots.txt asks for 2 s between requests (the configured 0.5 s would wait less than that): each wait is 2 s
    # less the time since the previous request ended (the page's extraction ran in between).
    assert all(1.0 < wait <= 2.0 for wait in waits)


def test_a_sitemap_is_a_start(site, tmp_path):
    site.resources["/sitemap.xml"] = Resource(sitemap_xml(site, ["/kurashi/gomi.html", "/kosodate/jidouteate.html"]),
                                              "application/xml", 0)
    options = {**website_options(site), "start_urls": [], "sitemap": site.url("/sitemap.xml"),
               "allow_prefixes": ["/kurashi/", "/kosodate/"]}
    docs = crawl_site(tmp_path / "s", "t1", options).documents()
    assert {d["url"] for d in docs} == {site.url("/kurashi/gomi.html"), site.url("/kosodate/jidouteate.html")}


def test_a_second_crawl_asks_conditionally_and_sees_what_changed(site, tmp_path):
    state = tmp_path / "state"
    crawl_site(state, "t1", website_options(site))
    first_count = len(site.requests)
    site.change_page("/kurashi/gomi.html")
    site.remove_page("/kurashi/inkan.html")
    result = crawl_site(state, "t1", website_options(site))
    second = site.requests[first_count:]
    assert all(r.conditional for r in second if r.path != "/robots.txt")
    statuses = {o.url.removeprefix(site.base_url): o.status for o in result.outcomes}
    assert statuses["/kurashi/gomi.html"] == "changed"  # answered If-Modified-Since with the new page
    assert statuses["/kurashi/inkan.html"] == "removed"  # unlinked, then 404 when checked
    assert statuses["/kurashi/juminhyo.html"] == statuses["/material/files/tesuryo.pdf"] == "unchanged"
    assert result.not_modified >= 4
    assert "2,500円" in "".join(d["body"] for d in result.documents())
    assert not pages_of(result.documents(), "/kurashi/inkan.html")
    summary = result.summary()
    assert (summary["changed"], summary["removed"], summary["new"], summary["failed"]) == (1, 1, 0, 0)


def test_a_failing_page_keeps_what_it_had_and_is_reported(site, tmp_path):
    state = tmp_path / "state"
    crawl_site(state, "t1", website_options(site))
    site.resources["/kurashi/juminhyo.html"].content_type = "text/html"
    site.resources["/kosodate/jidouteate.html"] = Resource(b"oops", "application/octet-stream", 1)
    result = crawl_site(state, "t1", website_options(site))
    (failed,) = result.by_status("failed")
    assert failed.url.endswith("/kosodate/jidouteate.html") and "not a page or PDF" in failed.reason
    assert pages_of(result.documents(), "/kosodate/jidouteate.html")  # the previous passages stay
    assert result.summary()["failures"] == [{"url": failed.url, "reason": failed.reason}]


def test_the_registered_loader_crawls_into_its_state_directory(site, tmp_path):
    spec = SourceSpec("website", "", website_options(site))
    docs, problems = split(load_source(spec, "t1", tmp_path / "shared", data_dir=tmp_path / "data"))
    assert docs and not problems
    assert (tmp_path / "data" / "sites" / "t1" / "city-site" / "pages.sqlite").exists()
    assert all(d.tenant == "t1" and d.doc_id.startswith("city-site:/") for d in docs)


def test_a_response_over_the_size_limit_is_reported_not_read(site, tmp_path):
    options = website_options(site, max_bytes=6_000, start_urls=[site.url("/kurashi/juminhyo.html")])
    result = crawl_site(tmp_path / "state", "t1", options)
    (failed,) = result.by_status("failed")  # the linked PDF fee guide is 6.6 kB
    assert failed.url.endswith("/material/files/tesuryo.pdf") and "larger than" in failed.reason
    assert pages_of(result.documents(), "/kurashi/juminhyo.html")


def test_compressed_pages_are_read(site, tmp_path):
    import gzip

    page = site.resources["/kurashi/gomi.html"]
    site.resources["/kurashi/gomi.html"] = Resource(gzip.compress(page.body), page.content_type, page.last_modified)
    site.gzip_paths.add("/kurashi/gomi.html")
    options = website_options(site, start_urls=[site.url("/kurashi/gomi.html")])
    docs = crawl_site(tmp_path / "state", "t1", options).documents()
    assert any("粗大ごみ受付センター" in d["body"] for d in docs)
