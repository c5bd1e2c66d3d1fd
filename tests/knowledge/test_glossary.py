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
