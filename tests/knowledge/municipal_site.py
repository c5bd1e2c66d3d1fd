"""A small municipal-style website served on loopback, for the website loader, sync and bench/content.py.

Every page has a navigation menu, breadcrumbs, a sidebar and a footer around its main content, like a city CMS.
The site answers conditional GETs (ETag / Last-Modified → 304), serves robots.txt (which excludes /private/) and a
sitemap, links a PDF fee guide, and records every request it gets. `site.change_page()` and `site.remove_page()`
change it between two crawls. Nothing here reaches beyond 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.knowledge.ingest.pdf_samples import fee_guide_pdf

NAV_LABELS = ("くらし・手続き", "子育て・教育", "健康・福祉", "職員向け情報")
FOOTER_TEXT = "○○市役所 〒100-0001 ○○県○○市本町1-1 代表電話 012-345-6789"
COPYRIGHT = "Copyright © Example City. All rights reserved."

ROBOTS = "User-agent: *\nDisallow: /private/\n"

PAGES: dict[str, tuple[str, str]] = {
    "/kurashi/juminhyo.html": ("住民票の写しの請求", """
<p class="date">更新日：2024年4月1日</p>
<h2>請求できる方</h2>
<p>本人または同一世帯の方が請求できます。代理人が請求する場合は、本人が書いた委任状が必要です。</p>
<h2>手数料</h2>
<table><tr><th>区分</th><th>手数料</th></tr>
<tr><td>住民票の写し</td><td>1通 300円</td></tr>
<tr><td>住民票記載事項証明書</td><td>1通 300円</td></tr></table>
<h2>請求できる場所</h2>
<p>市民課窓口（本庁舎1階）のほか、各支所でも請求できます。マイナンバーカードをお持ちの方はコンビニ交付も利用できます。</p>
<h3>郵送での請求</h3>
<p>請求書、本人確認書類の写し、定額小為替、切手を貼った返信用封筒を同封して、市民課郵送担当へ送付してください。</p>
<p><a href="/material/files/tesuryo.pdf">証明書の手数料一覧（PDF：120KB）</a></p>
<p><a href="/event/matsuri.html">市民まつりのお知らせ</a></p>
"""),
    "/kurashi/gomi.html": ("粗大ごみの出し方", """
<p class="date">更新日：令和6年5月10日</p>
<h2>申し込み方法</h2>
<p>粗大ごみは事前の申し込みが必要です。粗大ごみ受付センターに電話するか、インターネットで申し込んでください。</p>
<h2>処理手数料</h2>
<p>品目ごとに400円から2,000円です。コンビニエンスストアで粗大ごみ処理券を購入し、品目に貼って出してください。</p>
"""),
    "/kurashi/inkan.html": ("印鑑登録", """
<p class="date">更新日：2023年11月20日</p>
<h2>登録できる方</h2>
<p>市内に住民登録がある15歳以上の方が、1人1個の印鑑を登録できます。</p>
<h2>必要なもの</h2>
<p>登録する印鑑と、マイナンバーカードや運転免許証などの官公署発行の顔写真付き本人確認書類をお持ちください。</p>
"""),
    "/kosodate/jidouteate.html": ("児童手当", """
