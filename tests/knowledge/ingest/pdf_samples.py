"""PDFs made by the tests (reportlab and its built-in Japanese CID fonts, so no font file is needed): a municipal
fee guide of several pages with running headers and footers, a fee table, full-width characters, wrapped lines,
vertical text; and a scan (an image, no text layer). Shared with bench/content.py."""
from __future__ import annotations

import io

GOTHIC = "HeiseiKakuGo-W5"
MINCHO_VERTICAL = "HeiseiMin-W3-V"

FEE_ROWS = [
    ["区分", "手数料", "備考"],
    ["住民票の写し", "1通 300円", "コンビニ交付は200円"],
    ["印鑑登録証明書", "1通 300円", ""],
    ["戸籍全部事項証明書", "1通 450円", "本籍地のみ"],
    ["課税証明書", "1通 300円", "前年の所得"],
]
VERTICAL_LINES = ["縦書きのお知らせ。", "窓口の受付は午前八時半から", "午後五時までです。"]


def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    registered = pdfmetrics.getRegisteredFontNames()
    if GOTHIC not in registered:
        pdfmetrics.registerFont(UnicodeCIDFont(GOTHIC))
    if MINCHO_VERTICAL not in registered:
        font = UnicodeCIDFont("HeiseiMin-W3", isVertical=True)
        font.name = font.fontName = MINCHO_VERTICAL
        pdfmetrics.registerFont(font)


def _page_frame(canvas, page: int, title: str) -> None:
    from reportlab.lib.pagesizes import A4

    width, height = A4
    canvas.setFont(GOTHIC, 8)
    canvas.drawString(40, height - 28, f"{title}　○○市 市民課")  # running header
    canvas.drawCentredString(width / 2, 24, f"- {page} -")  # page number
    canvas.drawRightString(width - 40, 24, "○○市役所 電話 012-345-6789")  # running footer


def _paragraph(canvas, x: float, y: float, text: str, per_line: int = 38, size: float = 10.5) -> float:
    """Text wrapped every `per_line` characters (cutting words, as page layout does); returns the next y."""
    canvas.setFont(GOTHIC, size)
    for start in range(0, len(text), per_line):
        canvas.drawString(x, y, text[start:start + per_line])
        y -= size * 1.5
    return y - size * 0.8


def _heading(canvas, x: float, y: float, text: str, size: float = 15) -> float:
    canvas.setFont(GOTHIC, size)
    canvas.drawString(x, y, text)
    return y - size * 2


def _table(canvas, x: float, y: float, rows: list[list[str]]) -> float:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), GOTHIC, 10),
                               ("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    _, height = table.wrapOn(canvas, 500, 800)
    table.drawOn(canvas, x, y - height)
    return y - height - 20


def fee_guide_pdf(title: str = "証明書の手数料のご案内", with_metadata_title: bool = True) -> bytes:
    """Three pages: a fee table (page 1), the ways to apply (page 2, wrapped text with full-width letters and
    digits), and a vertical notice (page 3). Running header and footer on every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas as pdf_canvas

    _fonts()
    out = io.BytesIO()
    canvas = pdf_canvas.Canvas(out, pagesize=A4)
    if with_metadata_title:
        canvas.setTitle(title)
    _, height = A4
    # Page 1: title, as-of date, the fee table.
    _page_frame(canvas, 1, title)
    y = _heading(canvas, 50, height - 80, title, size=20)
    y = _paragraph(canvas, 50, y, "令和6年4月1日現在")
    y = _heading(canvas, 50, y, "第1章 証明書の手数料")
    y = _paragraph(canvas, 50, y, "市民課の窓口で交付する証明書の手数料は次のとおりです。手数料は現金のほか、"
                   "キャッシュレス決済でもお支払いいただけます。")
    _table(canvas, 50, y, FEE_ROWS)
    canvas.showPage()
    # Page 2: wrapped paragraphs with full-width letters and digits, half-width katakana.
    _page_frame(canvas, 2, title)
    y = _heading(canvas, 50, height - 80, "第2章 請求の方法")
    y = _heading(canvas, 50, y, "（1）窓口での請求", size=12.5)
    y = _paragraph(canvas, 50, y, "本庁舎１階の市民課窓口、または各支所で請求できます。"
                   "本人確認書類（マイナンバーカード、運転免許証など）をお持ちください。"
                   "受付番号はＡ１２３のように表示されます。")
    y = _heading(canvas, 50, y, "（2）郵送での請求", size=12.5)
    y = _paragraph(canvas, 50, y, "請求書、本人確認書類の写し、定額小為替、切手を貼った返信用封筒を同封して、"
                   "市民課郵送担当へお送りください。ｺﾝﾋﾞﾆ交付はマイナンバーカードで利用できます。")
    canvas.showPage()
    # Page 3: a vertical notice (縦書き), columns right to left.
    _page_frame(canvas, 3, title)
    canvas.setFont(MINCHO_VERTICAL, 12)
    x = 520
    for line in VERTICAL_LINES:
        canvas.drawString(x, height - 90, line)
        x -= 22
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def scanned_pdf() -> bytes:
    """One page holding only an image of a page: no text layer at all."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas as pdf_canvas

    image = Image.new("L", (400, 560), 255)
    draw = ImageDraw.Draw(image)
    for row in range(40, 520, 24):
        draw.rectangle((40, row, 360, row + 10), fill=40)  # what lines of text look like on a scan
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    out = io.BytesIO()
    canvas = pdf_canvas.Canvas(out, pagesize=A4)
    canvas.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), 50, 100, width=400, height=560)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def simple_pdf(lines: list[str], title: str | None = None) -> bytes:
    """One page of plain lines (for websites that link a small PDF)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas as pdf_canvas

    _fonts()
    out = io.BytesIO()
    canvas = pdf_canvas.Canvas(out, pagesize=A4, invariant=1)
    if title:
        canvas.setTitle(title)
    _, height = A4
    y = height - 80
    for line in lines:
        y = _paragraph(canvas, 50, y, line)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
