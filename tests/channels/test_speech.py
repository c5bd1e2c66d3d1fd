"""for_the_ear: an answer written for the eye, rewritten for a caller's ear."""
from __future__ import annotations

from channels.speech import for_the_ear, read_digit_groups

ANSWER = ("## 粗大ごみの出し方\n粗大ごみは**事前申込制**です。受付センター（03-1234-5678）に電話するか、"
          "[インターネット](https://www.city.example.lg.jp/sodai)で申し込んでください[1]。\n"
          "- 受付時間：9:00〜17:00（土日祝を除く）\n- 手数料：1,200円\n出典: 世田谷区 ごみ分別辞典 (2014)")


def test_urls_are_removed_and_kept_for_sms():
    spoken = for_the_ear("詳しくは https://example.jp/a?b=1 をご覧ください。窓口（https://x.jp/y）へ。")
    assert "http" not in spoken.text and "example" not in spoken.text
    assert "詳しくは ホームページ をご覧ください。" in spoken.text
    assert set(spoken.links) == {"https://example.jp/a?b=1", "https://x.jp/y"}


def test_markdown_brackets_and_citations_are_not_read():
    spoken = for_the_ear(ANSWER)
    for unspeakable in ("#", "*", "[", "]", "(", ")", "（", "出典", "ごみ分別辞典", "- "):
        assert unspeakable not in spoken.text, unspeakable
    assert spoken.links == ("https://www.city.example.lg.jp/sodai",)
    assert "インターネットで申し込んでください。" in spoken.text


def test_phone_numbers_are_read_digit_by_digit():
    assert "ゼロサンの、イチニーサンヨンの、ゴーロクナナハチ" in for_the_ear(ANSWER).text
    assert read_digit_groups("09012345678") == "ゼロキュウゼロの、イチニーサンヨンの、ゴーロクナナハチ"
    assert read_digit_groups("+81 3-5320-7725") == "ゼロサンの、ゴーサンニーゼロの、ナナナナニーゴー"
    assert "ゼロイチニーゼロ" in for_the_ear("フリーダイヤル０１２０－１２３－４５６").text  # full-width too


def test_times_dates_amounts_and_ranges_read_naturally():
    text = for_the_ear("受付は9:00〜17:00、土曜は9:30～12:00。期間は2024/4/1〜2024/4/30、手数料は1,200円。月〜金").text
    assert "9時から17時" in text
    assert "9時30分から12時" in text
    assert "2024年4月1日から2024年4月30日" in text
    assert "1200円" in text
    assert "月から金" in text


def test_postcodes_and_addresses():
    text = for_the_ear("〒160-0023 東京都新宿区西新宿2-8-1").text
    assert "郵便番号、イチロクゼロの、ゼロゼロニーサン" in text
    assert "西新宿2の8の1" in text


def test_lists_and_tables_become_short_spoken_sentences():
    spoken = for_the_ear("| 品目 | 区分 |\n|---|---|\n| ペットボトル | 資源 |\n✅ 毎週水曜日です→確認してください※1")
    assert spoken.pieces == ("品目、区分。", "ペットボトル、資源。", "毎週水曜日です、確認してください。")


def test_long_sentences_are_split_into_short_pieces():
    sentence = "、".join(["申請書に必要事項を記入し"] * 8) + "。"
    spoken = for_the_ear(sentence, max_chars=1000, max_piece_chars=30)
    assert len(spoken.pieces) > 1 and all(len(p) <= 30 for p in spoken.pieces)
    assert "".join(spoken.pieces) == sentence


def test_length_is_capped_at_whole_pieces_and_flagged():
    spoken = for_the_ear("短い文です。" * 100, max_chars=60)
    assert spoken.truncated and len(spoken.text) <= 60
    assert spoken.text.endswith("。")
    assert not for_the_ear("短い文です。").truncated


def test_a_single_overlong_piece_is_cut_not_dropped():
    spoken = for_the_ear("あ" * 500, max_chars=100)
    assert spoken.truncated and 0 < len(spoken.text) <= 100
