"""催告書 print file (layout reminder_notice_print) and PDF: the golden file is what the writer makes
of the golden input (checked field by field against the hand-written numbers); the PDF has one 催告書
page per 催告番号 and one 納付書 per 期別, three to a page; the 管理帳票 PDF renders its matrix."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import polars as pl
import pypdfium2 as pdfium

from jobs.common import config
from jobs.common import fixedwidth as fw

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "fixtures" / "reminder_notice_print"


def _golden():
    spec = importlib.util.spec_from_file_location("reminder_golden", GOLDEN / "golden_input.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    try:
        return "".join("".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc)))
    finally:
        doc.close()


def test_golden_file_is_what_the_writer_makes():
    got = _golden().build()
    expected = GOLDEN / "reminder.dat"
    if got != expected.read_bytes():
        expected.with_name("reminder.dat_actual").write_bytes(got)
        raise AssertionError("run: python fixtures/reminder_notice_print/golden_input.py and review the diff")


def test_golden_fields_and_trailer():
    res = fw.read(fw.load_layout("reminder_notice_print"), GOLDEN / "reminder.dat")
    assert res.totals["rejected"] == 0
    data = res.frames["data"]
    assert data["reminder_no"].to_list() == ["1202609100000000001"] * 2 + ["1202609100000000005"]
    assert data["item_seq"].to_list() == [1, 2, 1] and data["item_count"].to_list() == [2, 2, 1]
    assert data["tax_amount"].to_list() == [156_400, 400_000, 2_000_000]
    t = res.frames["trailer"].row(0, named=True)
    assert (t["total_count"], t["tax_total"], t["late_fee_total"], t["reminder_count"]) == (3, 2_556_400, 12_900, 2)
    raw = (GOLDEN / "reminder.dat").read_bytes().split(b"\r\n")
    assert all(len(r) == 400 for r in raw if r)
    assert raw[1][248:292] == b"91912345512026000000000101000026092401564007"  # バーコード 249–292


def test_pdf_pages_slips_barcodes(tmp_path):
    from reports.reminder import render_reminder_notices

    stats = render_reminder_notices(_golden().rows(), config.load("111007", 2026), tmp_path / "t.pdf")
    # 催告書 1 (2 期別) + its slip page, 催告書 2 + its slip page
    assert (stats.pages, stats.documents, stats.slips, stats.barcodes) == (4, 2, 3, 1)
    text = _text(tmp_path / "t.pdf")
    assert "催告書" in text and "556,400" in text and "2,000,000" in text and "11,500" in text


def test_many_installments_fit_one_page(tmp_path):
    from reports.reminder import render_reminder_notices

    g = _golden().rows()
    one = g.slice(0, 1)
    many = pl.concat([one.with_columns(pl.lit(k + 1).alias("installment_no"), pl.lit(k + 1).alias("item_seq"),
                                       pl.lit(20).alias("item_count")) for k in range(20)])
    stats = render_reminder_notices(many, config.load("111007", 2026), tmp_path / "m.pdf")
    assert (stats.documents, stats.slips, stats.pages) == (1, 20, 1 + 7)
    assert "ほか7期" in _text(tmp_path / "m.pdf")


def test_arrears_report_pdf(tmp_path):
    from reports.reminder import render_arrears_report

    matrix = pl.DataFrame({"amount_band": [0, 1], "age_band": [0, 1], "taxpayers": [2, 1], "amount": [15_000, 40_000]})
    plans = pl.DataFrame({"status_label": ["履行中"], "plans": [1], "plan_amount": [90_000], "paid_since": [30_000]})
    pages = render_arrears_report(matrix, {"taxpayers": 3, "amount": 55_000}, plans, config.load("111007", 2026),
                                  tmp_path / "k.pdf", as_of=dt.date(2026, 9, 10),
                                  amount_labels=["0円〜1万円未満", "1万円以上"], age_labels=["0日〜90日未満", "90日以上"])
    assert pages == 1
    text = _text(tmp_path / "k.pdf")
    assert "滞納管理帳票" in text and "55,000" in text and "分割納付履行状況" in text and "90,000" in text
