"""text_document: plain text, Markdown and HTML split by headings into cited passages of a sensible size."""
from __future__ import annotations

import re

import pytest

from knowledge.ingest.text_document import load_text_document
from tests.knowledge.ingest.conftest import load_tokyo, split

OPTIONS = {"name": "テスト文書", "licence": "公式文書", "attribution": "テスト市", "as_of": "2025-02", "id_prefix": "doc"}
PARAGRAPH = "市民の皆さまへのお知らせです。" * 4  # 60 characters


class TestMarkdown:
    def test_heading_path_titles_and_line_citations(self, write):
        path = write("guide.md", (
            "# 子育て支援ガイド\n\n"
            "## 児童手当\n\n" + PARAGRAPH * 4 + "\n\n"
            "### 申請方法\n\n" + PARAGRAPH * 4 + "\n"))
        docs, problems = split(load_text_document(path, "t1", OPTIONS))
        assert problems == []
        assert [d.title for d in docs] == [
            "子育て支援ガイド > 児童手当",
            "子育て支援ガイド > 児童手当 > 申請方法",
        ]
        assert docs[0].doc_id == "doc:guide.md:子育て支援ガイド > 児童手当" and docs[0].kind == "passage"
        assert docs[0].citation == "guide.md lines 5–5" and docs[1].citation == "guide.md lines 9–9"
        assert docs[0].body == PARAGRAPH * 4 and docs[0].meta["heading_path"] == ["子育て支援ガイド", "児童手当"]

    def test_long_sections_are_split_at_paragraphs_and_small_siblings_merged(self, write):
        long_section = "\n\n".join(f"{i}番目の段落。" + PARAGRAPH * 3 for i in range(8))  # ≈ 1,500 characters
        path = write("long.md", (
            "# 手続き\n\n## 転入\n\n" + long_section + "\n\n"
            "## 転出\n\n転出届を出してください。\n\n## 転居\n\n転居届を出してください。\n"))
        docs, _ = split(load_text_document(path, "t1", {**OPTIONS, "min_chars": 200, "max_chars": 800}))
        titles = [d.title for d in docs]
        assert titles[:2] == ["手続き > 転入（1/2）", "手続き > 転入（2/2）"]
        assert all(len(d.body) <= 800 for d in docs)
        assert "".join(d.body for d in docs[:2]).replace("\n", "") == long_section.replace("\n", "")
        assert titles[2] == "手続き > 転出・転居"
        assert docs[2].body == "転出\n\n転出届を出してください。\n\n転居\n\n転居届を出してください。"

    def test_numbered_list_items_in_markdown_are_not_headings(self, write):
        path = write("steps.md", "# 申請の流れ\n\n1. 申請書を書く\n2. 窓口に出す\n\n【注意】本人確認書類が必要です。\n")
        (doc,), _ = split(load_text_document(path, "t1", OPTIONS))
        assert doc.title == "申請の流れ" and "1. 申請書を書く\n2. 窓口に出す" in doc.body

    def test_one_very_long_paragraph_is_cut_at_sentence_ends(self, write):
        path = write("wall.txt", "お知らせ\n\n" + "これは長い文です。" * 200 + "\n")
        docs, _ = split(load_text_document(path, "t1", OPTIONS))
        assert len(docs) > 1 and all(len(d.body) <= 800 and d.body.endswith("。") for d in docs)


class TestPlainText:
    def test_numbered_and_bracketed_headings(self, write):
        path = write("plan.txt", (
            "防災計画\n\n第1章 総則\n\n" + PARAGRAPH * 4 + "\n\n"
            "1. 目的\n\n" + PARAGRAPH * 4 + "\n\n"
            "【避難所】\n\n- ・ " + PARAGRAPH * 4 + "\n"))
        docs, _ = split(load_text_document(path, "t1", OPTIONS))
        assert [d.title for d in docs] == [
            "防災計画 > 第1章 総則", "防災計画 > 第1章 総則 > 1. 目的", "防災計画 > 第1章 総則 > 【避難所】",
        ]

    def test_configured_patterns_rank_first_and_bare_labels_borrow_a_caption(self, write):
        path = write("issues.txt", (
            "論点整理\n\n【課題】\n\n- ・ 窓口をどう変えるか\n\n《意見》\n\n- ・ " + PARAGRAPH * 4 + "\n"))
        options = {**OPTIONS, "heading_patterns": [{"pattern": "^【課題】", "level": 1, "caption": True},
                                                   {"pattern": "^《.+》$", "level": 2}]}
        docs, _ = split(load_text_document(path, "t1", options))
        # The short lead (the question) is folded into its first subsection as context.
        assert [d.title for d in docs] == ["論点整理 > 【課題】 窓口をどう変えるか > 《意見》"]
        assert docs[0].body.startswith("- ・ 窓口をどう変えるか\n\n《意見》")