<h2>支給額</h2>
<table><tr><th>対象</th><th>月額</th></tr>
<tr><td>3歳未満</td><td>15,000円</td></tr>
<tr><td>3歳以上高校生年代まで</td><td>10,000円</td></tr>
<tr><td>第3子以降</td><td>30,000円</td></tr></table>
<h2>申請の方法</h2>
<p>出生や転入の翌日から15日以内に、子ども家庭課へ認定請求書を提出してください。オンラインでも申請できます。</p>
"""),
    "/private/staff.html": ("職員向け情報", "<p>職員専用のページです。検索に載せてはいけません。</p>"),
    "/event/matsuri.html": ("市民まつり", "<p>市民まつりは10月に開催します。会場は中央公園です。</p>"),
}
SECTION_INDEXES = {
    "/kurashi/": ("くらし・手続き", ["/kurashi/juminhyo.html", "/kurashi/gomi.html", "/kurashi/inkan.html"]),
    "/kosodate/": ("子育て・教育", ["/kosodate/jidouteate.html"]),
}
CHANGED_GOMI = """
<p class="date">更新日：令和6年10月1日</p>
<h2>申し込み方法</h2>
<p>粗大ごみは事前の申し込みが必要です。粗大ごみ受付センターに電話するか、LINEまたはインターネットで申し込んでください。</p>
<h2>処理手数料</h2>
<p>2024年10月から、品目ごとに500円から2,500円に改定しました。粗大ごみ処理券を購入し、品目に貼って出してください。</p>
"""


def page_html(path: str, title: str, main: str) -> str:
    section = "/" + path.strip("/").split("/")[0] + "/"
    section_title = SECTION_INDEXES.get(section, ("", []))[0]
    nav = "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in
                  zip(("/kurashi/", "/kosodate/", "/kenko/", "/private/staff.html"), NAV_LABELS, strict=True))
    crumbs = f'<a href="/">ホーム</a> &gt; <a href="{section}">{section_title}</a> &gt; {title}'
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{title} | ○○市</title></head>
<body>
<header><div class="site-name">○○市</div><nav class="global"><ul>{nav}</ul></nav>
<form class="search"><input name="q"><button>検索</button></form></header>
<div class="breadcrumbs">{crumbs}</div>
<div id="contents"><main><article>
<h1>{title}</h1>
{main}
</article></main>
<aside class="side"><h2>このページに関するお問い合わせ</h2><p>市民部 市民課 電話 012-345-6789</p>
<h2>よく見られているページ</h2><ul><li><a href="/kurashi/gomi.html">粗大ごみ</a></li></ul></aside></div>
<footer><p>{FOOTER_TEXT}</p><p>{COPYRIGHT}</p></footer>
</body></html>"""


def index_html(path: str) -> str:
    title, links = SECTION_INDEXES[path]
    items = "".join(f'<li><a href="{href}">{PAGES[href][0]}</a></li>' for href in links)
    return page_html(path, title, f"<ul class='list'>{items}</ul>")


