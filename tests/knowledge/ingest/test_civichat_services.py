"""civichat_services: 行政サービス情報 records (programmes and nursery facilities) of a civichat folder."""
from __future__ import annotations

import json

import pytest

from knowledge.ingest.civichat_services import load_civichat_services
from tests.knowledge.ingest.conftest import load_tokyo, split

OPTIONS = {"name": "行政サービス情報", "licence": "MIT", "attribution": "渋谷区", "as_of": "2022-06",
           "municipalities": {"shibuyaParenting": "渋谷区"}}


def _program(service_id: str, title: str | None, **fields) -> dict:
    record = {"サービスID": service_id, "制度番号": None, "タイトル（制度名）": title, "概要": "子どもの医療費を助成します。",
              "支援内容": "保険診療の自己負担分を助成します。", "対象者": "区内在住の中学生まで", "利用•申請方法": "窓口で申請",
              "詳細参照先": f"https://city.example/{service_id}", "お問い合わせ先": "子ども家庭支援課", "タグ（テーマ）": "給付・助成"}
    record.update(fields)
    return record


def _file(write, name: str, records: list) -> None:
    write(f"civichat/{name}__systemsdata.json", json.dumps({"systemsData": records}, ensure_ascii=False, indent=1))


class TestSynthetic:
    def test_record_becomes_a_service_document(self, write, tmp_path):
        _file(write, "shibuyaParenting", [_program("sp-1", "子ども医療費助成")])
        write("civichat/shibuyaParenting__questions.json", '{"questions": []}')
        (doc,), problems = split(load_civichat_services(tmp_path / "civichat", "t1", OPTIONS))
        assert problems == []
        assert (doc.doc_id, doc.title, doc.kind) == ("sp-1", "渋谷区: 子ども医療費助成", "service")
        assert doc.url == "https://city.example/sp-1" and doc.citation == "civichat/shibuyaParenting__systemsdata.json サービスID=sp-1"
        assert doc.body.splitlines() == ["概要: 子どもの医療費を助成します。", "支援内容: 保険診療の自己負担分を助成します。",
                                         "対象者: 区内在住の中学生まで", "利用•申請方法: 窓口で申請", "お問い合わせ先: 子ども家庭支援課"]
        assert doc.meta["tags"] == ["給付・助成"] and doc.meta["line"] == 4  # the line of its サービスID

    def test_facility_records_use_their_own_title_field(self, write, tmp_path):
        _file(write, "shibuyaPreschool", [{"サービスID": "pre-1", "市町村": "渋谷区", "幼稚園•保育園のタイトル": "渋谷保育園",
                                           "住所": "渋谷区神宮前3-18-8", "休園日": "日・祝", "詳細参照先": None}])
        (doc,), _ = split(load_civichat_services(tmp_path / "civichat", "t1", OPTIONS))
        assert doc.title == "渋谷区: 渋谷保育園" and doc.body == "住所: 渋谷区神宮前3-18-8\n休園日: 日・祝" and doc.url is None

    def test_bad_records_and_broken_files_are_reported_and_the_rest_survives(self, write, tmp_path):
        _file(write, "japan", [_program("j-1", "住居確保給付金"), _program("j-2", None), "not a record", _program("j-3", "高額療養費")])
        write("civichat/shibuyaParenting__systemsdata.json", '{"systemsData": [\n {"サービスID": "x",\n]}')
        docs, problems = split(load_civichat_services(tmp_path / "civichat", "t1", OPTIONS))
        assert [d.doc_id for d in docs] == ["j-1", "j-3"]
        assert [(p.file.rsplit("/", 1)[-1], p.line) for p in problems] == [
            ("japan__systemsdata.json", 16),  # j-2 has no title: cited at its サービスID line
            ("japan__systemsdata.json", None),  # a string where a record should be
            ("shibuyaParenting__systemsdata.json", 3),  # JSON syntax error
        ]

    def test_empty_folder_is_a_problem(self, tmp_path):
        docs, problems = split(load_civichat_services(tmp_path, "t1", OPTIONS))
        assert docs == [] and "no *__systemsdata.json" in problems[0].reason


@pytest.mark.shared
class TestTokyo:
    def test_all_records(self, shared_dir):
        docs, problems = load_tokyo("civichat_services", shared_dir)
        assert problems == [] and len(docs) == 225 and len({d.doc_id for d in docs}) == 225
        datasets = {}
        for doc in docs:
            datasets[doc.meta["dataset"]] = datasets.get(doc.meta["dataset"], 0) + 1
        assert datasets == {"japan": 90, "shibuyaParenting": 32, "shibuyaPreschool": 103}
        medical = next(d for d in docs if d.doc_id == "shibuya_parenting-9c1f6c94-ec5d-4f9c-8dd6-32c13aa98423")
        assert medical.title == "渋谷区: 子ども医療費助成"
        assert medical.url == "https://www.city.shibuya.tokyo.jp/kodomo/teate/iryohi_josei/kodomo_ij.html"
        assert all(d.title.startswith(("渋谷区: ", "国（全国共通）: ")) for d in docs)
