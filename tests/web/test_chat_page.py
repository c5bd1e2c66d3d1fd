"""The chat page as served: routes, accessibility hooks in the markup, security headers, 404s."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <script type=application/json> blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.json_blocks: dict[str, str] = {}
        self._json_id: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "script" and attributes.get("type") == "application/json":
            self._json_id = attributes.get("id")

    def handle_data(self, data):
        if self._json_id:
            self.json_blocks[self._json_id] = self.json_blocks.get(self._json_id, "") + data

    def handle_endtag(self, tag):
        if tag == "script":
            self._json_id = None

    def find(self, tag: str, **attributes: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.replace("_", "-")) == v
                                                              for k, v in attributes.items())]


def parsed(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


def test_the_root_redirects_to_the_default_tenant(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/t/amagasaki/"


def test_a_tenant_without_the_trailing_slash_redirects(client):
    response = client.get("/t/amagasaki", follow_redirects=False)
    assert response.headers["location"] == "/t/amagasaki/"


def test_the_chat_page_is_japanese_labelled_and_announces_new_messages(client):
    response = client.get("/t/amagasaki/")
    assert response.status_code == 200
    page = parsed(response.text)
    assert page.find("html")[0]["lang"] == "ja"
    assert page.find("meta", name="viewport")
    assert page.find("label", **{"for": "message-input"})
    box = page.find("textarea", id="message-input")[0]
    assert box["aria-describedby"] == "input-hint char-count" and page.find("span", id="char-count")
    assert "maxlength" not in box  # a longer text is told to the resident (live count), never cut silently
    log = page.find("div", id="log")[0]
    assert log["role"] == "log" and log["aria-live"] == "polite"
    assert page.find("p", id="status")[0]["role"] == "status"
    assert page.find("button", id="person-button") and "担当者と話す" in response.text
    assert page.find("a", href="/t/amagasaki/transparency")
    assert "尼崎市" in response.text and "90日間" in response.text


def test_the_page_passes_its_configuration_as_data_not_code(client):
    response = client.get("/t/amagasaki/")
    page = parsed(response.text)
    config = json.loads(page.json_blocks["chat-config"])
    assert config["api"] == "/api/v1/t/amagasaki" and config["token_header"] == "X-Resident-Token"
    assert config["ui"]["talk_to_person"] == "担当者と話す"
    # Every script is an external file or a JSON block, so the policy can forbid inline code.
    scripts = page.find("script")
    assert all(s.get("src") or s.get("type") == "application/json" for s in scripts)
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_an_unknown_tenant_gets_a_404_page(client):
    response = client.get("/t/atlantis/")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "atlantis" in response.text and "見つかりません" in response.text


def test_the_tenant_name_is_escaped_in_the_404_page(client):
    response = client.get("/t/%3Cscript%3Ealert(1)%3C%2Fscript%3E/")
    assert response.status_code == 404
    assert "<script>alert(1)" not in response.text


def test_static_files_are_served(client):
    css = client.get("/static/chat.css")
    js = client.get("/static/chat.js")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert js.status_code == 200 and re.search(r"javascript", js.headers["content-type"])
    # The page script reads only what the template provides.
    assert "chat-config" in js.text and "X-Resident-Token" not in js.text
