"""The PDFs (reports.notices): pages rendered to PNG (pdfium), the text of each page, embedded
TrueType fonts, and the GS1-128 barcodes (symbol values, bars decoded back to the 44 digits,
the human-readable line; an image decode with zxing-cpp when it is installed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import pypdfium2 as pdfium
import pytest
from pdf_helpers import flat as _flat
from pdf_helpers import fonts as _fonts
from pdf_helpers import page_texts as _texts

from jobs.common import config, gs1
from reports import notices
from reports.notices import NoticeError, Wareki

CEILING = 300_000


def _png(path: Path, page: int, out: Path, dpi: int = 100):
    doc = pdfium.PdfDocument(str(path))
    try:
        img = doc[page].render(scale=dpi / 72).to_pil()
    finally:
        doc.close()
    img.save(out)
    return img


# --- pages and text -------------------------------------------------------------------------------


def test_page_count_and_documents(rendered, initial_frame):
    path, stats = rendered["initial"]
    expected = sum(notices.pages_per_notice(r) for r in initial_frame.iter_rows(named=True))
    assert stats.pages == expected == len(_texts(path))
    # 5 notices; 特別徴収開始通知書 for H2 and H3; 納付書: H1 10 slips (4 pages), H3 3 (1), H4 3 (1)
    assert stats.by_document == {"notice": 5, "withholding_start": 2, "slips": 6}
    assert stats.slips == 16 and stats.barcodes == 13


def test_tax_notice_page_text(rendered, initial_frame):
    path, _ = rendered["initial"]
    pages = [_flat(t) for t in _texts(path)]
    notice_pages = [p for p in pages if "国民健康保険税納税通知書" in p]
    assert len(notice_pages) == 5
    h1 = next(p for p in notice_pages if "山田太郎様" in p)
    for expected in ("令和8年度国民健康保険税納税通知書", "〒330-0063", "埼玉県さいたま市浦和区高砂一丁目１番１号", "高砂ハイツ１０１号室",
                     "0000100001-000", "令和8年6月15日", "さいたま市長", "2割軽減／普通徴収",
                     "年税額", "266,200", "165,600", "84,210", "22,200",
                     "第1期令和8年6月30日32,200", "第5期令和8年11月2日26,000", "第7期令和9年1月4日26,000",
                     "第10期令和9年3月31日26,000", "計266,200", "該当なし", "審査請求", "問い合わせ先", "048-000-0000"):
        assert expected in h1, expected
    # 2方式 city: no 資産割 / 平等割 rows (config/municipalities/111007/notices.yaml detail_items)
    assert "資産割額" not in h1 and "平等割額" not in h1
    h4 = next(p for p in notice_pages if "髙橋健太様" in p)
    assert "△705,000" in h4 and "53,000" in h4 and "1,090,000" in h4 and "第8期令和9年2月1日364,000" in h4
    h2 = next(p for p in notice_pages if "鈴木花子様" in p)
    assert "4月仮徴収2,900" in h2 and "10月本徴収2,500" in h2 and "7割軽減／特別徴収" in h2


def test_withholding_start_notice_text(rendered):
    path, _ = rendered["initial"]
    pages = [_flat(t) for t in _texts(path) if "特別徴収開始通知書" in t]
    assert len(pages) == 2
    h3 = next(p for p in pages if "佐藤一郎様" in p)
    assert "本徴収10月令和8年10月15日40,000" in h3 and "計80,000" in h3
    assert "普通徴収分161,100円" in h3
    h2 = next(p for p in pages if "鈴木花子様" in p)
    assert "仮徴収8月令和8年8月14日2,500" in h2 and "15,400" in h2


def test_payment_slip_text(rendered):
    path, _ = rendered["initial"]
    slips = [_flat(t) for t in _texts(path) if "領収証書" in t]
    assert len(slips) == 6
    first = slips[0] if "山田太郎" in slips[0] else next(p for p in slips if "山田太郎" in p)
    assert "国民健康保険税納付書" in first and "第1期" in first and "32,200" in first and "令和8年6月30日" in first
    h4 = next(p for p in slips if "髙橋健太" in p)
    assert "コンビニエンスストアでは使用できません" in h4 and "364,000" in h4


def test_change_notice_text(rendered):
    path, stats = rendered["change"]
    pages = [_flat(t) for t in _texts(path)]
    notices_ = [p for p in pages if "税額変更通知書" in p]
    assert len(notices_) == 2 and stats.by_document["withholding_start"] == 0
    h1 = next(p for p in notices_ if "山田太郎様" in p)
    for expected in ("0000100001-001", "令和8年7月15日", "変更前年税額266,200円", "+36,000円", "302,200",
                     "第1期令和8年6月30日32,20032,2000", "第2期令和8年7月31日26,00030,000+4,000", "計266,200302,200+36,000"):
        assert expected in h1, expected
    h3 = next(p for p in notices_ if "佐藤一郎様" in p)
    assert "△18,000円" in h3 and "第2期令和8年7月31日40,00031,000△9,000" in h3
    # 変更: slips only for installments not yet due at the issue date (H1 第2期〜第10期, H3 第2期・第3期)
    assert stats.slips == 9 + 2


def test_pages_render_to_png(rendered, tmp_path):
    """Every page renders; the 宛名 window area and the table carry ink."""
    path, stats = rendered["initial"]
    for k in range(stats.pages):
        img = _png(path, k, tmp_path / f"p{k + 1}.png", dpi=50)
        assert abs(img.size[0] - 413) <= 1 and abs(img.size[1] - 585) <= 1  # A4 at 50 dpi
    img = _png(path, 0, tmp_path / "notice.png", dpi=100).convert("L")
    px = 100 / 25.4
    window = img.crop((int(23 * px), int(13 * px), int(113 * px), int(58 * px)))
    assert window.getextrema()[0] < 80  # dark text in the window
    assert (tmp_path / "notice.png").stat().st_size > 20_000


def test_fonts_are_embedded_truetype(rendered):
    for kind in ("initial", "change"):
        path, _ = rendered[kind]
        fonts = _fonts(path)
        assert fonts == {("IPAexGothic", 1)}, fonts
        raw = path.read_bytes()
        assert b"/FontFile2" in raw and b"/CIDFontType0" not in raw and b"HeiseiKakuGo" not in raw


def test_output_is_deterministic(tmp_path, initial_frame, cfg):
    a = notices.render_pdf(initial_frame.head(2), cfg, tmp_path / "a.pdf")
    b = notices.render_pdf(initial_frame.head(2), cfg, tmp_path / "b.pdf")
    assert a.pages == b.pages and (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_documents_selection_and_atomic_failure(tmp_path, initial_frame, cfg):
    s = notices.render_pdf(initial_frame, cfg, tmp_path / "slips.pdf", documents=("slips",))
    assert s.by_document == {"notice": 0, "withholding_start": 0, "slips": 6}
    with pytest.raises(NoticeError):
        notices.render_pdf(initial_frame, cfg, tmp_path / "x.pdf", documents=("poster",))
    broken = initial_frame.with_columns(pl.lit(None, pl.String).alias("notice_no"))
    with pytest.raises(TypeError):
        notices.render_pdf(broken, cfg, tmp_path / "out" / "broken.pdf")
    assert list((tmp_path / "out").iterdir()) == []


def test_missing_font_and_el_qr_refused(tmp_path, initial_frame, cfg):
    nofont = dataclasses.replace(cfg, data=config.deep_merge(cfg.data, {"notices": {"fonts": {"gothic": "nowhere.ttf"}}}))
    with pytest.raises(NoticeError, match="フォント"):
        notices.render_pdf(initial_frame, nofont, tmp_path / "a.pdf")
    qr = dataclasses.replace(cfg, data=config.deep_merge(cfg.data, {"notices": {"el_qr": {"enabled": True}}}))
    with pytest.raises(NoticeError, match="eL-QR"):
        notices.render_pdf(initial_frame, qr, tmp_path / "b.pdf")


# --- barcodes ----------------------------------------------------------------------------------------


def _decode_bars(bars: list[tuple[int, int]]) -> list[int]:
    """Bars (offset, width in modules) → Code 128 symbol values: each symbol is 11 modules (STOP
    13) of bar/space elements, looked up in the Code 128 pattern table."""
    from reportlab.graphics.barcode.code128 import _patterns

    by_widths = {tuple(ord(c.upper()) - 64 for c in p): v for v, p in _patterns.items()}
    total = bars[-1][0] + bars[-1][1]
    n_symbols = (total - 13) // 11 + 1
    groups: dict[int, list[tuple[int, int]]] = {}
    for o, w in bars:
        groups.setdefault(min(o // 11, n_symbols - 1), []).append((o, w))
    values = []
    for k in range(n_symbols):
        g = groups[k]
        widths = []
        for j, (o, w) in enumerate(g):
            widths.append(w)
            if j + 1 < len(g):
                widths.append(g[j + 1][0] - o - w)
        if k < n_symbols - 1:
            widths.append(11 * (k + 1) - (g[-1][0] + g[-1][1]))
        values.append(by_widths[tuple(widths)])
    return values


def test_barcodes_drawn_are_the_print_file_data(rendered, initial_frame):
    _, stats = rendered["initial"]
    frame = {r["household_id"]: r for r in initial_frame.iter_rows(named=True)}
    assert len(stats.drawn_barcodes) == 13
    for _page, hid, slot, code in stats.drawn_barcodes:
        row = frame[hid]
        assert code == row[f"ordinary_{slot}_barcode"]
        bc = gs1.parse(code, max_amount=CEILING)
        assert bc.amount == row[f"ordinary_{slot}_amount"] and bc.due_date == row[f"ordinary_{slot}_due_date"]
        assert bc.company_code == "912345" and bc.free_field[6:16] == hid


def test_symbol_is_gs1_128_and_decodes_back(rendered):
    _, stats = rendered["initial"]
    for *_, code in stats.drawn_barcodes:
        values = notices.symbol_values(code)
        assert values == notices.reportlab_symbol_values(code)  # reportlab's Code128 with FNC1
        assert values[:2] == [105, 102] and values[-1] == 106  # START C, FNC1 … STOP
        check = (values[0] + sum(i * v for i, v in enumerate(values[1:-2], start=1))) % 103
        assert values[-2] == check
        decoded = _decode_bars(notices.bars(code))
        assert decoded == values
        assert "".join(f"{v:02d}" for v in decoded[2:-2]) == code
        assert notices.symbol_width_modules(code) == 11 * 25 + 13


def test_human_readable_line_under_each_barcode(rendered):
    """The HRI line (spaced as gs1.human_readable) is drawn, on a line of its own."""
    path, stats = rendered["initial"]
    doc = pdfium.PdfDocument(str(path))
    try:
        raw = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()
    lines = [t.split("\n") for t in _texts(path)]
    for page, _hid, _slot, code in stats.drawn_barcodes:
        assert gs1.human_readable(code) in raw[page - 1]
        assert code in lines[page - 1]


def test_barcode_image_decodes_with_zxing(rendered):
    import zxingcpp  # a test dependency (pyproject [test]): missing fails, not skips
    path, stats = rendered["initial"]
    page = stats.drawn_barcodes[0][0]
    doc = pdfium.PdfDocument(str(path))
    try:
        img = doc[page - 1].render(scale=300 / 72).to_pil()
    finally:
        doc.close()
    found = zxingcpp.read_barcodes(img)
    on_page = sorted(c for p, _h, _s, c in stats.drawn_barcodes if p == page)
    assert sorted(r.text.replace("(91)", "91") for r in found) == on_page
    assert {r.symbology_identifier for r in found} == {"]C1"}  # Code 128 with FNC1 first = GS1-128


# --- formatting -------------------------------------------------------------------------------------


def test_wareki(cfg):
    w = Wareki(cfg.get("eras"))
    assert w.date(dt.date(2019, 4, 30)) == "平成31年4月30日"
    assert w.date(dt.date(2019, 5, 1)) == "令和元年5月1日"
    assert w.date(dt.date(2027, 1, 4)) == "令和9年1月4日"
    start = cfg.get("calendar.fiscal_year_start")
    assert w.fiscal_year(2026, start) == "令和8年度" and w.fiscal_year(2020, start) == "令和2年度"
    with pytest.raises(NoticeError):
        w.date(dt.date(1868, 1, 1))


def test_wrap_keeps_every_character():
    font = notices.register_font(config.load("111007", 2026))
    text = "この処分に不服がある場合は、この通知を受け取った日の翌日から起算して3か月以内に審査請求をすることができます。" * 3
    lines = notices.wrap_lines(text, font, 7, 60)
    assert "".join(lines) == text and len(lines) > 3
