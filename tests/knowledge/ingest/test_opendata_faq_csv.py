"""opendata_faq_csv: the standard open-data FAQ CSV layout, in UTF-8 (BOM or not) or Shift_JIS/CP932."""
from __future__ import annotations

import pytest

from knowledge.ingest.opendata_faq_csv import load_opendata_faq_csv
from tests.knowledge.ingest.conftest import split

OPTIONS = {"name": "テスト市 よくある質問", "url": "https://city.example/faq/", "licence": "CC BY 4.0",
           "attribution": "テスト市", "as_of": "2024-04", "id_prefix": "test-faq"}
HEADER = "全国地方公共団体コード,ID,地方公共団体名,分類,質問,回答,回答日,所管部署,URL,備考\n"
ROWS = (
    "131016,F001,千代田区,ごみ,粗大ごみはどう出しますか？,受付センターに申し込んでください。,2024-05-01,清掃事務所,https://city.example/sodai,\n"
    '131016,F002,千代田区,戸籍,"住民票の写しは\nどこで取れますか？",区役所の窓口で取れます。,,区民課,,コンビニ交付もあります。\n'
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_standard_layout_in_every_accepted_encoding(write, encoding):
    path = write(f"faq-{encoding}.csv", HEADER + ROWS, encoding=encoding)
    docs, problems = split(load_opendata_faq_csv(path, "t1", OPTIONS))
    assert problems == []
    first, second = docs
    assert (first.doc_id, first.title, first.kind) == ("test-faq:F001", "粗大ごみはどう出しますか？", "faq")
    assert first.body == "受付センターに申し込んでください。"
    assert (first.url, first.as_of, first.licence) == ("https://city.example/sodai", "2024-05-01", "CC BY 4.0")
    assert first.meta["category"] == "ごみ" and first.meta["municipality_code"] == "131016"
    assert first.citation == f"faq-{encoding}.csv:2"
    # A quoted newline keeps the record whole; the row's own URL/date fall back to the source's.
    assert second.title == "住民票の写しは\nどこで取れますか？" and second.body.endswith("備考: コンビニ交付もあります。")
    assert (second.url, second.as_of, second.citation) == ("https://city.example/faq/", "2024-04", f"faq-{encoding}.csv:3")


def test_rows_without_question_or_answer_and_malformed_rows_are_reported(write):
    path = write("faq.csv", HEADER
                 + "131016,F001,千代田区,ごみ,粗大ごみは？,申し込んでください。,,,,\n"
                 + "131016,F002,千代田区,ごみ,,回答だけあります。,,,,\n"           # line 3: no 質問
                 + "131016,F003,千代田区,ごみ,質問だけあります。,,,,,\n"           # line 4: no 回答
                 + '131016,F004,千代田区,ごみ,"壊れた"引用,回答,,,,\n'             # line 5: malformed
                 + "131016,F005,千代田区\n"                                        # line 6: too few fields
                 + "131016,F006,千代田区,ごみ,犬のふんは？,可燃ごみです。,,,,\n")
    docs, problems = split(load_opendata_faq_csv(path, "t1", OPTIONS))
    assert [d.doc_id for d in docs] == ["test-faq:F001", "test-faq:F006"]
    assert [(p.line, p.reason.split(";")[0]) for p in problems] == [
        (3, "row without 質問"), (4, "row without 回答"),
        (5, "malformed CSV row: ',' expected after '\"'"), (6, "expected 10 fields, got 3"),
    ]
    assert all(p.file == str(path) for p in problems)


def test_missing_answer_column_is_one_problem(write):
    path = write("faq.csv", "ID,質問,答え合わせ\n1,質問です,何か\n")
    docs, problems = split(load_opendata_faq_csv(path, "t1", OPTIONS))
    assert docs == [] and len(problems) == 1 and problems[0].line == 1 and "answer" in problems[0].reason


def test_configured_column_names_and_question_as_id(write):
    path = write("faq.csv", "Q,A\n開庁時間は？,平日8時30分から17時15分です。\n開庁時間は？,土日は閉庁です。\n")
    options = {**OPTIONS, "columns": {"question": "Q", "answer": "A"}}
    docs, problems = split(load_opendata_faq_csv(path, "t1", options))
    assert problems == [] and [d.doc_id for d in docs] == ["test-faq:開庁時間は？", "test-faq:開庁時間は？#2"]


def test_invalid_encoding_loses_only_the_bad_line(write):
    content = (HEADER + ROWS.splitlines()[0] + "\n").encode() + b"131016,F9,\xff\xfe,x,y,z,,,,\n" + \
        "131016,F010,千代田区,ごみ,犬のふんは？,可燃ごみです。,,,,\n".encode()
    docs, problems = split(load_opendata_faq_csv(write("faq.csv", content), "t1", OPTIONS))
    assert [d.doc_id for d in docs] == ["test-faq:F001", "test-faq:F010"]
    assert [(p.line, "invalid" in p.reason) for p in problems] == [(3, True)]


def test_folder_loads_every_csv(write, tmp_path):
    write("faqs/a.csv", HEADER + ROWS)
    write("faqs/b.csv", HEADER + ROWS, encoding="cp932")
    write("faqs/readme.txt", "not a csv")
    docs, problems = split(load_opendata_faq_csv(tmp_path / "faqs", "t1", {**OPTIONS, "id_prefix": None}))
    assert problems == [] and [d.doc_id for d in docs] == ["a:F001", "a:F002", "b:F001", "b:F002"]
