"""Evidence references (source file + row) resolve to the index documents they name."""
import json

import pytest

from knowledge.evidence import matches, resolve
from tests.knowledge.helpers import doc


def _garbage(doc_id, folder, item, line):
    return doc(doc_id, f"区: {item}", f"品目: {item}", kind="garbage_item", citation=f"{folder}/target.csv:{line}",
               meta={"file": f"{folder}/target.csv", "line": line, "item": item})


DOCS = [
    _garbage("setagaya:割り箸", "tokyo-setagaya-5374-garbage", "割り箸", 12),
    _garbage("hachioji:割り箸", "tokyo-hachioji-5374-garbage", "割り箸", 40),
    doc("bichiku:stockpile:58", "備蓄品: ウェットボディタオル", "…", kind="stockpile",
        citation="tokyo-bichiku-navi-disaster-stockpile/stockpile_items.json id=58",
        meta={"file": "stockpile_items.json", "line": 900, "item": "ウェットボディタオル"}),
    doc("svc-1", "渋谷区: 子ども医療費助成", "…", kind="service",
        citation="civichat-shibuya-and-national-support-programs/shibuyaParenting__systemsdata.json 制度ID=svc-1",
        meta={"file": "shibuyaParenting__systemsdata.json", "program": "子ども医療費助成"}),
]


def test_a_row_name_names_the_row_of_that_file_only():
    evidence = {"file": "tokyo-setagaya-5374-garbage/target.csv", "row_name": "割り箸"}
    assert resolve(evidence, DOCS) == ["setagaya:割り箸"]


def test_an_id_a_service_id_and_a_line_each_name_their_row():
    assert resolve({"file": "tokyo-bichiku-navi-disaster-stockpile/stockpile_items.json", "id": 58}, DOCS) \
        == ["bichiku:stockpile:58"]
    assert resolve({"file": "civichat-shibuya-and-national-support-programs/shibuyaParenting__systemsdata.json",
                    "service_id": "svc-1"}, DOCS) == ["svc-1"]
    assert resolve({"file": "tokyo-hachioji-5374-garbage/target.csv", "line": 40}, DOCS) == ["hachioji:割り箸"]


def test_a_list_of_references_names_every_row_and_a_file_alone_names_none():
    both = [{"file": "tokyo-setagaya-5374-garbage/target.csv", "row_name": "割り箸"},
            {"file": "tokyo-hachioji-5374-garbage/target.csv", "row_name": "割り箸"}]
    assert sorted(resolve(both, DOCS)) == ["hachioji:割り箸", "setagaya:割り箸"]
    assert not matches(DOCS[0], {"file": "tokyo-setagaya-5374-garbage/target.csv"})
    assert resolve({"doc_id": "svc-1"}, DOCS) == ["svc-1"]


@pytest.mark.shared
def test_every_templated_tokyo_evidence_row_is_exactly_one_document_of_the_real_index(knowledge_base, shared_dir):
    docs = knowledge_base.index("tokyo").docs
    rows = [json.loads(line) for line in (shared_dir / "data" / "tokyo-eval" / "dev-templated.jsonl").open()]
    resolved = [resolve(row["evidence"], docs) for row in rows]
    assert all(len(ids) == 1 for ids in resolved)
    by_id = {d.doc_id: d for d in docs}
    # The document named is the one that holds the gold answer.
    assert sum(str(row["gold_answer"]) in by_id[ids[0]].body + by_id[ids[0]].title
               for row, ids in zip(rows, resolved)) / len(rows) >= 0.8  # the rest differ in layout only


def test_a_span_of_lines_names_the_passages_it_overlaps():
    passages = [doc(f"ai:{a}", "AI戦略", "…", citation=f"tokyo-ai.txt lines {a}–{b}",
                    meta={"file": "tokyo-ai.txt", "line_start": a, "line_end": b}) for a, b in ((1, 10), (11, 20), (21, 30))]
    assert resolve({"file": "seed/tokyo-ai.txt", "lines": [15, 24]}, passages) == ["ai:11", "ai:21"]


def _evacuation(doc_id, code, municipality, emergency, evacuation):
    folder = "gsi-evacuation-sites-tokyo"
    files = [f"{folder}/emergency/{code}.json", f"{folder}/evacuation/{code}.json"]
    sites = lambda names: [{"name": n, "address": f"東京都{municipality}", "hazards": []} for n in names]  # noqa: E731
    return doc(doc_id, f"{municipality}の避難場所・避難所", "…", kind="evacuation_sites", citation=" ".join(files),
               meta={"municipality": municipality, "code": code, "files": files, "line": 1,
                     "emergency": sites(emergency), "evacuation": sites(evacuation)})


SITES = [_evacuation("gsi:131121", "131121", "世田谷区", ["九品仏小学校"], ["三宿小学校", "中里小学校"]),
         _evacuation("gsi:131105", "131105", "目黒区", ["駒場小学校"], ["駒場小学校"])]


def test_a_site_names_the_evacuation_record_that_lists_it_from_either_of_its_files():
    # The record merges two files and its citation names the emergency one first: the evacuation file counts too.
    assert resolve({"file": "gsi-evacuation-sites-tokyo/evacuation/131121.json", "name": "三宿小学校"}, SITES) \
        == ["gsi:131121"]
    assert resolve({"file": "gsi-evacuation-sites-tokyo/emergency/131105.json", "name": "駒場小学校",
                    "field": "洪水"}, SITES) == ["gsi:131105"]


def test_a_site_the_record_does_not_list_or_another_municipalitys_file_names_nothing():
    assert resolve({"file": "gsi-evacuation-sites-tokyo/evacuation/131121.json", "name": "駒場小学校"}, SITES) == []
    assert resolve({"file": "gsi-evacuation-sites-tokyo/evacuation/131105.json", "name": "三宿小学校"}, SITES) == []
