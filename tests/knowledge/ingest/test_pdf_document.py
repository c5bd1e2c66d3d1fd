"""The PDF loader on PDFs the tests make: a fee guide of three pages (fee table, running header and footer,
full-width characters, wrapped lines, vertical text) and a scan without a text layer."""
from __future__ import annotations

import unicodedata

import pytest

from config.tenancy import SourceSpec
from knowledge.ingest.base import load_source
from knowledge.ingest.pdf_document import pdf_items
from tests.knowledge.ingest.conftest import split
from tests.knowledge.ingest.pdf_samples import FEE_ROWS, VERTICAL_LINES, fee_guide_pdf, scanned_pdf, simple_pdf

URL = "https://www.city.example.lg.jp/material/files/fees.pdf"


@pytest.fixture(scope="module")
def fee_guide():
    docs, problems = split(pdf_items(fee_guide_pdf(), "fees.pdf", "t1", {"name": "手数料のご案内"}, url=URL))
    assert not problems
    return docs


def by_page(docs, page):
    return [d for d in docs if d.meta["page"] == page]


def test_every_passage_cites_its_file_and_page_and_links_to_the_page(fee_guide):
    assert sorted({d.meta["page"] for d in fee_guide}) == [1, 2, 3]
    for doc in fee_guide:
        assert doc.citation == f"fees.pdf p.{doc.meta['page']}"
        assert doc.url == f"{URL}#page={doc.meta['page']}"


def test_the_printed_as_of_date_is_the_documents_date(fee_guide):
    # 「令和6年4月1日現在」 on page 1 (the PDF's own metadata date is today's).
    assert {d.as_of for d in fee_guide} == {"2024-04-01"}


def test_fee_table_rows_keep_their_column_names(fee_guide):
    body = "\n".join(d.body for d in by_page(fee_guide, 1))
    header = FEE_ROWS[0]
    for row in FEE_ROWS[1:]:
        line = next(line for line in body.splitlines() if f"{header[0]}: {row[0]}" in line)
        assert f"{header[1]}: {row[1]}" in line  # the fee is on the row of its certificate
        if row[2]:
            assert f"{header[2]}: {row[2]}" in line


def test_passages_split_by_headings_with_their_path(fee_guide):
    titles = [d.title for d in fee_guide]
    assert any(t.endswith("第1章 証明書の手数料") for t in titles)
    page2 = by_page(fee_guide, 2)
    assert all("第2章 請求の方法" in d.title for d in page2)
    assert any("(1)窓口での請求" in d.title for d in page2)
    assert all(t.startswith("証明書の手数料のご案内") for t in titles)


def test_running_headers_footers_and_page_numbers_are_removed(fee_guide):
    for doc in fee_guide:
        assert "○○市 市民課" not in doc.body
        assert "012-345-6789" not in doc.body
        assert not any(line.strip().startswith("- ") and line.strip().endswith(" -") for line in doc.body.splitlines())


def test_full_width_forms_are_normalised_and_wrapped_lines_joined(fee_guide):
    body = "\n".join(d.body for d in by_page(fee_guide, 2))
    assert "受付番号はA123のように表示されます。" in body and "Ａ１２３" not in body
    assert "本庁舎1階" in body and "コンビニ交付" in body and "ｺﾝﾋﾞﾆ" not in body
    # The paragraph was drawn in lines of 38 characters, cutting words: it reads as one paragraph again.
    paragraph = unicodedata.normalize("NFKC", "本庁舎１階の市民課窓口、または各支所で請求できます。"
                                               "本人確認書類（マイナンバーカード、運転免許証など）をお持ちください。")
    assert paragraph in body


def test_vertical_text_reads_top_to_bottom_columns_right_to_left(fee_guide):
    body = "\n".join(d.body for d in by_page(fee_guide, 3))
    assert VERTICAL_LINES[0] in body
    assert VERTICAL_LINES[1] + VERTICAL_LINES[2] in body  # a column wrapped at the page's height is joined too


def test_a_scanned_pdf_is_reported_and_skipped_not_indexed_empty():
    docs, problems = split(pdf_items(scanned_pdf(), "scan.pdf", "t1", {}))
    assert docs == []
    (problem,) = problems
    assert problem.file == "scan.pdf" and "no text layer" in problem.reason and "OCR" in problem.reason


def test_a_damaged_file_is_a_problem_not_a_crash():
    docs, problems = split(pdf_items(b"%PDF-1.4 this is not really a pdf", "broken.pdf", "t1", {}))
    assert docs == [] and "not a readable PDF" in problems[0].reason


def test_a_configured_as_of_wins_and_metadata_title_names_the_document():
    docs, _ = split(pdf_items(simple_pdf(["子育て支援のお知らせです。"], title="子育て支援"), "kosodate.pdf", "t1",
                              {"as_of": "2025-01"}))
    (doc,) = docs
    assert doc.as_of == "2025-01" and doc.title.startswith("子育て支援") and doc.url is None


def test_loader_reads_a_directory_with_a_base_url(tmp_path):
    folder = tmp_path / "pdfs"
    (folder / "sub").mkdir(parents=True)
    (folder / "fees.pdf").write_bytes(fee_guide_pdf())
    (folder / "sub" / "scan.pdf").write_bytes(scanned_pdf())
    spec = SourceSpec("pdf_document", str(folder), {"name": "市の資料", "base_url": "https://city.example.jp/docs/",
                                                    "id_prefix": "docs"})
    docs, problems = split(load_source(spec, "t1", tmp_path))
    assert {d.meta["file"] for d in docs} == {"fees.pdf"}
    assert all(d.doc_id.startswith("docs:fees.pdf:p") for d in docs)
    assert docs[0].url.startswith("https://city.example.jp/docs/fees.pdf#page=")
    assert [p.file for p in problems] == ["sub/scan.pdf"]
