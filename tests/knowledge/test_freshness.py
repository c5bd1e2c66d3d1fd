"""How long sources may be trusted: declared review dates, maximum ages per kind, stale and sensitive content."""
from datetime import date

import pytest
import yaml

from config.tenancy import load_tenant_file
from knowledge.documents import SourceDocument
from knowledge.freshness import freshness_of, parse_date, review_by, sensitive_policy, stale_sources


@pytest.fixture()
def tenant(tmp_path):
    raw = {"id": "t", "display_name": "テスト市", "sources": [
        {"loader": "faq_jsonl", "path": "a", "name": "FAQ", "as_of": "2022-06"},
        {"loader": "faq_jsonl", "path": "b", "name": "宣言", "as_of": "2014", "review_by": "2030-03"}],
        "freshness": {"max_age_months": {"service": 24, "default": 36}, "sensitive": "escalate"}}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_tenant_file(tmp_path / "t.yaml")


def doc(source="FAQ", kind="service", as_of="2022-06", body="ごみは月曜日です。", title="題"):
    return SourceDocument(doc_id="1", tenant="t", title=title, body=body, source=source, as_of=as_of, kind=kind)


def test_review_date_from_the_age_of_the_kind_or_declared_by_the_source(tenant):
    assert review_by(tenant, doc()) == date(2024, 6, 30)  # June 2022 + 24 months
    assert review_by(tenant, doc(kind="faq")) == date(2025, 6, 30)  # the default age
    assert review_by(tenant, doc(source="宣言", as_of="2014")) == date(2030, 3, 31)


def test_stale_and_sensitive(tenant):
    old = freshness_of(tenant, doc(body="月額15,000円を支給します。"), today=date(2026, 1, 1))
    assert old.stale and old.sensitive
    assert not freshness_of(tenant, doc(), today=date(2024, 1, 1)).stale
    assert freshness_of(tenant, doc(), "児童手当は何歳までもらえますか", today=date(2026, 1, 1)).sensitive
    assert not freshness_of(tenant, doc(), "ごみの日", today=date(2026, 1, 1)).sensitive


def test_stale_sources_are_listed_with_their_review_date(tenant):
    stale = stale_sources(tenant, {"FAQ": {"service"}}, today=date(2026, 1, 1))
    assert [(s["name"], s["review_by"]) for s in stale] == [("FAQ", "2024-06-30")]
    assert sensitive_policy(tenant) == "escalate"


@pytest.mark.parametrize("raw, end, parsed", [("2024", False, date(2024, 1, 1)), ("2024", True, date(2024, 12, 31)),
                                              ("2024-02", True, date(2024, 2, 29)), ("2024年7月", False, date(2024, 7, 1))])
def test_parse_date(raw, end, parsed):
    assert parse_date(raw, end_of_period=end) == parsed


def test_the_transparency_page_marks_stale_sources():
    from config.tenancy import get_tenant
    from governance.transparency import sources_for

    listed = {s["name"]: s["stale_since"] for s in sources_for(get_tenant("tokyo"), None)}
    assert listed["世田谷区 ごみ分別辞典・収集日 (5374.jp)"]  # data of 2014
    assert listed["東京備蓄ナビ"] is None or listed["東京備蓄ナビ"] >= "2027"
