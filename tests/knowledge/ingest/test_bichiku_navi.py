"""bichiku_navi: stockpile items with per-person quantities and hazard-map links of 東京備蓄ナビ."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.ingest.bichiku_navi import load_bichiku_navi
from tests.knowledge.ingest.conftest import load_tokyo, split

OPTIONS = {"name": "東京備蓄ナビ", "id_prefix": "bichiku-navi", "url": "https://example.jp/bichiku/",
           "licence": "MIT", "attribution": "東京都", "as_of": "2024-07"}

WATER = {"id": 1, "group": {"ja": "食品等"}, "category": {"ja": "食品"}, "item": {"ja": "水", "en": "Water"},
         "unit": {"ja": "L"}, "description": {"ja": "1日1人3リットルが目安量です。"},
         "required": {"infantsMale": 2.4, "infantsFemale": 2.4, "child1Male": 2.4, "child1Female": 2.4,
                      "child2Male": 3, "child2Female": 3, "adultMale": 3, "adultFemale": 3.5,
                      "agedMale": 3, "agedFemale": 3}}
LANTERN = {"id": 59, "group": {"ja": "生活用品"}, "category": {"ja": "停電（照明）"}, "item": {"ja": "LEDランタン"},
           "unit": {"ja": "最低3台"}, "description": {"ja": "部屋全体を明るくできます。"}}
PET_FOOD = {"id": 63, "category": {"ja": "ペット"}, "item": {"ja": "ペットフード"}, "description": {"ja": "ストックしておきましょう。"}}
CITIES = {"cities": [
    {"name": {"ja": "江東区"}, "description": {"ja": "江東区が公開しているハザードマップです。"}, "tsunami": "",
     "kozui": "https://koto.example/kozui", "dosya": "", "hanran": "https://koto.example/hanran", "takashio": "", "kazan": ""},
    {"name": {"ja": "利島村"}, "description": {"ja": "利島村が公開しているハザードマップです。"}, "kozui": "", "dosya": ""},
]}


def _folder(write, stockpile: str, cities: str | None = None) -> Path:
    write("bichiku/hazardmap_links_62_municipalities.json", cities if cities is not None else json.dumps(CITIES, ensure_ascii=False))
    return write("bichiku/stockpile_items.json", stockpile).parent


def _stockpile(*items, pets=()) -> str:
    data = {"upStairsRate": 7, "downStairsRate": 3, "stockpileList": list(items), "petStockpileList": list(pets)}
    return json.dumps(data, ensure_ascii=False, indent=1)


class TestSynthetic:
    def test_quantities_written_out_per_age_group_and_sex(self, write):
        docs, problems = split(load_bichiku_navi(_folder(write, _stockpile(WATER, LANTERN, pets=[PET_FOOD])), "t1", OPTIONS))
        assert problems == []
        water, lantern, pet, koto, toshima = docs
        assert (water.doc_id, water.title, water.kind) == ("bichiku-navi:stockpile:1", "備蓄品: 水", "stockpile")
        assert water.body.splitlines() == [
            "1日1人3リットルが目安量です。",
            "分類: 食品等 / 食品",
            "1人1日あたりの目安量: 乳幼児（0〜2歳） 2.4 L、子ども（3歳〜小学6年生） 2.4 L、子ども（中学生以上） 3 L、"
            "成人（18歳以上） 男性3 L・女性3.5 L、高齢者（65歳以上） 3 L",
            "必要な備蓄の目安は上記の3日分（高層階にお住まいの場合は7日分）。",
        ]
        assert "備蓄量の目安: 最低3台" in lantern.body
        assert pet.title == "ペットの備蓄品: ペットフード" and pet.meta["pet"] is True
        assert pet.meta["days"] == {} and water.meta["days"] == {"low": 3, "high": 7}  # the rates are people's
        assert water.citation == "bichiku/stockpile_items.json id=1" and water.url == "https://example.jp/bichiku/"

    def test_hazard_maps_one_per_municipality_with_link_as_url(self, write):
        docs, _ = split(load_bichiku_navi(_folder(write, _stockpile(WATER)), "t1", OPTIONS))
        koto, toshima = [d for d in docs if d.kind == "hazard_map"]
        assert koto.doc_id == "bichiku-navi:hazard-map:江東区" and koto.title == "江東区のハザードマップ"
        assert koto.url == "https://koto.example/kozui"
        assert "洪水ハザードマップ: https://koto.example/kozui" in koto.body
        assert "内水氾濫（浸水）ハザードマップ: https://koto.example/hanran" in koto.body
        assert toshima.url == "https://example.jp/bichiku/" and "掲載されていません" in toshima.body

    def test_broken_json_is_reported_with_its_line_and_the_other_file_still_loads(self, write):
        broken = '{\n "stockpileList": [\n  {"id": 1,\n   "item": }\n ]\n}\n'
        docs, problems = split(load_bichiku_navi(_folder(write, broken), "t1", OPTIONS))
        assert [d.kind for d in docs] == ["hazard_map", "hazard_map"]
        assert len(problems) == 1 and problems[0].file.endswith("stockpile_items.json") and problems[0].line == 4

    def test_item_without_description_is_skipped_with_its_line(self, write):
        incomplete = {"id": 7, "item": {"ja": "チーズ"}}
        docs, problems = split(load_bichiku_navi(_folder(write, _stockpile(WATER, incomplete, LANTERN)), "t1", OPTIONS))
        assert [d.meta.get("item") for d in docs if d.kind == "stockpile"] == ["水", "LEDランタン"]
        text = (Path(problems[0].file)).read_text(encoding="utf-8")
        assert '"id": 7' in text.splitlines()[problems[0].line - 1]

    def test_unreadable_hazard_file(self, write):
        docs, problems = split(load_bichiku_navi(_folder(write, _stockpile(WATER), cities=b"\xff\xfe\x00{".decode("latin-1")), "t1", OPTIONS))
        assert [d.kind for d in docs] == ["stockpile"] and len(problems) == 1


@pytest.mark.shared
class TestTokyo:
    def test_all_items_and_municipalities(self, shared_dir):
        docs, problems = load_tokyo("bichiku_navi", shared_dir)
        assert problems == []
        assert sum(d.kind == "stockpile" for d in docs) == 67 and sum(d.kind == "hazard_map" for d in docs) == 62
        water = next(d for d in docs if d.doc_id == "bichiku-navi:stockpile:1")
        assert "成人（18歳以上） 3 L" in water.body and "乳幼児（0〜2歳） 2.4 L" in water.body
        koto = next(d for d in docs if d.doc_id == "bichiku-navi:hazard-map:江東区")
        assert koto.url == "https://www.city.koto.lg.jp/470601/20200701.html"
        assert all(d.licence and d.attribution == "東京都" and d.as_of == "2024-07" for d in docs)
