from knowledge.text import JapaneseTokenizer, normalise


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

    def test_question_boilerplate_is_dropped(self):
        assert "教える" not in self.tokenizer.tokenize("児童手当について教えてください")

    def test_inflections_meet_on_the_lemma(self):
        assert "出す" in self.tokenizer.tokenize("ごみを出したい")
        assert "出す" in self.tokenizer.tokenize("ごみの出し方")

    def test_kana_and_kanji_spellings_of_gomi_meet(self):
        hiragana = self.tokenizer.tokenize("ごみ")
        katakana = self.tokenizer.tokenize("ゴミ")
        assert hiragana == katakana and hiragana

    def test_full_width_and_half_width_queries_give_the_same_terms(self):
        assert self.tokenizer.tokenize("ｺﾝﾋﾞﾆで住民票") == self.tokenizer.tokenize("コンビニで住民票")

    def test_loanword_origin_suffix_is_stripped(self):
        assert "コンビニ" in self.tokenizer.tokenize("コンビニ交付")

    def test_latin_text_is_kept_as_words(self):
        assert "residence" in self.tokenizer.tokenize("Where is the residence certificate?")
