"""garbage_5374: one document per item (target.csv) and per area (area_days.csv) of a 5374.jp folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.ingest.garbage_5374 import expand_chome, load_garbage_5374, render_days
from tests.knowledge.ingest.conftest import load_tokyo, split

OPTIONS = {"name": "テスト区 ごみ", "municipality": "テスト区", "id_prefix": "test-garbage", "licence": "MPL-2.0",
           "attribution": "テスト区", "as_of": "2015", "url": "https://example.jp/"}


class TestRenderDays:
    @pytest.mark.parametrize(("cell", "expected"), [
        ("水 土", "毎週水曜・土曜"),
        ("木", "毎週木曜"),
        ("月2 月4", "第2・第4月曜"),
        ("水1 金3", "第1水曜、第3金曜"),
        ("隔水20150114", "隔週水曜（2015年1月14日から2週間ごと）"),
        ("20150105", "2015年1月5日"),
    ])
    def test_codes_become_japanese(self, cell, expected):
        assert render_days(cell) == (expected, [])

    def test_impossible_or_contradictory_start_dates_are_dropped_with_a_warning(self):
        text, warnings = render_days("隔金20150198")
        assert text == "隔週金曜" and "impossible start date" in warnings[0]
        text, warnings = render_days("隔火20150114")  # 2015-01-14 was a Wednesday
        assert text == "隔週火曜" and "水曜" in warnings[0]

    def test_unknown_code_is_kept_as_written(self):
        text, warnings = render_days("要予約")
        assert text == "要予約" and warnings


@pytest.mark.parametrize(("area", "chome"), [
    ("赤堤1・3～5", ["赤堤1丁目", "赤堤3丁目", "赤堤4丁目", "赤堤5丁目"]),  # Setagaya
    ("下目黒一丁目から三丁目", ["下目黒1丁目", "下目黒2丁目", "下目黒3丁目"]),  # Meguro
    ("大岡山一丁目・二丁目", ["大岡山1丁目", "大岡山2丁目"]),
    ("暁町１〜３丁目", ["暁町1丁目", "暁町2丁目", "暁町3丁目"]),  # Hachioji, full-width digits
    ("旭町", []),
    ("長沼町（1515〜1520番地を除く）", []),
])
def test_area_names_are_spelled_out_per_chome(area, chome):
    assert expand_chome(area) == chome


class TestSyntheticFolder:
    def _folder(self, write, target: str | bytes, area: str | None = None) -> Path:
        write("ward/target.csv", target)
        if area is not None:
            write("ward/area_days.csv", area)
        write("ward/center.csv", "名称,休止開始日,休止終了日\n東,2014/12/29,2015/01/03\n")
        write("ward/remarks.csv", "ID,注意事項\n1,渋谷1丁目は収集曜日が異なります。\n")
        return write("ward/description.csv", "label,sublabel,description,styles,bgcolor\n資源,,びん・缶・古紙,,#fff\n").parent

    def test_items_areas_and_citations(self, write):
        folder = self._folder(
            write, "label,name,notice,furigana\n不燃ごみ,電池,「電池の拠点回収」へ,て\n資源,ガラスびん,,か\n",
            "地名,センター（空白可）,可燃ごみ,不燃ごみ\n東町一丁目,東,月 木,金2 金4\n")
        docs, problems = split(load_garbage_5374(folder, "t1", OPTIONS))
        assert problems == []
        battery, bottle, area = docs
        assert battery.doc_id == "test-garbage:電池" and battery.title == "テスト区: 電池"
        assert battery.body == "品目: 電池\n分別区分: 不燃ごみ\n注意: 「電池の拠点回収」へ"
        assert "資源について: びん・缶・古紙" in bottle.body  # description.csv adds a category's explanation
        assert (battery.kind, battery.tenant, battery.meta["municipality"]) == ("garbage_item", "t1", "テスト区")
        assert battery.citation == "ward/target.csv:2" and battery.licence == "MPL-2.0" and battery.as_of == "2015"
        assert area.doc_id == "test-garbage:area:東町一丁目" and area.kind == "garbage_days"
        assert area.body == ("地域: 東町一丁目\n丁目: 東町1丁目\n可燃ごみ: 毎週月曜・木曜\n不燃ごみ: 第2・第4金曜\n"
                             "担当: 東（2014/12/29〜2015/01/03は収集休止）")
        assert all("渋谷" not in d.body for d in docs)  # remarks.csv is a template leftover

    def test_bad_rows_are_reported_and_good_rows_survive(self, write):
        folder = self._folder(write, (
            "type,name,notice,furigana\n"
            "資源,缶,,か\n"
            '資源,"びん"x,,ひ\n'           # line 3: malformed quoting
            "可燃ごみ,紙くず\n"             # line 4: missing fields
            ",櫛(木製) 燃えるもの,,く\n"    # line 5: no category (and no category of the file after the name)
            "不燃ごみ,傘,,か\n"))
        docs, problems = split(load_garbage_5374(folder, "t1", OPTIONS))
        assert [d.meta["item"] for d in docs] == ["缶", "傘"]
        assert [(Path(p.file).name, p.line) for p in problems] == [("target.csv", 3), ("target.csv", 4), ("target.csv", 5)]
        assert "malformed" in problems[0].reason and "expected 4 fields" in problems[1].reason

    def test_a_category_typed_after_the_name_is_read_as_the_category(self, write):
        # 八王子市's 「櫛(木製・竹製・プラスチック製) 可燃ごみ」 has an empty category column.
        folder = self._folder(write, "type,name,notice,furigana\n可燃ごみ,紙くず,,か\n,櫛(木製) 可燃ごみ,,く\n")
        docs, problems = split(load_garbage_5374(folder, "t1", OPTIONS))
        comb = docs[1]
        assert problems == [] and (comb.meta["item"], comb.meta["category"]) == ("櫛(木製)", "可燃ごみ")
        assert comb.meta["source_name"] == "櫛(木製) 可燃ごみ"  # evidence names the row as the file writes it

    def test_missing_column_is_one_problem_on_the_header(self, write):
        folder = self._folder(write, "種類,品名\n資源,缶\n")
        docs, problems = split(load_garbage_5374(folder, "t1", OPTIONS))
        assert docs == [] and len(problems) == 1 and problems[0].line == 1 and "name" in problems[0].reason

    def test_invalid_bytes_lose_only_their_line(self, write):
        content = "type,name,notice,furigana\n資源,缶,,か\n".encode() + b"\xff\xfe,\x80\x81,,x\n" + "不燃ごみ,傘,,か\n".encode()
        folder = self._folder(write, content)
        docs, problems = split(load_garbage_5374(folder, "t1", OPTIONS))
        assert [d.meta["item"] for d in docs] == ["缶", "傘"]
        assert [(p.line, "invalid" in p.reason) for p in problems] == [(3, True)]

    def test_shift_jis_files_are_read(self, write):
        folder = self._folder(write, "type,name,notice,furigana\n可燃ごみ,紙くず,,か\n".encode("cp932"))
        docs, _ = split(load_garbage_5374(folder, "t1", OPTIONS))
        assert docs[0].body.startswith("品目: 紙くず")

    def test_ids_and_content_are_stable_across_reingests(self, write):
        folder = self._folder(write, "type,name,notice,furigana\n資源,缶,,か\n資源,缶,,か\n")
        first = [(d.doc_id, d.content_hash()) for d in split(load_garbage_5374(folder, "t1", OPTIONS))[0]]
        second = [(d.doc_id, d.content_hash()) for d in split(load_garbage_5374(folder, "t1", OPTIONS))[0]]
        assert first == second and len({doc_id for doc_id, _ in first}) == 2  # a repeated name still gets its own id


@pytest.mark.shared
class TestTokyoFolders:
    @pytest.fixture(scope="class")
    def loaded(self, shared_dir):
        return load_tokyo("garbage_5374", shared_dir)

    def test_counts_per_municipality(self, loaded):
        docs, _ = loaded
        counts = {}
        for doc in docs:
            key = (doc.meta["municipality"], doc.kind)
            counts[key] = counts.get(key, 0) + 1
        assert counts == {
            ("世田谷区", "garbage_item"): 166, ("世田谷区", "garbage_days"): 118,
            ("目黒区", "garbage_item"): 99, ("目黒区", "garbage_days"): 44,
            ("八王子市", "garbage_item"): 745, ("八王子市", "garbage_days"): 135,
        }
        assert len({d.doc_id for d in docs}) == len(docs)

    def test_setagaya_item_as_the_brief_describes(self, loaded):
        doc = next(d for d in loaded[0] if d.doc_id == "setagaya-garbage:ガラスびん（飲み物、食品、調味料）")
        assert doc.title == "世田谷区: ガラスびん（飲み物、食品、調味料）"
        assert "分別区分: 資源" in doc.body and doc.url == "https://www.city.setagaya.lg.jp/"

    def test_meguro_battery_names_its_municipality(self, loaded):
        doc = next(d for d in loaded[0] if d.meta.get("item") == "電池（マンガン・アルカリ）")
        assert doc.title.startswith("目黒区") and doc.meta["municipality"] == "目黒区"
        assert "分別区分: 不燃ごみ" in doc.body and "注意: 「電池の拠点回収」のページをご覧ください。" in doc.body

    def test_hachioji_quirks(self, loaded):
        docs, problems = loaded
        area = next(d for d in docs if d.doc_id == "hachioji-garbage:area:万町")
        assert "かん: 隔週月曜（2015年1月5日から2週間ごと）" in area.body and "可燃ごみ: 毎週月曜・木曜" in area.body
        assert "担当: 収集地区17（2014/01/01〜2014/01/03は収集休止）" in area.body
        sweets_bag = next(d for d in docs if d.doc_id == "hachioji-garbage:菓子袋（紙製）")
        assert "分別区分: 雑誌・雑紙" in sweets_bag.body  # the 雑紙・雑紙 typo, mapped in the tenant YAML
        assert not [p for p in problems if p.file.endswith("target.csv")]
        comb = next(d for d in docs if d.meta.get("source_name") == "櫛(木製・竹製・プラスチック製) 可燃ごみ")
        assert (comb.meta["item"], comb.meta["category"]) == ("櫛(木製・竹製・プラスチック製)", "可燃ごみ")
        assert any("20150198" in p.reason for p in problems if p.file.endswith("area_days.csv"))
