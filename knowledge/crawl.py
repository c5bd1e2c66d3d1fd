"""A polite crawler for one municipal website, incremental between runs.

It honours robots.txt (and its Crawl-delay), stays within the configured path prefixes, sends its own User-Agent,
waits between requests, and asks only for what changed: every page is fetched with If-None-Match /
If-Modified-Since from the previous run, so an unchanged page costs one 304 and no extraction. What each page
produced (its passages and links) is kept in a small SQLite store per source, so a 304 reuses it.

A page the site no longer links to is checked once more: gone (404/410, or now excluded) means removed from the
index; still served means kept. A page that fails (timeout, 5xx) keeps what it had: a bad night of the city's
server must not empty the knowledge base.

The crawler fetches and classifies; turning a page into passages is the caller's `extract` function (the website
loader: trafilatura for pages, the PDF loader for PDFs).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import time
import urllib.robotparser
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

log = logging.getLogger(__name__)

# Cities set their own (`user_agent:` naming the office and a contact), so a site's administrator knows who asks.
DEFAULT_USER_AGENT = "madoguchi-crawler/0.1 (municipal contact-center assistant)"
DEFAULT_DELAY_SECONDS = 1.0
DEFAULT_MAX_PAGES = 2000
DEFAULT_MAX_BYTES = 30 * 1024 * 1024  # a page or PDF larger than this is reported, not read
HTML_TYPES = ("text/html", "application/xhtml+xml")
PDF_TYPE = "application/pdf"
GONE = (404, 410)


class ResponseTooLarge(httpx.HTTPError):
    """A response over the configured size: a crawl must not fill the disk or memory with one file."""


@dataclass(frozen=True)
class SiteConfig:
    start_urls: tuple[str, ...]
    sitemap: str | None = None
    allow_prefixes: tuple[str, ...] = ()  # absolute URL prefixes; default: each start URL's folder
    user_agent: str = DEFAULT_USER_AGENT
    delay_seconds: float = DEFAULT_DELAY_SECONDS
    max_pages: int = DEFAULT_MAX_PAGES
    follow_pdfs: bool = True
    timeout_seconds: float = 20.0
    max_bytes: int = DEFAULT_MAX_BYTES
    exclude: tuple[str, ...] = ()  # regular expressions of URLs never fetched
    # Follow links between pages. Off by default when only a sitemap is given: it lists the pages (linked PDFs are
    # still followed, sitemaps seldom list them).
    follow_links: bool = True

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> SiteConfig:
        starts = options.get("start_url") or options.get("start_urls") or ()
        starts = (starts,) if isinstance(starts, str) else tuple(starts)
        sitemap = options.get("sitemap")
        if not starts and not sitemap:
            raise ValueError("a website source needs start_url (or start_urls) or sitemap")
        prefixes = options.get("allow_prefixes") or [_folder(u) for u in (starts or (sitemap,))]
        base = starts[0] if starts else sitemap
        return cls(
            start_urls=starts, sitemap=sitemap,
            allow_prefixes=tuple(urljoin(base, p) for p in prefixes),
            user_agent=options.get("user_agent") or DEFAULT_USER_AGENT,
            delay_seconds=float(options.get("delay_seconds", DEFAULT_DELAY_SECONDS)),
            max_pages=int(options.get("max_pages", DEFAULT_MAX_PAGES)),
            follow_pdfs=bool(options.get("follow_pdfs", True)),
            timeout_seconds=float(options.get("timeout_seconds", 20.0)),
            max_bytes=int(options.get("max_bytes", DEFAULT_MAX_BYTES)),
            exclude=tuple(options.get("exclude") or ()),
            follow_links=bool(options.get("follow_links", bool(starts))),
        )


def _folder(url: str) -> str:
    scheme, host, path, _, _ = urlsplit(url)
    return f"{scheme}://{host}{path[:path.rfind('/') + 1] or '/'}"


def normalise_url(url: str, base: str | None = None) -> str | None:
    absolute, _ = urldefrag(urljoin(base, url.strip()) if base else url.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return absolute


# --- what a page produced, kept between runs ---------------------------------------------------------------------
@dataclass
class StoredPage:
    url: str
    etag: str | None
    last_modified: str | None
    content_hash: str
    kind: str  # html | pdf
    documents: list[dict]
    links: list[str]
    as_of: str | None = None


class CrawlStore:
    """url → validators, content hash, passages (as dicts) and links of the last successful fetch."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.execute("CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, "
                         "content_hash TEXT NOT NULL, kind TEXT NOT NULL, documents TEXT NOT NULL, "
                         "links TEXT NOT NULL, as_of TEXT, fetched_at REAL NOT NULL)")

    def get(self, url: str) -> StoredPage | None:
        row = self._db.execute("SELECT url, etag, last_modified, content_hash, kind, documents, links, as_of "
                               "FROM pages WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        return StoredPage(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), json.loads(row[6]), row[7])

    def urls(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT url FROM pages ORDER BY url")]

    def put(self, page: StoredPage) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (page.url, page.etag, page.last_modified, page.content_hash, page.kind,
                 json.dumps(page.documents, ensure_ascii=False), json.dumps(page.links), page.as_of, time.time()))

    def delete(self, url: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM pages WHERE url = ?", (url,))

    def close(self) -> None:
        self._db.close()


# --- one run -----------------------------------------------------------------------------------------------------
@dataclass
class Extracted:
    """What `extract` made of a fetched body: passages (dicts), links to follow, the page's as-of date, problems."""

    documents: list[dict]
    links: list[str] = field(default_factory=list)
    as_of: str | None = None
    problems: list[str] = field(default_factory=list)


# extract(url, kind, body bytes, response headers) -> Extracted
Extract = Callable[[str, str, bytes, httpx.Headers], Extracted]


@dataclass
class PageOutcome:
    url: str
    status: str  # new | changed | unchanged | removed | failed
    reason: str | None = None
    documents: list[dict] = field(default_factory=list)
    previous_documents: list[dict] = field(default_factory=list)


@dataclass
class CrawlResult:
    outcomes: list[PageOutcome] = field(default_factory=list)
    requests: int = 0
    not_modified: int = 0
    excluded_by_robots: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def by_status(self, status: str) -> list[PageOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def changed_anything(self) -> bool:
        return any(o.status in ("new", "changed", "removed") for o in self.outcomes)

    def documents(self) -> list[dict]:
        """Every current page's passages: new, changed and unchanged pages, and failed pages' previous ones."""
        kept = []
        for outcome in self.outcomes:
            if outcome.status in ("new", "changed", "unchanged"):
                kept.extend(outcome.documents)
            elif outcome.status == "failed":
                kept.extend(outcome.previous_documents)
        return kept

    def summary(self) -> dict[str, Any]:
        return {
            "fetched": self.requests, "not_modified": self.not_modified,
            "new": len(self.by_status("new")), "changed": len(self.by_status("changed")),
            "unchanged": len(self.by_status("unchanged")), "removed": len(self.by_status("removed")),
            "failed": len(self.by_status("failed")),
            "failures": [{"url": o.url, "reason": o.reason} for o in self.by_status("failed")],
            "excluded_by_robots": len(set(self.excluded_by_robots)), "seconds": round(self.seconds, 2),
        }


def content_hash(documents: Iterable[dict]) -> str:
    digest = hashlib.sha256()
    for doc in documents:
        digest.update(json.dumps([doc.get("doc_id"), doc.get("title"), doc.get("body"), doc.get("as_of")],
                                 ensure_ascii=False).encode())
    return digest.hexdigest()


class SiteCrawler:
    def __init__(self, config: SiteConfig, store: CrawlStore, extract: Extract, *,
                 client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
                 progress: Callable[[PageOutcome, int], None] | None = None) -> None:
        self.config, self.store, self.extract = config, store, extract
        self.client = client or httpx.Client(headers={"User-Agent": config.user_agent}, follow_redirects=True,
                                             timeout=config.timeout_seconds)
        self._sleep, self._progress = sleep, progress
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self._delay = config.delay_seconds
        self._last_request: float | None = None
        self._exclude = [re.compile(p) for p in config.exclude]

    def crawl(self) -> CrawlResult:
        started = time.perf_counter()
        result = CrawlResult()
        seen: set[str] = set()
        queue = deque(self._seeds(result))
        while queue and len(seen) < self.config.max_pages:
            url = queue.popleft()
            if url in seen or not self._may_fetch(url, result):
                continue
            seen.add(url)
            outcome, links = self._visit(url, result)
            self._record(outcome, result)
            queue.extend(link for link in links if link not in seen and (self.config.follow_links or _is_pdf(link)))
        for url in self.store.urls():  # known pages the site no longer links to: gone, or still served?
            if url not in seen:
                self._record(self._recheck(url, result), result)
        result.seconds = time.perf_counter() - started
        return result

    def close(self) -> None:
        self.client.close()

    # --- rules ---------------------------------------------------------------------------------------------------
    def _seeds(self, result: CrawlResult) -> list[str]:
        seeds = [u for u in (normalise_url(s) for s in self.config.start_urls) if u]
        if self.config.sitemap:
            seeds += self._sitemap_urls(self.config.sitemap, result, depth=0)
        return list(dict.fromkeys(seeds))

    def _in_scope(self, url: str) -> bool:
        if any(p.search(url) for p in self._exclude):
            return False
        if _is_pdf(url):
            # A linked PDF (often under /material/files/ or /uploaded/) may sit outside the page prefixes: same host.
            return self.config.follow_pdfs and any(urlsplit(url).netloc == urlsplit(p).netloc
                                                   for p in self.config.allow_prefixes)
        return any(url.startswith(prefix) for prefix in self.config.allow_prefixes)

    def _may_fetch(self, url: str, result: CrawlResult) -> bool:
        if not self._in_scope(url):
            return False
        if not self._robots_for(url, result).can_fetch(self.config.user_agent, url):
            result.excluded_by_robots.append(url)
            return False
        return True

    def _robots_for(self, url: str, result: CrawlResult) -> urllib.robotparser.RobotFileParser:
        scheme, host, *_ = urlsplit(url)
        key = f"{scheme}://{host}"
        if key not in self._robots:
            parser = urllib.robotparser.RobotFileParser(f"{key}/robots.txt")
            try:
                response = self._get(f"{key}/robots.txt", {}, result)
                if response.status_code == 200:
                    parser.parse(response.text.splitlines())
                elif response.status_code in (401, 403):
                    parser.disallow_all = True  # as robotparser itself does: a forbidden robots.txt forbids all
                else:
                    parser.allow_all = True
            except httpx.HTTPError:
                parser.allow_all = True
            delay = parser.crawl_delay(self.config.user_agent)
            if delay:
                self._delay = max(self._delay, float(delay))
            self._robots[key] = parser
        return self._robots[key]

    # --- fetching ------------------------------------------------------------------------------------------------
    def _get(self, url: str, headers: dict[str, str], result: CrawlResult) -> httpx.Response:
        if self._last_request is not None:
            wait = self._delay - (time.monotonic() - self._last_request)
            if wait > 0:
                self._sleep(wait)
        try:
            return self._read_capped(url, headers)
        finally:
            self._last_request = time.monotonic()
            result.requests += 1

    def _read_capped(self, url: str, headers: dict[str, str]) -> httpx.Response:
        with self.client.stream("GET", url, headers=headers) as response:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.config.max_bytes:
                    raise ResponseTooLarge(f"larger than {self.config.max_bytes // (1024 * 1024)} MB; not read")
                chunks.append(chunk)
            # The body is decoded already: the headers that described its transfer no longer apply.
            kept = [(k, v) for k, v in response.headers.multi_items()
                    if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
            return httpx.Response(response.status_code, headers=kept, content=b"".join(chunks),
                                  request=response.request)

    def _conditional(self, stored: StoredPage | None) -> dict[str, str]:
        if stored is None:
            return {}
        headers = {}
        if stored.etag:
            headers["If-None-Match"] = stored.etag
        if stored.last_modified:
            headers["If-Modified-Since"] = stored.last_modified
        return headers

    def _visit(self, url: str, result: CrawlResult) -> tuple[PageOutcome, list[str]]:
        stored = self.store.get(url)
        try:
            response = self._get(url, self._conditional(stored), result)
        except httpx.HTTPError as exc:
            return self._failed(url, stored, f"{type(exc).__name__}: {exc}"), stored.links if stored else []
        if response.status_code == 304 and stored is not None:
            result.not_modified += 1
            return PageOutcome(url, "unchanged", documents=stored.documents), stored.links
        if response.status_code in GONE:
            if stored is not None:
                return PageOutcome(url, "removed", reason=f"HTTP {response.status_code}",
                                   previous_documents=stored.documents), []
            return self._failed(url, None, f"HTTP {response.status_code} (a broken link)"), []
        if response.status_code != 200:
            return self._failed(url, stored, f"HTTP {response.status_code}"), stored.links if stored else []
        return self._fetched(url, response, stored)

    def _fetched(self, url: str, response: httpx.Response, stored: StoredPage | None
                 ) -> tuple[PageOutcome, list[str]]:
        final = normalise_url(str(response.url)) or url
        if final != url and not self._in_scope(final):
            return self._failed(url, stored, f"redirected out of the allowed prefixes to {final}"), []
        kind = _kind(response)
        if kind is None:
            return self._failed(url, stored, f"not a page or PDF ({response.headers.get('content-type')})"), []
        extracted = self.extract(final, kind, response.content, response.headers)
        if extracted.problems and not extracted.documents:
            return self._failed(url, stored, "; ".join(extracted.problems)), extracted.links
        digest = content_hash(extracted.documents)
        status = "new" if stored is None else ("unchanged" if stored.content_hash == digest else "changed")
        self.store.put(StoredPage(url, response.headers.get("etag"), response.headers.get("last-modified"), digest,
                                  kind, extracted.documents, extracted.links, extracted.as_of))
        outcome = PageOutcome(url, status, documents=extracted.documents,
                              previous_documents=stored.documents if stored else [])
        return outcome, [link for link in extracted.links if link]

    def _recheck(self, url: str, result: CrawlResult) -> PageOutcome:
        stored = self.store.get(url)
        previous = stored.documents if stored else []
        if not self._in_scope(url) or not self._robots_for(url, result).can_fetch(self.config.user_agent, url):
            return PageOutcome(url, "removed", reason="no longer allowed to crawl", previous_documents=previous)
        outcome, _ = self._visit(url, result)
        return outcome

    @staticmethod
    def _failed(url: str, stored: StoredPage | None, reason: str) -> PageOutcome:
        return PageOutcome(url, "failed", reason=reason, previous_documents=stored.documents if stored else [])

    def _record(self, outcome: PageOutcome, result: CrawlResult) -> None:
        if outcome.status == "removed":
            self.store.delete(outcome.url)
        result.outcomes.append(outcome)
        if outcome.status == "failed":
            log.warning("crawl: %s failed: %s", outcome.url, outcome.reason)
        if self._progress:
            self._progress(outcome, len(result.outcomes))

    # --- sitemaps ------------------------------------------------------------------------------------------------
    def _sitemap_urls(self, url: str, result: CrawlResult, depth: int) -> list[str]:
        import xml.etree.ElementTree as ElementTree

        try:
            response = self._get(url, {}, result)
            response.raise_for_status()
            root = ElementTree.fromstring(response.content)
        except (httpx.HTTPError, ElementTree.ParseError) as exc:
            result.outcomes.append(PageOutcome(url, "failed", reason=f"sitemap unreadable: {exc}"))
            return []
        locations = [el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text]
        if root.tag.endswith("sitemapindex") and depth < 2:
            return [u for loc in locations for u in self._sitemap_urls(loc, result, depth + 1)]
        return [u for u in (normalise_url(loc) for loc in locations) if u]


def _is_pdf(url: str) -> bool:
    return url.lower().split("?")[0].endswith(".pdf")


def _kind(response: httpx.Response) -> str | None:
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == PDF_TYPE or response.content[:5] == b"%PDF-":
        return "pdf"
    if content_type in HTML_TYPES or (not content_type and b"<html" in response.content[:2000].lower()):
        return "html"
    return None