@dataclass
class Resource:
    body: bytes
    content_type: str
    last_modified: float
    etag: bool = True  # some CMS pages send only Last-Modified

    @property
    def etag_value(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Request:
    path: str
    user_agent: str | None
    conditional: bool
    status: int


@dataclass
class MunicipalSite:
    resources: dict[str, Resource] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    gzip_paths: set[str] = field(default_factory=set)  # served with Content-Encoding: gzip (body stored compressed)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def paths_requested(self) -> list[str]:
        return [r.path for r in self.requests]

    def change_page(self, path: str = "/kurashi/gomi.html", main: str = CHANGED_GOMI) -> None:
        title = PAGES[path][0]
        self.resources[path] = Resource(page_html(path, title, main).encode(), "text/html; charset=utf-8",
                                        self.resources[path].last_modified + 86400 * 30)

    def remove_page(self, path: str = "/kurashi/inkan.html") -> None:
        """Gone from the server and from the section index that linked it."""
        self.resources.pop(path, None)
        section = "/" + path.strip("/").split("/")[0] + "/"
        title, links = SECTION_INDEXES[section]
        SECTION_INDEXES[section] = (title, [link for link in links if link != path])
        self.resources[section] = Resource(index_html(section).encode(), "text/html; charset=utf-8",
                                           self.resources[section].last_modified + 3600)
        SECTION_INDEXES[section] = (title, links)  # the module-level table stays as it was for the next site

    def add_pages(self, count: int) -> list[str]:
        """More pages of the same shape under /kurashi/more/ (for the benchmark), linked from /kurashi/."""
        added = []
        for k in range(count):
            path = f"/kurashi/more/p{k:04d}.html"
            main = (f"<p>更新日：2024年6月{1 + k % 28}日</p><h2>手続き{k}の概要</h2>"
                    f"<p>手続き{k}は市民課で受け付けます。"
                    f"必要な書類は申請書と本人確認書類です。受付時間は平日の午前8時30分から午後5時までです。</p>"
                    f"<h2>手続き{k}の手数料</h2><p>手数料は{100 + k}円です。郵送でも申請できます。</p>")
            self.resources[path] = Resource(page_html(path, f"手続き{k}", main).encode(), "text/html; charset=utf-8",
                                            1_700_000_000.0)
            added.append(path)
        title, links = SECTION_INDEXES["/kurashi/"]
        listing = "".join(f'<li><a href="{p}">{p}</a></li>' for p in links + added)
        self.resources["/kurashi/"] = Resource(page_html("/kurashi/", title, f"<ul>{listing}</ul>").encode(),
                                               "text/html; charset=utf-8", 1_700_000_000.0)
        return added

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _handler(site: MunicipalSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            resource = site.resources.get(self.path.split("?")[0])
            conditional = bool(self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"))
            status = 200 if resource else 404
            if resource and self._not_modified(resource):
                status = 304
            site.requests.append(Request(self.path, self.headers.get("User-Agent"), conditional, status))
            self.send_response(status)
            if resource:
                if resource.etag:
                    self.send_header("ETag", resource.etag_value)
                self.send_header("Last-Modified", formatdate(resource.last_modified, usegmt=True))
            body = resource.body if resource and status == 200 else (b"" if status == 304 else b"not found")
            self.send_header("Content-Type", resource.content_type if resource else "text/plain")
            if resource and self.path in site.gzip_paths:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _not_modified(self, resource: Resource) -> bool:
            etag = self.headers.get("If-None-Match")
            if etag and resource.etag:
                return etag == resource.etag_value
            since = self.headers.get("If-Modified-Since")
            return bool(since) and since == formatdate(resource.last_modified, usegmt=True)

    return Handler


def build_site() -> MunicipalSite:
    site = MunicipalSite()
    stamp = 1_711_929_600.0  # 2024-04-01
    for path, (title, main) in PAGES.items():
        site.resources[path] = Resource(page_html(path, title, main).encode(), "text/html; charset=utf-8", stamp)
    site.resources["/kurashi/gomi.html"].etag = False  # this one answers If-Modified-Since only
    for path in SECTION_INDEXES:
        site.resources[path] = Resource(index_html(path).encode(), "text/html; charset=utf-8", stamp)
    site.resources["/"] = Resource(page_html("/", "○○市 公式ホームページ", "<p>ようこそ</p>").encode(),
                                   "text/html; charset=utf-8", stamp)
    site.resources["/robots.txt"] = Resource(ROBOTS.encode(), "text/plain", stamp)
    site.resources["/material/files/tesuryo.pdf"] = Resource(fee_guide_pdf(), "application/pdf", stamp)
    return site


def serve_site(site: MunicipalSite | None = None) -> MunicipalSite:
    site = site or build_site()
    site.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    threading.Thread(target=site.server.serve_forever, daemon=True, name="municipal-site").start()
    return site


def sitemap_xml(site: MunicipalSite, paths: list[str]) -> bytes:
    entries = "".join(f"<url><loc>{site.url(p)}</loc></url>" for p in paths)
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}</urlset>").encode()


def website_options(site: MunicipalSite, **extra) -> dict:
    """The tenant YAML entry for this site (no pacing: the tests' server is local)."""
    return {"name": "○○市 公式サイト", "id_prefix": "city-site", "start_urls": [site.url("/kurashi/"),
            site.url("/kosodate/")], "allow_prefixes": ["/kurashi/", "/kosodate/", "/private/"],
            "user_agent": "madoguchi-test/1.0 (loopback)", "delay_seconds": 0, "licence": "○○市 ウェブサイト",
            "attribution": "○○市", **extra}
