import pytest

from dialogue.language import chinese_evidence, detect_language


class TestDetectLanguage:
    @pytest.mark.parametrize("text", [
        "住民票はどこで取れますか", "ごみの日", "マイナンバーカード", "児童手当 申請", "児童手当", "住民税 納付 方法",
        "粗大ごみ", "国民健康保険 脱退", "転入届", "印鑑登録証明書", "市役所 駐車場", "介護保険料 滞納",
        "在留資格 更新", "LINEで住民票を申請できますか", "PDFの申請書はどこ", "戸籍謄本 手数料",
    ])
    def test_japanese_including_kanji_only_queries(self, text):
        assert detect_language(text) == "ja"

    @pytest.mark.parametrize("text", [
        "我想申请住民票", "垃圾什么时候收", "请问在哪里办理转入手续?", "儿童补贴怎么申请", "怎么办理国民健康保险",
        "請問如何申請居留證?", "你好", "谢谢", "我的健康保險證丟了怎麼辦", "这个手续需要多少钱",
    ])
    def test_chinese_simplified_and_traditional(self, text):
        assert detect_language(text) == "zh"

    @pytest.mark.parametrize("text", ["주민표는 어디서 발급받나요?", "안녕하세요", "쓰레기 버리는 날은 언제예요"])
    def test_korean(self, text):
        assert detect_language(text) == "ko"

    @pytest.mark.parametrize("text", [
        "How can I get a residence certificate?", "hello", "How do I apply for 児童手当?", "Where is the city hall",
        "Làm thế nào để đăng ký cư trú?",  # Latin-script languages get the English interface
    ])
    def test_english_even_with_a_japanese_term(self, text):
        assert detect_language(text) == "en"

    @pytest.mark.parametrize("text", ["Как получить справку?", "كيف أحصل على شهادة", "ขอใบรับรองที่ไหน"])
    def test_other_scripts(self, text):
        assert detect_language(text) == "other"

    def test_text_without_letters_takes_the_default(self):
        assert detect_language("2") == "ja"
        assert detect_language("😀", default="en") == "en"

    def test_japanese_only_characters_outweigh_a_chinese_marker(self):
        assert chinese_evidence("児童手当 申請") < 0
        assert chinese_evidence("请问") > 0
