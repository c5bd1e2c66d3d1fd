"""As-of dates as pages print them, and tables written out row by row."""
from __future__ import annotations

import pytest

from knowledge.ingest.dates import http_date, pdf_date, printed_date
from knowledge.ingest.tables import markdown_table_lines, table_lines


@pytest.mark.parametrize("text, expected", [
    ("更新日：2024年4月1日", "2024-04-01"),
    ("最終更新日 2023年12月25日 ページ番号 1234", "2023-12-25"),
    ("掲載日:２０２２年３月９日", "2022-03-09"),
    ("更新日：令和6年4月1日", "2024-04-01"),
    ("令和元年10月1日現在", "2019-10-01"),
    ("平成31年4月30日時点の情報です", "2019-04-30"),
    ("更新日 2024/06/03", "2024-06-03"),
    ("ページ番号 1001 2024年 窓口は 9時から", None),  # no day: not a date
    ("更新日：2024年13月1日", None),
])
def test_printed_dates(text, expected):
    assert printed_date(text) == expected


def test_a_cued_date_wins_over_an_as_of_date():
    assert printed_date("2020年1月1日現在の人口 … 更新日：2024年5月7日") == "2024-05-07"


def test_header_and_metadata_dates():
    assert http_date("Wed, 21 Oct 2015 07:28:00 GMT") == "2015-10-21"
    assert http_date("not a date") is None and http_date(None) is None
    assert pdf_date("D:20240401093000+09'00'") == "2024-04-01"
    assert pdf_date("D:2019") == "2019" and pdf_date("") is None


def test_rows_carry_their_column_names_and_merged_cells_their_value():
    rows = [["区分", "対象", "金額"], ["児童手当", "3歳未満", "15,000円"], [None, "3歳以上", "10,000円"]]
    assert table_lines(rows) == [
        "区分: 児童手当 ／ 対象: 3歳未満 ／ 金額: 15,000円",
        "区分: 児童手当 ／ 対象: 3歳以上 ／ 金額: 10,000円",
    ]


def test_a_wrapped_japanese_cell_is_one_line_and_a_headerless_table_lists_cells():
    rows = [["対象者", "要件"], ["ひとり親\n家庭", "所得制限\nあり"]]
    assert table_lines(rows) == ["対象者: ひとり親家庭 ／ 要件: 所得制限あり"]
    assert table_lines([["", "午前"], ["月曜", "9時"]]) == ["午前", "月曜 ／ 9時"]


def test_markdown_tables_as_trafilatura_writes_them():
    block = ["| 区分 | 手数料 | ", "|---|---|", "| 住民票の写し | 1通 300円 | "]
    assert markdown_table_lines(block) == ["区分: 住民票の写し ／ 手数料: 1通 300円"]
