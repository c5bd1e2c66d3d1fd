from knowledge.text import SYNONYM_PREFIX, JapaneseTokenizer, normalise


class TestNormalise:
    def test_full_width_ascii_and_half_width_kana_meet(self):
        assert normalise("ＡＢＣ１２３") == "abc123"
        assert normalise("ｺﾝﾋﾞﾆ") == "コンビニ"

    def test_invisible_characters_are_removed(self):
        assert normalise("住民\u200b票\ufeff") == "住民票"


class TestJapaneseTokenizer:
    tokenizer = JapaneseTokenizer()

    def test_particles_auxiliaries_and_punctuation_are_dropped(self):
        terms = self.tokenizer.tokenize("住民票を取りたいのですが、どうすればいいですか？")
        assert "住民" in terms and "票" in terms
        assert not {"を", "が", "です", "、", "？"} & set(terms)

    def test_tagged_words_carry_their_part_of_speech(self):
        tagged = dict(self.tokenizer.tagged("今日は3丁目の電池を出す"))
        assert tagged["電池"][:2] == ("名詞", "普通名詞") and tagged["3"][1] == "数詞"
        assert "副詞可能" in tagged["今日"] and tagged["出す"][0] == "動詞"
        assert [term for term, _ in self.tokenizer.tagged("ごみを出したい")] == self.tokenizer.tokenize("ごみを出したい")

    def test_question_boilerplate_is_dropped(self):
        assert "教える" not in self.tokenizer.tokenize("児童手当について教えてください")

    def test_inflections_meet_on_the_lemma(self):
        assert "出す" in self.tokenizer.tokenize("ごみを出したい")
        assert "出す" in self.tokenizer.tokenize("ごみの出し方")

    def test_hiragana_and_katakana_spellings_of_gomi_meet_through_their_synonym_group(self):
        hiragana = set(self.tokenizer.search_terms("ごみ"))
        katakana = set(self.tokenizer.search_terms("ゴミ"))
        assert {t for t in hiragana & katakana if t.startswith(SYNONYM_PREFIX)}

    def test_orthographic_variants_meet_on_the_normalized_form(self):
        assert self.tokenizer.tokenize("引越し") == self.tokenizer.tokenize("引っ越し")
        assert self.tokenizer.tokenize("ハト") == self.tokenizer.tokenize("鳩")
        assert self.tokenizer.tokenize("原付") == self.tokenizer.tokenize("原付き")

    def test_synonyms_of_the_sudachi_dictionary_share_a_search_term(self):
        moving = set(self.tokenizer.search_terms("引っ越し"))
        assert moving & set(self.tokenizer.search_terms("転居")) - {"引っ越し", "転居"}

    def test_synonym_groups_are_search_terms_only(self):
        assert not [t for t in self.tokenizer.tokenize("引っ越しの手続き") if t.startswith(SYNONYM_PREFIX)]

    def test_long_texts_are_tokenised_in_pieces(self):
        assert self.tokenizer.tokenize("住民票。" * 20_000).count("住民") == 20_000

    def test_full_width_and_half_width_queries_give_the_same_terms(self):
        assert self.tokenizer.tokenize("ｺﾝﾋﾞﾆで住民票") == self.tokenizer.tokenize("コンビニで住民票")

    def test_loanword_origin_suffix_is_stripped(self):
        assert "コンビニ" in self.tokenizer.tokenize("コンビニ交付")

    def test_latin_text_is_kept_as_words(self):
        assert "residence" in self.tokenizer.tokenize("Where is the residence certificate?")
