"""A municipality's website (`loader: website`): crawled politely and incrementally (knowledge.crawl), each page's
main content extracted by trafilatura (menus, breadcrumbs, sidebars and footers left out), split by its headings.

```yaml
- loader: website
  name: ○○市 公式サイト
  start_url: https://www.city.example.lg.jp/kurashi/    # or start_urls: [...], and/or sitemap: …/sitemap.xml
  allow_prefixes: [/kurashi/, /kosodate/]             # default: the start URL's folder
  user_agent: "madoguchi (○○市 市民課; contact@city.example.lg.jp)"
  delay_seconds: 1.0                                   # at least robots.txt's Crawl-delay
```
Each passage cites its page's URL; its as-of date is the date the page prints (「更新日」), else its Last-Modified,
else the source's `as_of`. Linked PDFs on the same host go through the PDF loader (cited `…pdf#page=N`).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from knowledge.crawl import CrawlResult, CrawlStore, Extracted, PageOutcome, SiteConfig, SiteCrawler, normalise_url
from knowledge.documents import IngestProblem, SourceDocument
from knowledge.ingest.base import Item, citation_fields, register
from knowledge.ingest.dates import http_date, printed_date
from knowledge.ingest.pdf_document import pdf_items
from knowledge.ingest.tables import markdown_table_lines
from knowledge.ingest.text_document import MAX_CHARS, MIN_CHARS, HeadingSplitter, Line, size_passages

log = logging.getLogger(__name__)
logging.getLogger("trafilatura").setLevel(logging.ERROR)

# trafilatura's defaults are tuned for European text: 250 characters of Japanese is already a full answer. With
# favor_precision a page that is only a list of links (a section index) yields nothing rather than its menus.
MIN_EXTRACTED_CHARS = 40
_TITLE_SUFFIX = re.compile(r"\s*[|｜\-–—:：]\s*[^|｜\-–—:：]+$")
_BOLD = re.compile(r"\*\*|__")


@register("website", remote=True)
def load_website(state_dir: Path, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    """Crawl (conditional GETs: unchanged pages cost a 304) and yield every current page's passages."""
    result = crawl_site(state_dir, tenant, options)
    for data in result.documents():
        yield SourceDocument.from_dict(data)
    for outcome in result.by_status("failed"):
        yield IngestProblem(outcome.url, None, outcome.reason or "failed")


def crawl_site(state_dir: Path, tenant: str, options: dict[str, Any], *,
               progress: Callable[[PageOutcome, int], None] | None = None,
               client: httpx.Client | None = None) -> CrawlResult:
    config = SiteConfig.from_options(options)
    store = CrawlStore(Path(state_dir) / "pages.sqlite")
    crawler = SiteCrawler(config, store, PageExtractor(tenant, options), client=client, progress=progress)
    try:
        return crawler.crawl()
    finally:
        if client is None:
            crawler.close()
        store.close()


