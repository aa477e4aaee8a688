"""Notices for the taxpayer (reports/): the print-data file for the print vendor and the PDFs.

- ``reports.print_data``: ``notice_frame`` (one row per notice, every printed item, from the
  assessment, installments and address frames) and ``write_print_file`` (layout
  ``layouts/tax_notice_print.yaml``, written atomically by the fixed-width codec), GS1-128 data.
- ``reports.notices``: ``render_pdf`` — 納税通知書 / 税額変更通知書, 特別徴収開始通知書 and 納付書 with
  the GS1-128 コンビニ barcode, fonts embedded (``reports/fonts``, IPAexゴシック). A package: drawing
  primitives (``notices.primitives``, also used by ``reports.collection``), the barcode
  (``notices.barcodes``) and one module per document.

Settings: ``config/common/notices.yaml`` and ``config/municipalities/<code>/notices.yaml``.
"""
