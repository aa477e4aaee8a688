"""PDFs of the notices (reportlab): 納税通知書, 税額変更通知書, 特別徴収開始通知書 and 納付書.

    frame = print_data.notice_frame(assessment, installments, addresses, cfg, issue_date=d)
    stats = render_pdf(frame, cfg, "var/reports/notices.pdf")

Each row of the notice frame (the same rows the print-data file carries) becomes, in order:

- 納税通知書 (通知区分 1) or 税額変更通知書 (通知区分 2): one A4 page — 宛名 in the window of a
  three-fold 長3 envelope, 通知者, the 税額の内訳 table (component × item), 年税額, the installment
  tables (普通徴収: 期別 / 納期限 / 税額; 特別徴収: 徴収月 / 税額), 教示 and 問い合わせ先;
- 特別徴収開始通知書 when the household has pension withholdings (当初 only);
- 納付書: one slip per ordinary installment with an amount (変更: those not yet due at the issue
  date), three to an A4 page, each with its GS1-128 コンビニ barcode (START C, FNC1, the 44 digits
  of the print file) and the human-readable line under it.

The package, one module per part:

- ``primitives``: the font, 和暦 / number formatting, ``PdfWriter`` (atomic file, text, boxes,
  tables, form XObjects) — also the base of the collection reports (``reports.collection``);
- ``barcodes``: the GS1-128 symbol (values, bars, drawing);
- ``page``: the parts every notice page shares (宛名, 通知者, 年度 / 通知書番号, 教示);
- ``tax_notice`` (納税通知書), ``change_notice`` (税額変更通知書), ``withholding_start``
  (特別徴収開始通知書), ``payment_slip`` (納付書): one module per document;
- ``writer``: ``NoticeWriter``, ``render_pdf``, ``write_notice_pdf``.

This module keeps the names callers use (``from reports import notices``).

Fonts: a TrueType font from ``notices.fonts.gothic`` (IPAexゴシック, reports/fonts/) embedded as
subsets — never the non-embedded CID fonts. Static parts of each page (frames, labels) are drawn
once per PDF as form XObjects and reused, which keeps a page to a few milliseconds. Output is
deterministic (reportlab invariant mode) and written atomically (temporary file, then rename).
"""

from __future__ import annotations

from ..print_data import NoticeError
from .barcodes import (
    CODE128_FNC1,
    FNC1,
    START_C,
    STOP,
    bars,
    reportlab_symbol_values,
    symbol_values,
    symbol_width_modules,
)
from .change_notice import CHANGE_BOX_WIDTHS
from .primitives import (
    PAGE_H,
    PAGE_W,
    PdfWriter,
    Wareki,
    char_width,
    font_path,
    postal,
    register_font,
    signed,
    triangle,
    wrap_lines,
    yen,
)
from .tax_notice import (
    DEDUCTIONS,
    ITEM_LABELS,
    METHOD_LABELS,
    ORDINARY_WIDTHS,
    REDUCTION_LABELS,
    WITHHOLDING_WIDTHS,
)
from .writer import DOCUMENTS, NoticeWriter, RenderStats, pages_per_notice, render_pdf, write_notice_pdf

__all__ = [
    "CHANGE_BOX_WIDTHS", "CODE128_FNC1", "DEDUCTIONS", "DOCUMENTS", "FNC1", "ITEM_LABELS", "METHOD_LABELS",
    "ORDINARY_WIDTHS", "PAGE_H", "PAGE_W", "REDUCTION_LABELS", "START_C", "STOP", "WITHHOLDING_WIDTHS",
    "NoticeError", "NoticeWriter", "PdfWriter", "RenderStats", "Wareki", "bars", "char_width", "font_path",
    "pages_per_notice", "postal", "register_font", "render_pdf", "reportlab_symbol_values", "signed",
    "symbol_values", "symbol_width_modules", "triangle", "wrap_lines", "write_notice_pdf", "yen",
]