class PageExtractor:
    """Fetched bytes → passages (as dicts, kept by the crawl store) and the links to follow."""

    def __init__(self, tenant: str, options: dict[str, Any]) -> None:
        self.tenant, self.options = tenant, options
        self.shared = citation_fields(options)
        self.prefix = options.get("id_prefix")
        self._config = _trafilatura_config()

    def __call__(self, url: str, kind: str, body: bytes, headers: httpx.Headers) -> Extracted:
        if kind == "pdf":
            return self._pdf(url, body, headers)
        return self._page(url, body, headers)

    def _doc_id_base(self, url: str) -> str:
        parts = urlsplit(url)
        path = unquote(parts.path) + (f"?{parts.query}" if parts.query else "")
        return f"{self.prefix or parts.netloc}:{path}"

    def _pdf(self, url: str, body: bytes, headers: httpx.Headers) -> Extracted:
        options = {**self.options, "as_of": None, "id_prefix": None, "title": None}
        docs, problems = [], []
        for item in pdf_items(body, self._doc_id_base(url), self.tenant, options, url=url,
                              fallback_as_of=http_date(headers.get("last-modified")) or self.shared["as_of"]):
            if isinstance(item, IngestProblem):
                problems.append(item.reason)
            else:
                item.citation = f"{url} p.{item.meta['page']}"
                docs.append(item.to_dict())
        return Extracted(docs, [], docs[0]["as_of"] if docs else None, problems)

    def _page(self, url: str, body: bytes, headers: httpx.Headers) -> Extracted:
        import trafilatura

        tree = _parse_html(body)
        links = _links(tree, url)
        markdown = trafilatura.extract(body, url=url, output_format="markdown", include_tables=True,
                                       include_links=False, include_images=False, include_comments=False,
                                       include_formatting=True, favor_precision=True, config=self._config) or ""
        visible = tree.text_content() if tree is not None else ""
        as_of = printed_date(visible) or http_date(headers.get("last-modified")) or self.shared["as_of"]
        page_title = _page_title(tree)
        return Extracted(self._passages(url, markdown, page_title, as_of), links, as_of)

    def _passages(self, url: str, markdown: str, page_title: str | None, as_of: str | None) -> list[dict]:
        lines = markdown_lines(markdown)
        splitter = HeadingSplitter(self.options, plain_text=False)
        first_heading = next((line.text[2:].strip() for line in lines if line.text.startswith("# ")), None)
        doc_title, sections = splitter.split(lines, first_heading or page_title)
        doc_title = doc_title or page_title or url
        min_chars = int(self.options.get("min_chars", MIN_CHARS))
        max_chars = int(self.options.get("max_chars", MAX_CHARS))
        docs, seen = [], set()
        base = self._doc_id_base(url)
        for passage in size_passages(sections, min_chars, max_chars):
            if not passage.text.strip():
                continue
            heading = " > ".join(passage.path)
            doc_id = _unique(f"{base}:{heading or '本文'}", seen)
            docs.append(SourceDocument(
                doc_id=doc_id, tenant=self.tenant, title=_title(doc_title, passage.path), body=passage.text,
                kind="passage", **{**self.shared, "url": url, "as_of": as_of}, citation=url,
                meta={"page_url": url, "heading_path": list(passage.path), "document_title": doc_title,
                      "format": "html"},
            ).to_dict())
        return docs


def _trafilatura_config() -> Any:
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(MIN_EXTRACTED_CHARS))
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # its timer uses signals, which only work in the main thread
    return config


def markdown_lines(markdown: str) -> list[Line]:
    """trafilatura's Markdown as numbered lines: tables written row by row with their column names, bold marks
    dropped, headings kept (the splitter cuts passages at them)."""
    out: list[Line] = []
    table: list[str] = []
    raw = markdown.splitlines()
    for number, text in enumerate(raw + [""], start=1):
        if text.strip().startswith("|"):
            table.append(text)
            continue
        if table:
            out.extend(Line(number, row) for row in markdown_table_lines(table))
            out.append(Line(number, ""))
            table = []
        out.append(Line(number, _BOLD.sub("", text).rstrip()))
    return out


def _parse_html(body: bytes) -> Any:
    import lxml.html

    try:
        return lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return None


def _links(tree: Any, url: str) -> list[str]:
    if tree is None:
        return []
    base = next(iter(tree.xpath("//base/@href")), url)
    found = (normalise_url(href, normalise_url(base, url) or url) for href in tree.xpath("//a/@href"))
    return list(dict.fromkeys(link for link in found if link))


def _page_title(tree: Any) -> str | None:
    if tree is None:
        return None
    title = " ".join("".join(tree.xpath("//title//text()")).split())
    return _TITLE_SUFFIX.sub("", title).strip() or None  # "住民票の写し | ○○市" → "住民票の写し"


def _title(doc_title: str, path: tuple[str, ...]) -> str:
    if path and path[0] == doc_title:
        return " > ".join(path)
    return " > ".join((doc_title,) + path)


def _unique(doc_id: str, seen: set[str]) -> str:
    candidate, counter = doc_id, 2
    while candidate in seen:
        candidate, counter = f"{doc_id}#{counter}", counter + 1
    seen.add(candidate)
    return candidate
