"""gsi_evacuation: 国土地理院の指定緊急避難場所・指定避難所, one document per municipality with both lists as fields."""
from __future__ import annotations

import json

import pytest

from knowledge.ingest.gsi_evacuation import load_gsi_evacuation
from tests.knowledge.ingest.conftest import load_tokyo, split

CREDIT = "出典: 国土地理院「指定緊急避難場所・指定避難所データ」を加工して作成"
OPTIONS = {"name": "国土地理院 指定緊急避難場所・指定避難所データ", "id_prefix": "gsi-evacuation", "as_of": "2025-10",
           "url": "https://www.gsi.go.jp/bousaichiri/hinanbasho.html", "credit": CREDIT}
CODES = {"name": "東京都", "code": "13", "cities": {
    "0001": {"code": "130001", "name": "東京都", "cityName": "東京都"},
    "1105": {"code": "131105", "name": "東京都目黒区", "cityName": "目黒区"},
    "1130": {"code": "131130", "name": "東京都渋谷区", "cityName": "渋谷区"}}}
FLAGS = ("洪水", "崖崩れ、土石流及び地滑り", "高潮", "地震", "津波", "大規模な火事", "内水氾濫", "火山現象")


def _site(name, address, **flags):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [139.6, 35.6]},
            "properties": {"施設・場所名": name, "住所": address, **{f: flags.get(f, "") for f in FLAGS}}}


def _folder(write):
    write("gsi/municipality-codes.json", json.dumps(CODES, ensure_ascii=False))
    write("gsi/emergency/131105.json", json.dumps({"type": "FeatureCollection", "features": [
        _site("駒場小学校", "東京都目黒区駒場1-1", 地震="1", 大規模な火事="1"), _site("", "no name")]}, ensure_ascii=False))
    write("gsi/evacuation/131105.json", json.dumps({"type": "FeatureCollection", "features": [
        _site("駒場小学校", "東京都目黒区駒場1-1")]}, ensure_ascii=False))
    write("gsi/emergency/131130.json", json.dumps({"type": "unavailable", "code": "131130", "name": "東京都渋谷区",
                                                   "message": "公開されていません。"}, ensure_ascii=False))
    return write("gsi/evacuation/131130.json", json.dumps({"type": "FeatureCollection", "features": [
        _site("渋谷区役所", "東京都渋谷区宇田川町1-1")]}, ensure_ascii=False)).parent.parent


def test_one_document_per_municipality_with_its_sites_and_their_hazards(write):
    docs, problems = split(load_gsi_evacuation(_folder(write), "t1", OPTIONS))
    assert problems == []
    meguro, shibuya = docs  # 130001 (東京都 itself) has no list of its own
    assert (meguro.doc_id, meguro.title, meguro.kind) == ("gsi-evacuation:131105", "目黒区の避難場所・避難所", "evacuation_sites")
    assert meguro.meta["emergency"] == [{"name": "駒場小学校", "address": "東京都目黒区駒場1-1",
                                         "hazards": ["地震", "大規模な火事"]}]
    assert meguro.meta["credit"] == CREDIT and meguro.as_of == "2025-10"
    assert meguro.citation == "gsi/emergency/131105.json gsi/evacuation/131105.json"
    assert shibuya.meta["emergency"] is None and [s["name"] for s in shibuya.meta["evacuation"]] == ["渋谷区役所"]
    assert "渋谷区の指定緊急避難場所のデータは公開されていません。" in shibuya.body


@pytest.mark.shared
def test_tokyo_has_62_municipalities(shared_dir):
    docs, problems = load_tokyo("gsi_evacuation", shared_dir)
    assert problems == [] and len(docs) == 62
    assert sum(len(d.meta["emergency"] or []) for d in docs) > 2000
    assert sum(len(d.meta["evacuation"] or []) for d in docs) > 3000
    itabashi = next(d for d in docs if d.meta["municipality"] == "板橋区")
    assert itabashi.meta["evacuation"] is None and itabashi.meta["credit"].startswith("出典: 国土地理院")
