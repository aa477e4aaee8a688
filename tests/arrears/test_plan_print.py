"""分割納付 納付書: the print file (layout arrears_plan_print) and the PDF. The golden file is what the
writer makes of the golden input; its barcodes parse (jobs.common.gs1) to the 期別 and amount of
their 回; the PDF has a cover page per plan and three 納付書 a page."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pypdfium2 as pdfium

from jobs.common import config, gs1

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "fixtures" / "arrears_plan_print"


def _golden():
    spec = importlib.util.spec_from_file_location("arrears_plan_golden", GOLDEN / "golden_input.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_golden_file_is_what_the_writer_makes():
    got = _golden().build()
    expected = GOLDEN / "plan.dat"
    if got != expected.read_bytes():
        expected.with_name("plan.dat_actual").write_bytes(got)
        raise AssertionError("run: python fixtures/arrears_plan_print/golden_input.py and review the diff")


def test_golden_barcodes_name_the_slip_installment_and_amount():
    from reports.print_data import parse_free_field

    cfg = config.load("111007", 2026)
    for r in _golden().rows().iter_rows(named=True):
        if r["barcode"] is None:
            assert r["amount"] > 300_000  # above the コンビニ ceiling
            continue
        b = gs1.parse(r["barcode"])
        assert (b.amount, b.due_date) == (r["amount"], r["due_date"])
        items = parse_free_field(cfg, b.free_field)
        assert int(items["installment_no"]) == r["slip_installment_no"], items
        assert int(items["household_id"]) == int(r["household_id"]) and int(items["fy"]) == r["slip_levy_year"]


def test_pdf_cover_and_slips(tmp_path):
    from reports.arrears_records import render_plan_slips

    stats = render_plan_slips(_golden().rows(), config.load("111007", 2026), tmp_path / "p.pdf",
                              issue_date=dt.date(2026, 9, 15))
    assert (stats.pages, stats.documents, stats.slips, stats.barcodes) == (4, 2, 4, 3)
    doc = pdfium.PdfDocument(str(tmp_path / "p.pdf"))
    try:
        text = "".join("".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc)))
    finally:
        doc.close()
    assert "分割納付" in text and "80,000" in text and "30,000" in text and "2,000,000" in text
