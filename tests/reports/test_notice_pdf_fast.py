"""The fast paths of the notice PDFs write what reportlab's own calls write: text and bold
operators, the barcode path, and pages formatted from a template (the same bytes as reportlab's
page formatting)."""

from __future__ import annotations

import pytest
from reportlab.lib.units import mm

from reports import notices
from reports.notices import barcodes
from reports.notices.primitives import PAGE_H, PdfWriter

STRINGS = ["令和8年度", "12,345", "△1,000", "", "(括弧) \\ back", "国民健康保険税　様", "〒330-0443",
           "0000000466-000", "令和8年度", "12,345", "ｱｲｳ\u00a0x", "第10期", "鬱蒼𠮷",
           # more than one font subset (256 codes each) in one string, then again
           "".join(chr(0x4E00 + 3 * k) for k in range(400)) + "12,345", "".join(chr(0x4E00 + 5 * k) for k in range(200))]


class _Plain(notices.NoticeWriter):
    """The notices with reportlab's page formatting."""

    fast_pages = False


def _render(cls, frame, cfg, path):
    with cls(cfg, path) as w:
        for row in frame.iter_rows(named=True):
            w.add(row)
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["initial", "change"])
def test_fast_pages_write_the_same_bytes(tmp_path, initial_frame, change_frame, cfg, kind):
    frame = initial_frame if kind == "initial" else change_frame
    fast = _render(notices.NoticeWriter, frame, cfg, tmp_path / "fast.pdf")
    plain = _render(_Plain, frame, cfg, tmp_path / "plain.pdf")
    assert fast == plain


def _reference_text(w: PdfWriter, x, y, s, size, align):
    """PdfWriter.text as it was: the whole string split by TTFont.splitString."""
    if not s:
        return
    from reportlab.pdfbase import pdfmetrics

    px = x * mm
    if align != "l":
        wd = pdfmetrics.stringWidth(s, w.font, size)
        px -= wd if align == "r" else wd / 2
    doc, parts, current = w.c._doc, [], None
    for subset, chunk in w.ttf.splitString(s, doc):
        if subset != current:
            parts.append(f"{w.ttf.getSubsetInternalName(subset, doc)} {size:g} Tf")
            current = subset
        parts.append(f"({w.c._escape(chunk)}) Tj")
    w.c.addLiteral(f"BT {px:.2f} {PAGE_H - y * mm:.2f} Td {' '.join(parts)} ET")


def _reference_bold(w: PdfWriter, x, y, s, size, align):
    """PdfWriter.bold as it was: reportlab's text object."""
    from reportlab.pdfbase import pdfmetrics

    c = w.c
    wd = pdfmetrics.stringWidth(s, w.font, size)
    px = x * mm - (wd if align == "r" else wd / 2 if align == "c" else 0)
    t = c.beginText(px, PAGE_H - y * mm)
    t.setFont(w.font, size)
    t.setTextRenderMode(2)
    c.setLineWidth(size * 0.03)
    t.textOut(s)
    t.setTextRenderMode(0)
    c.drawText(t)
    c.setLineWidth(0.5)


def test_text_fit_and_bold_write_reportlab_operators(tmp_path, cfg):
    fast, ref = PdfWriter(cfg, tmp_path / "a.pdf"), PdfWriter(cfg, tmp_path / "b.pdf")
    for w in (fast, ref):
        w.open_canvas("t", "a", "c")
    for k, s in enumerate(STRINGS * 2):
        size = (9, 8.5, 13, 6.03505)[k % 4]
        align = "lrc"[k % 3]
        x, y = 20 + k, 30 + 2 * k
        fast.text(x, y, s, size, align)
        _reference_text(ref, x, y, s, size, align)
        fast.bold(x, y, s, size, align)
        _reference_bold(ref, x, y, s, size, align)
        fast.fit(x, y, s, 10, size, align)
        wd = ref.ttf.stringWidth(s, size) / mm
        _reference_text(ref, x, y, s, max(5, size * 10 / wd) if wd > 10 else size, align)
    assert fast.c._code == ref.c._code
    assert fast.c._lineWidth == ref.c._lineWidth


def test_barcode_path_is_the_bars(tmp_path, cfg, initial_frame):
    w = PdfWriter(cfg, tmp_path / "a.pdf")
    c = w.open_canvas("t", "a", "c")
    codes = [row[f"ordinary_{i}_barcode"] for row in initial_frame.iter_rows(named=True) for i in range(1, 11)
             if row[f"ordinary_{i}_barcode"]]
    assert codes
    for code in codes:
        n = len(c._code)
        barcodes.draw(c, 6, 69, code, module=0.72, bar_height=34.0157, quiet=10)
        rects = " ".join(f"{o} 0 {wd} 1 re" for o, wd in barcodes.bars(code))
        left, base = 6 * mm + 10 * 0.72, PAGE_H - 69 * mm
        assert c._code[n:] == [f"q {0.72:.4f} 0 0 {34.0157:.4f} {left:.3f} {base:.3f} cm {rects} f Q"]
        assert barcodes.symbol_values(code) == barcodes.reportlab_symbol_values(code)


def test_garbage_collector_paused_only_while_writing(tmp_path, initial_frame, cfg):
    import gc

    assert gc.isenabled()
    with notices.NoticeWriter(cfg, tmp_path / "a.pdf") as w:
        assert not gc.isenabled()
        w.add(next(initial_frame.iter_rows(named=True)))
    assert gc.isenabled()
    with pytest.raises(RuntimeError), notices.NoticeWriter(cfg, tmp_path / "b.pdf"):
        raise RuntimeError("stop")
    assert gc.isenabled() and not (tmp_path / "b.pdf").exists()
    gc.disable()
    try:  # a caller that paused it itself keeps it paused
        notices.render_pdf(initial_frame.head(1), cfg, tmp_path / "c.pdf")
        assert not gc.isenabled()
    finally:
        gc.enable()