class TestHtmlAndFolders:
    PAGE = """<!doctype html><html><head><title>ごみの出し方</title><script>var x = "秘密";</script></head>
<body><nav><a href="/">トップ</a> メニュー</nav>
<h1>ごみの出し方</h1>
<h2>粗大ごみ</h2>
<p>粗大ごみは申込制です。</p><p>受付センターに電話してください。</p>
<footer>著作権</footer></body></html>"""

    def test_html_headings_and_no_scripts_or_navigation(self, write):
        docs, problems = split(load_text_document(write("gomi.html", self.PAGE), "t1", OPTIONS))
        assert problems == [] and len(docs) == 1
        doc = docs[0]
        assert doc.title == "ごみの出し方 > 粗大ごみ"
        assert doc.body == "粗大ごみは申込制です。\n\n受付センターに電話してください。"
        assert doc.citation == "gomi.html lines 5–5"
        assert not re.search("秘密|メニュー|著作権", doc.body + doc.title)

    def test_folder_loads_every_document_and_reports_an_unreadable_one(self, write, tmp_path):
        write("docs/a.txt", "お知らせ\n\n" + PARAGRAPH * 4)
        write("docs/sub/b.md", "# 案内\n\n" + PARAGRAPH * 4)
        write("docs/c.html", self.PAGE)
        write("docs/data.csv", "a,b\n1,2\n")
        write("docs/sjis.txt", ("お知らせ\n\n" + PARAGRAPH * 4).encode("cp932"))
        write("docs/broken.md", "# 見出し\n\n".encode() + b"\xff\xfe\xfa\n" + ("本文です。" * 50).encode())
        docs, problems = split(load_text_document(tmp_path / "docs", "t1", OPTIONS))
        assert sorted(d.meta["file"] for d in docs) == ["a.txt", "broken.md", "c.html", "sjis.txt", "sub/b.md"]
        assert [(p.file.rsplit("/", 1)[-1], p.line) for p in problems] == [("broken.md", 3)]
        assert len({d.doc_id for d in docs}) == len(docs)


@pytest.mark.shared
class TestTokyoStrategy:
    @pytest.fixture(scope="class")
    def passages(self, shared_dir):
        docs, problems = load_tokyo("text_document", shared_dir)
        assert problems == []
        return docs, (shared_dir / "seed" / "tokyo-ai-strategy-issues-2025-02.txt").read_text(encoding="utf-8")

    def test_passages_of_sensible_size_with_heading_paths(self, passages):
        docs, _ = passages
        assert 20 <= len(docs) <= 40
        assert all(100 <= len(d.body) <= 800 for d in docs)
        assert len({d.doc_id for d in docs}) == len(docs)
        chatbot = next(d for d in docs if "【次世代チャットボット】" in d.title)
        assert "【都の課題提起】 都民からの問合せなどのフロントサービスにAIを活用することは有効か" in chatbot.title
        assert "次世代チャットボットを実現したい" in chatbot.body and chatbot.citation.startswith("tokyo-ai-strategy-issues-2025-02.txt lines ")

    def test_no_sentence_of_the_document_is_lost(self, passages):
        docs, text = passages
        bodies = "\n".join(d.body for d in docs)
        sentences = [line.replace("**", "").strip() for line in text.splitlines()]
        lost = [s for s in sentences if len(s) > 30 and s not in bodies and s not in " ".join(d.title for d in docs)]
        assert lost == []
