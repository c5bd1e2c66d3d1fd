"""The glossary: English, Chinese and Korean words for Tokyo's records, from JMdict, CC-CEDICT, OpenCC and the
readings of the data's own place names."""
import pytest

from knowledge.glossary import Glossary, hangul, phrase_of, romaji, words


def test_readings_in_romaji_and_hangul():
    assert {"setagaya"} <= romaji("せたがや") and "koto" in romaji("こうとう") and "ota" in romaji("おおた")
    assert "세타가야" in hangul("せたがや") and "하치오지" in hangul("はちおうじ") and "오타" in hangul("おおた")
    assert "미슈쿠" in hangul("みしゅく") and "메구로" in hangul("めぐろ")


def test_words_meet_in_the_singular():
    assert words("Used batteries, knives!") == ["used", "battery", "knife"]
    assert phrase_of("PET bottle (clear plastic beverage bottle)") == ("pet", "bottle")


@pytest.fixture(scope="module")
def glossary():
    return Glossary({"items": ["傘", "冷蔵庫", "包丁", "電池", "バッテリー", "乾電池"]},
                    {"世田谷区": "せたがや", "目黒区": "めぐろ", "江東区": "こうとう", "三軒茶屋": "さんけんちゃや"})


def test_english_items_and_places(glossary):
    glossed = glossary.gloss("an old umbrella in Setagaya", "en")
    assert "傘" in glossed and "世田谷区" in glossed
    assert "江東区" in glossary.gloss("the flood hazard map for Koto City", "en")
    assert "三軒茶屋" in glossary.gloss("sangenjaya burnable trash day?", "en")  # JMnedict: さんげんぢゃや


def test_a_phrase_of_several_items_names_none(glossary):
    # "battery" is 電池, バッテリー and 乾電池: no guess between them.
    assert glossary.gloss("where do i put used batteries", "en") == "where do i put used batteries"


def test_chinese_through_opencc_and_cedict(glossary):
    glossed = glossary.gloss("请问世田谷区的旧雨伞属于什么垃圾？", "zh")
    assert "傘" in glossed and "世田谷区" in glossed
    assert "目黒区" in glossary.gloss("在目黑区，塑料瓶怎么扔？", "zh")
    assert "電池" not in glossary.gloss("想扔掉旧手机", "zh")  # 手机 is a cell phone, not a cell


def test_korean_places(glossary):
    assert "世田谷区" in glossary.gloss("세타가야구에서 우산은 어떻게 버려요?", "ko")


def test_x_of_y_is_glossed_with_the_thing_asked_last():
    glossary = Glossary({"items": ["ペットボトル", "キャップ", "トイレットペーパー", "傘"]}, {})
    # "the cap of a PET bottle" is a cap: 「ペットボトルのキャップ」, as Japanese says it (head last).
    assert "ペットボトルのキャップ" in glossary.gloss("how do I throw away the cap of a PET bottle?", "en")
    # "the core of a toilet paper roll" is about a core the glossary has no name for: not the roll itself.
    assert "トイレットペーパー" not in glossary.gloss("the core of a toilet paper roll?", "en")
    # a word that only counts or asks before "of" leaves the thing after it the one asked about
    assert "傘" in glossary.gloss("what is the way of disposal of an umbrella?", "en")
    assert "傘" in glossary.gloss("how do I dispose of an old umbrella", "en")  # a verb before "of"
    assert "傘" in glossary.gloss("recycling of umbrellas", "en")


@pytest.mark.shared
def test_the_head_of_an_item_name_after_の_is_a_name_of_its_own(knowledge_base):
    from knowledge.structured import catalogue_for

    names = catalogue_for(knowledge_base.index("tokyo")).item_names()
    assert {"キャップ", "ペットボトル", "ペットボトルのキャップ"} <= set(names)


@pytest.fixture(scope="module")
def said_another_way():
    return Glossary({"items": ["ペットボトル", "キャップ", "王冠", "ペットボトルのキャップ", "携帯電話", "傘"]},
                    {"八王子市": "はちおうじ", "目黒区": "めぐろ"})


