"""The structured catalogue reads slots from a question on the real Tokyo index: the name that says what is asked
wins over a name that only says which (「ペットボトルのキャップ」), several things named together are each found,
place names match on name boundaries (散田町 holds no 田町), categories come in the question's order, and a
question about a pet reads the pets' list."""
import pytest

from knowledge.structured import catalogue_for

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def catalogue(knowledge_base):
    return catalogue_for(knowledge_base.index("tokyo"))


def named_items(catalogue, text):
    question = catalogue.question(text)
    return [[entry.name for entry in mention]
            for mention in catalogue.item_mentions(question, catalogue.municipality_in(question))]


@pytest.mark.parametrize("text, items", [
    ("八王子市 ペットボトルのキャップ", [["ペットボトルのキャップ（プラスチック製）"]]),
    ("目黒区でペットボトルのふたは？", [["ペットボトルのふた・ラベル"]]),
    ("世田谷区のおもちゃの電池", [["電池(充電式除く)", "電池（充電式）", "電池（ボタン）"]]),
])
def test_the_head_of_a_noun_phrase_is_the_item(catalogue, text, items):
    assert named_items(catalogue, text) == items


@pytest.mark.parametrize("text", ["世田谷区でペットボトルのキャップは何ごみ？", "世田谷区でペットボトルキャップ"])
def test_a_name_that_only_says_which_thing_is_no_item(catalogue, text):
    # 世田谷区 lists no cap: its ペットボトル record is not the answer, neither by slots nor by similarity.
    question = catalogue.question(text)
    assert named_items(catalogue, text) == []
    assert catalogue.names_only_as_modifier(question, "setagaya-garbage:ペットボトル")


@pytest.mark.parametrize("text, item", [
    ("目黒区 ペットボトルの出し方", "ペットボトル"), ("八王子市で傘の捨て方", "傘"), ("世田谷区のスプレー缶の日", "スプレー缶"),
])
def test_what_a_question_asks_about_an_item_keeps_the_item(catalogue, text, item):
    assert [item] in named_items(catalogue, text)


@pytest.mark.parametrize("text, count", [
    ("世田谷区で電池と蛍光灯は？", 2), ("八王子市でスプレー缶とライター", 2), ("世田谷区、傘や自転車", 2),
    ("目黒区で傘を袋に入れて出していい？", 1),
])
def test_things_named_together_are_each_found(catalogue, text, count):
    assert len(named_items(catalogue, text)) == count


@pytest.mark.parametrize("text, area", [
    ("八王子市散田町のごみの日", "散田町１〜５丁目"), ("八王子市椚田町の燃えるごみ", "椚田町"), ("八王子市楢原町の可燃ごみ", "楢原町"),
    ("元本郷町のごみの日", "元本郷町１〜４丁目"), ("世田谷区桜新町1丁目の燃えるごみの日", "桜新町1・2"),
    ("上用賀3丁目のごみの日", "上用賀1～4"), ("八王子市田町のごみの日", "田町"),
    ("八王子市裏高尾町のペットボトル", "裏高尾町"),  # the tagger reads 「市裏」 as one word
])
def test_an_area_is_the_longest_place_name_standing_on_its_own(catalogue, text, area):
    question = catalogue.question(text)
    areas, _ = catalogue.areas_in(question, catalogue.municipality_in(question))
    assert [a.name for a in areas] == [area]


def test_a_place_name_inside_a_longer_unknown_one_is_no_area(catalogue):
    assert catalogue.areas_in(catalogue.question("東中町のごみの日"))[0] == []


def test_categories_in_the_questions_order_as_each_municipality_names_them(catalogue):
    question = catalogue.question("びんとかんは？")
    assert catalogue.categories_in(question, "八王子市") == ["びん", "かん"]
    assert catalogue.categories_in(question, "世田谷区") == []  # 世田谷区 has no such columns (both go to 資源)
    assert catalogue.names_only_categories(question)
    assert not catalogue.names_only_categories(catalogue.question("スプレー缶は？"))
    assert catalogue.categories_in(catalogue.question("non-burnable"), "目黒区") == ["不燃ごみ"]


@pytest.mark.parametrize("text, doc_id", [
    ("猫の水の備蓄はどれくらい", "bichiku-navi:stockpile:64"), ("ペットの首輪も用意したほうがいい？", "bichiku-navi:stockpile:65"),
    ("犬のトイレ用品は何を備蓄", "bichiku-navi:stockpile:66"), ("水は何リットル備蓄すればいい", "bichiku-navi:stockpile:1"),
    ("How much water should I stock for my dog?", "bichiku-navi:stockpile:64"),
])
def test_a_pet_question_reads_the_pets_list(catalogue, text, doc_id):
    assert [e.doc_id for e in catalogue.stockpile_in(catalogue.question(text))] == [doc_id]


def test_an_item_is_found_by_the_reading_its_compound_is_said_with(catalogue):
    # fugashi reads レジ袋 word by word (れじ | ふくろ); residents write the voiced compound (rendaku).
    assert named_items(catalogue, "はちおうじで れじぶくろ は何ごみ？") == [["レジ袋"]]


def test_one_character_before_の_says_which_when_a_record_says_it_too(catalogue):
    # 「木のくし」: the 木製 comb or skewer (both read くし), not the metal ones.
    assert named_items(catalogue, "八王子市で木のくしは？") == [["櫛(木製・竹製・プラスチック製)", "串 (木製・竹製・プラスチック製)"]]


@pytest.mark.parametrize("text, area", [
    ("Meguro-ku, burnable garbage in Takaban 2-chome 鷹番", "鷹番二丁目"),  # a glossed name comes at the end
    ("鷹番は2丁目です。燃えるごみの日は？", "鷹番二丁目"),
])
def test_a_chome_given_apart_from_the_place_name_counts(catalogue, text, area):
    areas, chome = catalogue.areas_in(catalogue.question(text))
    assert chome == 2 and [a.name for a in areas] == [area]


def _comparable(state):
    """A catalogue's state with each entry's keys as a set: their order follows str hashing, which differs between
    interpreters."""
    def entry(e):
        return (e.doc_id, e.name, e.municipality, frozenset(e.keys), e.chome)

    return {name: [entry(e) for e in value] if name in ("items", "areas", "stockpile", "pet_stockpile", "sites")
            else {k: entry(e) for k, e in value.items()} if name in ("_item_by_doc", "_area_by_doc") else value
            for name, value in state.items()}


def test_the_catalogue_built_in_a_child_process_holds_what_one_built_here_holds(knowledge_base):
    # catalogue_for builds it in a child, so the server never keeps the dictionary pages the build reads.
    import fugashi

    from knowledge.structured import _CATALOGUED_KINDS, StructuredCatalogue, _state_from_child

    docs = knowledge_base.index("tokyo").docs
    records = [doc for doc in docs if doc.kind in _CATALOGUED_KINDS]
    from_child = StructuredCatalogue.from_state(_state_from_child(records), fugashi.Tagger())
    here = StructuredCatalogue(docs, fugashi.Tagger())
    assert _comparable(from_child.state()) == _comparable(here.state())
    assert from_child.question("世田谷区でペットボトルのキャップは何ごみ") == here.question("世田谷区でペットボトルのキャップは何ごみ")
