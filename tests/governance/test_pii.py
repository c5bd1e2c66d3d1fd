"""Redaction of Japanese personal data: generated examples of every kind (hypothesis), false-positive rates over
ordinary municipal text, and the tricky cases one by one."""
from __future__ import annotations

import io
import logging
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.logging import RedactingFilter
from governance.pii import PLACEHOLDERS, Match, Redactor, contains_pii, find_pii, my_number_is_valid, redact
from tests.governance.pii_corpus import NEGATIVE_GENERATORS, POSITIVE_GENERATORS, free_dial_text

MAIN = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
randoms = st.randoms(use_true_random=False)

# One real logger with a real handler: what the filter lets through is what a log file would hold.
_LOG_STREAM = io.StringIO()
_LOG_HANDLER = logging.StreamHandler(_LOG_STREAM)
_LOG_HANDLER.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
_LOG_HANDLER.addFilter(RedactingFilter())
_LOGGER = logging.getLogger("tests.governance.pii.capture")
_LOGGER.addHandler(_LOG_HANDLER)
_LOGGER.setLevel(logging.INFO)
_LOGGER.propagate = False


def _logged(message: str, *args: object, exception: Exception | None = None) -> str:
    _LOG_STREAM.seek(0)
    _LOG_STREAM.truncate()
    if exception is None:
        _LOGGER.info(message, *args)
    else:
        try:
            raise exception
        except type(exception):
            _LOGGER.exception(message, *args)
    return _LOG_STREAM.getvalue()


# --- every kind: 0 raw occurrences after redaction and in the log ---------------------------------------------

@pytest.mark.parametrize("kind", list(POSITIVE_GENERATORS))
@MAIN
@given(rnd=randoms)
def test_generated_personal_data_is_redacted_exactly(kind: str, rnd: random.Random) -> None:
    sample = POSITIVE_GENERATORS[kind](rnd)
    redacted = redact(sample.text)
    assert redacted == sample.expected
    assert not any(secret in redacted for secret in sample.secrets)


@pytest.mark.parametrize("kind", list(POSITIVE_GENERATORS))
@MAIN
@given(rnd=randoms)
def test_generated_personal_data_never_reaches_a_log_line(kind: str, rnd: random.Random) -> None:
    sample = POSITIVE_GENERATORS[kind](rnd)
    line = _logged("question=%s", sample.text)
    assert line == f"INFO question={sample.expected}\n"
    failure = _logged("turn failed for %r", sample.text, exception=ValueError(sample.text))
    assert "Traceback" in failure
    assert not any(secret in failure for secret in sample.secrets)


@settings(max_examples=300, deadline=None)
@given(rnd=randoms)
def test_several_kinds_in_one_message_are_all_redacted(rnd: random.Random) -> None:
    samples = [POSITIVE_GENERATORS[rnd.choice(list(POSITIVE_GENERATORS))](rnd) for _ in range(rnd.randint(2, 4))]
    text = "。".join(s.text for s in samples)
    assert redact(text) == "。".join(s.expected for s in samples)


@settings(max_examples=200, deadline=None)
@given(rnd=randoms)
def test_find_pii_spans_point_into_the_original_text(rnd: random.Random) -> None:
    sample = POSITIVE_GENERATORS[rnd.choice(list(POSITIVE_GENERATORS))](rnd)
    matches = find_pii(sample.text)
    assert matches and all(0 <= m.start < m.end <= len(sample.text) for m in matches)
    rebuilt, cursor = [], 0
    for m in matches:
        rebuilt += [sample.text[cursor:m.start], PLACEHOLDERS[m.kind]]
        cursor = m.end
    assert "".join(rebuilt) + sample.text[cursor:] == sample.expected


# --- false positives on ordinary text ------------------------------------------------------------------------------

def _false_positive_rate(kind: str) -> tuple[float, list[str]]:
    outcomes: list[tuple[str, bool]] = []

    @MAIN
    @given(rnd=randoms)
    def record(rnd: random.Random) -> None:
        text = NEGATIVE_GENERATORS[kind](rnd)
        outcomes.append((text, redact(text) != text))

    record()
    flagged = [text for text, changed in outcomes if changed]
    assert len(outcomes) >= 1000
    return len(flagged) / len(outcomes), flagged


@pytest.mark.parametrize("kind", list(NEGATIVE_GENERATORS))
def test_false_positive_rate_on_ordinary_text_is_at_most_two_percent(kind: str) -> None:
    rate, flagged = _false_positive_rate(kind)
    assert rate <= 0.02, flagged[:10]