def test_a_head_word_said_as_jmdict_also_says_it(said_another_way):
    # JMdict glosses 携帯電話 "mobile telephone"; its 電話 is "telephone (device); phone".
    assert "携帯電話" in said_another_way.gloss("how do I throw out an old mobile phone?", "en")
    assert "携帯電話" in said_another_way.gloss("想扔掉旧手机", "zh")  # CC-CEDICT: 手机 "mobile phone"


def test_a_gloss_s_brackets_paraphrase_the_thing_or_name_its_owner(said_another_way):
    # "PET bottle (clear plastic beverage bottle)": a plastic bottle; "cap (of a bottle, pen, etc.)": a bottle cap,
    # which 王冠 ("bottle cap") also is, so a bottle cap alone is no guess between them.
    assert "ペットボトル" in said_another_way.gloss("a plastic bottle", "en")
    assert said_another_way.gloss("a bottle cap", "en") == "a bottle cap"
    assert "ペットボトル" not in said_another_way.gloss("a glass bottle", "en")


def test_a_chinese_noun_read_from_its_parts_and_x_的_y(said_another_way):
    assert "ペットボトル" in said_another_way.gloss("在目黑区，塑料瓶怎么扔？", "zh")  # 塑料 plastics + 瓶 bottle
    glossed = said_another_way.gloss("在八王子市，塑料瓶的瓶盖怎么扔？", "zh")
    assert "ペットボトルのキャップ" in glossed and "王冠" not in glossed


def test_a_chinese_noun_ending_in_a_thing_is_not_its_first_word():
    glossary = Glossary({"items": ["プラスチック", "スプレー缶", "ライター"]}, {})
    assert "プラスチック" not in glossary.gloss("塑料袋", "zh")  # a plastic bag is no plastic, even at the end
    # 喷雾 "mist spray" + 罐 "can" is a spray can; 和 ("and") names no thing, so 打火机 before it is a lighter.
    glossed = glossary.gloss("打火机和喷雾罐怎么扔？", "zh")
    assert "ライター" in glossed and "スプレー缶" in glossed


def test_things_listed_together_are_glossed_as_one_japanese_list():
    glossary = Glossary({"items": ["スプレー缶", "ライター", "フライパン", "鍋"]}, {})
    assert "フライパンと鍋" in glossary.gloss("how do I throw out a frying pan and a pot?", "en")
    assert "ライターとスプレー缶" in glossary.gloss("打火机和喷雾罐怎么扔？", "zh")
    assert "と" not in glossary.gloss("a lighter? then a pot", "en")  # said apart, not listed


@pytest.fixture(scope="module")
def korean():
    return Glossary({"items": ["傘", "乾電池", "電池", "冷蔵庫", "携帯電話", "蛍光灯", "家具"]}, {"目黒区": "めぐろ"})


def test_korean_items_by_their_sino_korean_reading(korean):
    assert "乾電池" in korean.gloss("건전지는 어떻게 버려요?", "ko")  # 乾電池: 건전지, the longest reading there
    assert "冷蔵庫" in korean.gloss("메구로구 냉장고", "ko")  # 冷藏庫 랭장고, said 냉장고 (두음법칙)
    assert "携帯電話" in korean.gloss("오래된 휴대전화", "ko")
    assert "傘" in korean.gloss("우산은 무슨 쓰레기예요?", "ko")  # 傘 through JMdict's 雨傘 (umbrella)
    assert "乾電池と蛍光灯" in korean.gloss("건전지와 형광등", "ko")


def test_a_korean_reading_that_other_words_share_names_no_item(korean):
    # 가구 is 家具 (furniture), but also 家口 (a household) and 街區 (a block): no guess.
    assert korean.gloss("2인 가구인데 물은 얼마나 필요해요?", "ko") == "2인 가구인데 물은 얼마나 필요해요?"
    assert "電池" not in korean.gloss("전지", "ko")  # 電池, 全知, 前肢 …
