"""reports.notices is a package (primitives, barcodes, one module per document) that keeps the
names its callers use; the collection reports use only its public names."""

from __future__ import annotations

import ast
from pathlib import Path

from reports import notices

ROOT = Path(__file__).resolve().parents[2]


def test_public_names_stay():
    for name in ("DOCUMENTS", "NoticeError", "NoticeWriter", "RenderStats", "Wareki", "bars", "font_path",
                 "pages_per_notice", "register_font", "render_pdf", "reportlab_symbol_values", "symbol_values",
                 "symbol_width_modules", "write_notice_pdf", "yen", "postal"):
        assert hasattr(notices, name), name
    assert set(notices.__all__) <= set(dir(notices))


def test_one_module_per_document():
    folder = ROOT / "reports" / "notices"
    assert {p.stem for p in folder.glob("*.py")} >= {
        "primitives", "barcodes", "page", "tax_notice", "change_notice", "withholding_start", "payment_slip",
        "writer"}


def test_no_private_imports_from_the_notices():
    """No module outside reports/notices imports a _-prefixed name of it."""
    offenders = []
    for path in sorted((ROOT / "reports").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and "notices" in node.module:
                offenders += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert offenders == []