# --- tricky cases --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # full-width input is redacted in place, the surrounding full-width text untouched
        ("ＴＥＬ：０９０－１２３４－５６７８です", "ＴＥＬ：〔電話番号〕です"),
        ("０９０ー１２３４ー５６７８に折り返し", "〔電話番号〕に折り返し"),
        ("㈱山田商店 03-1234-5678", "㈱山田商店 〔電話番号〕"),  # ㈱ expands under NFKC: offsets must still map
        ("（０３）１２３４－５６７８", "〔電話番号〕"),
        ("+81 (0)3-1234-5678", "〔電話番号〕"),
        ("＋８１９０１２３４５６７８", "〔電話番号〕"),
        ("0466-12-3456と01456-2-3456", "〔電話番号〕と〔電話番号〕"),
        ("050 1234 5678", "〔電話番号〕"),
        # My Number: check digit decides; a cue makes a mistyped one still a My Number
        ("123456789018", "〔個人番号〕"),
        ("１２３４　５６７８　９０１８", "〔個人番号〕"),
        ("受付番号123456789012", "受付番号123456789012"),
        ("マイナンバーは123456789012です", "マイナンバーは〔個人番号〕です"),
        ("123456789018円", "123456789018円"),  # an amount, not a number card
        # cards: Luhn decides
        ("4111-1111-1111-1111", "〔カード番号〕"),
        ("4111-1111-1111-1112", "4111-1111-1111-1112"),
        ("3782 822463 10005", "〔カード番号〕"),
        # e-mail
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐへ", "〔メール〕へ"),
        ("taro.yamada+city@example.co.jp.", "〔メール〕."),
        # postal codes need 〒, 郵便番号 or an address right after
        ("〒1600023", "〔郵便番号〕"),
        ("郵便番号 160-0023", "郵便番号 〔郵便番号〕"),
        ("160-0023 東京都新宿区", "〔郵便番号〕 東京都新宿区"),
        ("受付番号160-0023", "受付番号160-0023"),
        # addresses: the area stays, the specific part goes
        ("東京都新宿区西新宿2-8-1", "東京都新宿区〔住所〕"),
        ("世田谷区太子堂一丁目2番3号○○マンション101号室", "世田谷区〔住所〕"),
        ("尼崎市七松町3丁目8番地の2 メゾン七松 205号室です", "尼崎市七松町〔住所〕です"),
        ("中央区本町1-2-3", "中央区本町〔住所〕"),  # a town ending in 町 counts as area (documented)
        ("札幌市中央区北1条西2丁目1番地", "札幌市中央区〔住所〕"),
        ("住所は西新宿2-8-1です", "住所は〔住所〕です"),
        ("塚口63番地 605号室", "〔住所〕"),
        ("問2-3の答え、第2024-123号、区分2-3", "問2-3の答え、第2024-123号、区分2-3"),
        ("新宿区では4-5月に実施", "新宿区では4-5月に実施"),
        ("住所変更は2024-04-01から", "住所変更は2024-04-01から"),
        # dates of birth only in context
        ("生年月日は昭和60年4月1日です", "生年月日は〔生年月日〕です"),
        ("1985年4月1日生まれ", "〔生年月日〕生まれ"),
        ("平成元年1月8日に生まれました", "〔生年月日〕に生まれました"),
        ("DOB: 1985/04/01", "DOB: 〔生年月日〕"),
        ("生年月日：S60.4.1", "生年月日：〔生年月日〕"),
        ("1985年生まれです", "1985年生まれです"),  # a year alone is kept
        ("2024年4月1日生活保護の申請", "2024年4月1日生活保護の申請"),
        ("令和6年4月1日から受付", "令和6年4月1日から受付"),
        # names: explicit cues only
        ("名前は山田太郎です", "名前は〔氏名〕です"),
        ("氏名：山田　太郎", "氏名：〔氏名〕"),
        ("市役所の鈴木と申します", "市役所の〔氏名〕と申します"),
        ("お名前は山田様ですね", "お名前は〔氏名〕様ですね"),
        ("名前は何ですか。名前は変更できますか。氏名欄に記入してください。名義変更です。",
         "名前は何ですか。名前は変更できますか。氏名欄に記入してください。名義変更です。"),
        # ordinary numbers
        ("1,234,567円、￥12,000、9:00〜17:00、2024/4/1、第12条", "1,234,567円、￥12,000、9:00〜17:00、2024/4/1、第12条"),
        ("フリーダイヤル0120-123-456、ナビダイヤル0570-000-123", "フリーダイヤル0120-123-456、ナビダイヤル0570-000-123"),
        ("", ""),
    ],
)
def test_tricky_case(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert contains_pii(text) == (text != expected)


def test_my_number_check_digit_follows_the_official_algorithm() -> None:
    assert my_number_is_valid("123456789018")
    assert not any(my_number_is_valid("12345678901" + str(d)) for d in range(10) if d != 8)
    assert my_number_is_valid("000000000000")  # remainder 0 gives check digit 0
    assert not my_number_is_valid("12345678901")


def test_find_pii_reports_kind_and_original_offsets() -> None:
    text = "私の電話は０９０－１２３４－５６７８、メールはa@example.jpです"
    matches = find_pii(text)
    assert [m.kind for m in matches] == ["phone", "email"]
    assert isinstance(matches[0], Match)
    assert text[matches[0].start:matches[0].end] == "０９０－１２３４－５６７８"
    assert text[matches[1].start:matches[1].end] == "a@example.jp"


def test_a_tenant_keeps_its_own_public_number_and_address_in_logs() -> None:
    city = Redactor(keep=["06-6375-5151", "info@city.amagasaki.lg.jp"])
    text = "市の代表は０６－６３７５－５１５１、info@city.amagasaki.lg.jp。私は06-1234-5678です"
    assert city.redact(text) == "市の代表は０６－６３７５－５１５１、info@city.amagasaki.lg.jp。私は〔電話番号〕です"


@settings(max_examples=200, deadline=None)
@given(rnd=randoms)
def test_free_dial_is_kept_by_default_and_redacted_on_request(rnd: random.Random) -> None:
    text = free_dial_text(rnd)
    assert redact(text) == text
    strict = Redactor(redact_free_dial=True).redact(text)
    assert PLACEHOLDERS["phone"] in strict and not any(ch.isdigit() for ch in strict.replace("9時", ""))
