"""督促状 print file (layout dunning_notice_print) and PDF: the golden file is what the writer makes
of the golden input; the PDF has one page per 督促状 with its amounts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pypdfium2 as pdfium

from jobs.common import config

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "fixtures" / "dunning_notice_print"


def _golden():
    spec = importlib.util.spec_from_file_location("dunning_golden", GOLDEN / "golden_input.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_golden_file_is_what_the_writer_makes():
    got = _golden().build()
    expected = GOLDEN / "dunning.dat"
    if got != expected.read_bytes():
        expected.with_name("dunning.dat_actual").write_bytes(got)
        raise AssertionError("run: python fixtures/dunning_notice_print/golden_input.py and review the diff")


def test_pdf_one_page_per_notice(tmp_path):
    from reports.dunning import render_dunning_notices

    g = _golden()
    stats = render_dunning_notices(g.rows(), config.load("111007", 2026), tmp_path / "t.pdf")
    assert (stats.pages, stats.documents, stats.slips, stats.barcodes) == (2, 2, 2, 1)
    doc = pdfium.PdfDocument(str(tmp_path / "t.pdf"))
    try:
        text = "".join("".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc)))
    finally:
        doc.close()
    assert "督促状" in text and "2,011,500" in text and "11,500" in text
