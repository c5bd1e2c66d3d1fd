"""Records as sentences from their own fields, placeholders resolved, past date ranges left out."""
from datetime import date

import pytest

from dialogue.compose import Composer, as_of_date, as_sentence
from dialogue.records import Slots, drop_past_ranges, official_text, resolve_placeholders
from knowledge.documents import SourceDocument


@pytest.fixture(scope="module")
def composer():
    return Composer()


def doc(kind, meta, body="本文", url=None):
    return SourceDocument(doc_id="d1", tenant="t", title="題名", body=body, source="s", url=url, kind=kind, meta=meta)


class TestGarbage:
    def test_an_item_is_one_sentence_with_its_notice(self, composer):
        item = doc("garbage_item", {"municipality": "八王子市", "item": "ストロー", "category": "可燃ごみ", "notice": None})
        assert official_text(item, composer) == "八王子市では、ストローは可燃ごみです。"
        meguro = doc("garbage_item", {"municipality": "目黒区", "item": "ペットボトル", "category": "資源",
                                      "notice": "中をすすいで、つぶしてから出してください。"})
        assert official_text(meguro, composer) == "目黒区では、ペットボトルは「資源」として出します。\n中をすすいで、つぶしてから出してください。"

    def test_collection_days_of_one_category_or_all(self, composer):
        area = doc("garbage_days", {"municipality": "世田谷区", "area": "三軒茶屋2",
                                    "days_text": {"可燃ごみ": "毎週火曜・金曜", "不燃ごみ": "第1・第3水曜"},
                                    "closure": {"start": "2013-12-29", "end": "2014-01-03"}})
        assert official_text(area, composer, Slots(categories=["不燃ごみ"])) == "世田谷区三軒茶屋2丁目の不燃ごみの収集日は、第1・第3水曜です。"
        whole = official_text(area, composer)
        assert "・可燃ごみ: 毎週火曜・金曜" in whole and "・不燃ごみ: 第1・第3水曜" in whole
        assert "2014" not in whole  # the pause of 2013/12/29〜2014/01/03 has passed
        assert "2030年1月3日まで" in official_text(
            doc("garbage_days", {**area.meta, "closure": {"start": "2029-12-29", "end": "2030-01-03"}}), composer,
            today=date(2029, 12, 1))


class TestStockpile:
    WATER = {"item": "水", "description": "1日1人3リットルが目安量です。", "unit": "L", "days": {"low": 3, "high": 7},
             "required": {"adultMale": 3, "adultFemale": 3, "infantsMale": 2.4, "infantsFemale": 2.4}}

    def test_amounts_are_multiplied_out_for_the_household(self, composer):
        text = official_text(doc("stockpile", self.WATER), composer, Slots(household=4))
        assert "4人分では、1日12L、3日分で36L（高層階にお住まいの場合は7日分で84L）が目安です" in text
        assert text.startswith("1日1人3リットルが目安量です。") and "成人 3L" in text and "0〜2歳 2.4L" in text

    def test_without_a_household_size_the_days_are_said(self, composer):
        text = official_text(doc("stockpile", self.WATER), composer)
        assert "人分" not in text and "3日分（高層階にお住まいの場合は7日分）を備えておくのが目安です。" in text


class TestService:
    FIELDS = {"概要": "医療費の自己負担に歯止めを設ける仕組みです。", "対象者": "健康保険等の被保険者等",
              "利用•申請方法": "ご加入の医療保険者に申請します。", "お問い合わせ先": "ご加入の医療保険者に申請します。"}

    def test_a_programme_reads_as_sentences(self, composer):
        text = official_text(doc("service", {"program": "高額療養費", "fields": self.FIELDS}), composer)
        assert text.startswith("高額療養費は、医療費の自己負担に歯止めを設ける仕組みです。")
        assert "対象となる方: 健康保険等の被保険者等。" in text and "概要:" not in text

    def test_a_follow_up_gets_the_fields_it_asks_for_once(self, composer):
        text = official_text(doc("service", {"program": "高額療養費", "fields": self.FIELDS}), composer,
                             Slots(fields=["利用•申請方法", "お問い合わせ先"]))
        assert text == "高額療養費の申請の方法: ご加入の医療保険者に申請します。"


class TestPlaceholders:
    def test_url_placeholder_becomes_the_link(self):
        text = "詳しくは次のリンクをご覧ください。［ＵＲＬ］。＜改＞。【お問い合わせ】"
        assert resolve_placeholders(text, "https://example.jp/a") == "詳しくは次のリンクをご覧ください。https://example.jp/a。\n【お問い合わせ】"

    def test_without_a_link_the_pointing_sentence_goes_too(self):
        text = "届出が必要です。詳しくは次のリンクをご覧ください。［ＵＲＬ］。＜改＞。【お問い合わせ】"
        assert resolve_placeholders(text, None) == "届出が必要です。\n【お問い合わせ】"

    def test_braced_placeholder_becomes_words_or_the_residents_municipality(self):
        text = "「{お住まいの市区町村} 児童扶養手当」と検索してみてください。"
        assert resolve_placeholders(text, None) == "「お住まいの市区町村 児童扶養手当」と検索してみてください。"
        assert resolve_placeholders(text, None, "渋谷区") == "「渋谷区 児童扶養手当」と検索してみてください。"

    def test_a_faq_body_is_served_without_placeholders(self, composer):
        faq = doc("faq", {}, body="総合健診を実施しています。詳しくは次のリンクをご覧ください。［ＵＲＬ］。＜改＞。")
        assert official_text(faq, composer) == "総合健診を実施しています。"


def test_past_date_ranges_are_dropped_and_current_ones_kept():
    text = "担当: 世田谷（2013/12/29〜2014/01/03は収集休止）"
    assert drop_past_ranges(text, date(2026, 1, 1)) == "担当: 世田谷"
    assert drop_past_ranges(text, date(2013, 12, 1)) == text


@pytest.mark.parametrize("raw, shown", [("2014", "2014年"), ("2024-07", "2024年7月"), ("2025-10-27", "2025年10月27日"),
                                        ("2019年", "2019年"), (None, None)])
def test_dates_as_people_write_them(raw, shown):
    assert as_of_date(raw) == shown


def test_a_sentence_gets_its_full_stop_but_never_after_a_link():
    assert as_sentence("健康保険等の被保険者等") == "健康保険等の被保険者等。"
    assert as_sentence("https://example.jp/a.pdf") == "https://example.jp/a.pdf"


def test_household_members_by_age_group():
    from knowledge.structured import household_of

    assert household_of("夫婦と２歳の子どもの３人家族").members == (("adult", 2), ("infants", 1))
    assert household_of("4人家族").unknown == 4 and household_of("4人家族").size == 4
    mixed = household_of("大人2人と子ども2人")
    assert (mixed.size, dict(mixed.members), mixed.unknown) == (4, {"adult": 2}, 2)
    assert household_of("I have a baby. for 3 days").members == (("infants", 1),)
    assert household_of("家族の分の水").size is None


def test_stockpile_days_asked():
    from dialogue.records import stockpile_days

    assert [stockpile_days(t) for t in ("3日分", "一週間", "일주일 치", "for 3 days", "一个人一天", "水")] == [3, 7, 7, 3, 1, None]
