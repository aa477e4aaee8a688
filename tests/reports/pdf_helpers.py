"""PDF inspection for the report tests (pypdfium2): page text in reading order, fonts."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c


def page_texts(path: Path) -> list[str]:
    """The text of each page in reading order: characters grouped into lines by their vertical
    position (static labels live in form XObjects, so the content order is not the visual one),
    each line left to right, spaces dropped."""
    doc = pdfium.PdfDocument(str(path))
    pages = []
    try:
        for i in range(len(doc)):
            tp = doc[i].get_textpage()
            chars = []
            for k in range(tp.count_chars()):
                ch = tp.get_text_range(k, 1)
                if ch.strip():
                    left, bottom, _right, top = tp.get_charbox(k, loose=True)
                    chars.append(((bottom + top) / 2, left, ch))
            chars.sort(key=lambda c: -c[0])
            rows: list[list] = []
            for cy, x, ch in chars:
                if rows and abs(rows[-1][0] - cy) <= 3.0:  # points; table rows are ≥ 13 pt apart
                    rows[-1][1].append((x, ch))
                else:
                    rows.append([cy, [(x, ch)]])
            pages.append("\n".join("".join(ch for _x, ch in sorted(r[1])) for r in rows))
    finally:
        doc.close()
    return pages


def flat(text: str) -> str:
    return re.sub(r"[ \t\u3000]+", "", text)


def fonts(path: Path) -> set[tuple[str, int]]:
    """(base font name, embedded flag) of every text object of every page, forms included."""
    out = set()
    doc = pdfium.PdfDocument(str(path))
    try:
        for i in range(len(doc)):
            for obj in doc[i].get_objects(max_depth=5):
                if obj.type != pdfium_c.FPDF_PAGEOBJ_TEXT:
                    continue
                font = pdfium_c.FPDFTextObj_GetFont(obj.raw)
                n = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
                buf = ctypes.create_string_buffer(n)
                pdfium_c.FPDFFont_GetBaseFontName(font, buf, n)
                out.add((buf.value.decode(), pdfium_c.FPDFFont_GetIsEmbedded(font)))
    finally:
        doc.close()
    return out
