"""Drawing primitives of the report PDFs (reportlab), shared by the notices and the collection
reports: the embedded TrueType font, 和暦 and number formatting, and ``PdfWriter`` — one PDF
written atomically (``jobs.common.paths``) with text, boxes, tables and form XObjects placed in
millimetres from the top-left corner of an A4 page.

Output is deterministic (reportlab invariant mode). Content streams are Flate-compressed without
the ASCII85 wrapper (smaller files, faster).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from jobs.common import paths
from jobs.common.config import Config

from ..print_data import NoticeError

# Content streams are Flate-compressed without the ASCII85 wrapper (smaller files, faster).
rl_config.useA85 = 0

PAGE_W, PAGE_H = A4

__all__ = ["PAGE_H", "PAGE_W", "Canvas", "PdfWriter", "Wareki", "char_width", "font_path", "postal",
           "register_font", "signed", "triangle", "wrap_lines", "yen"]


def register_font(cfg: Config) -> str:
    """Register the configured TrueType font with reportlab (once per process); its name."""
    return _register_font(str(font_path(cfg)))


def font_path(cfg: Config) -> Path:
    p = Path(str(cfg.get("notices.fonts.gothic")))
    p = p if p.is_absolute() else paths.home() / p
    if not p.is_file():
        raise NoticeError(f"フォントファイルがありません: {p} (設定 notices.fonts.gothic)")
    return p


@functools.lru_cache(maxsize=4)
def _register_font(path: str) -> str:
    font = TTFont(f"KokuhoGothic{len(pdfmetrics.getRegisteredFontNames())}", path)
    pdfmetrics.registerFont(font)
    return font.fontName



# --- formatting ---------------------------------------------------------------------------------


class Wareki:
    """和暦 dates from the configured eras (config/common/eras.yaml)."""

    def __init__(self, eras: Iterable[dict[str, Any]]):
        rows = []
        for e in eras:
            start = e["start"] if isinstance(e["start"], dt.date) else dt.date.fromisoformat(str(e["start"]))
            rows.append((start, str(e["name"])))
        self.eras = sorted(rows, reverse=True)
        self.date = functools.lru_cache(maxsize=4096)(self._date)
        self.fiscal_year = functools.lru_cache(maxsize=64)(self._fiscal_year)

    def era(self, d: dt.date) -> tuple[str, str]:
        for start, name in self.eras:
            if d >= start:
                n = d.year - start.year + 1
                return name, "元" if n == 1 else str(n)
        raise NoticeError(f"元号の設定より前の日付です: {d.isoformat()}")

    def _date(self, d: dt.date | None) -> str:
        if d is None:
            return ""
        name, year = self.era(d)
        return f"{name}{year}年{d.month}月{d.day}日"

    def _fiscal_year(self, fy: int, fiscal_year_start: str) -> str:
        month, day = (int(x) for x in fiscal_year_start.split("-"))
        name, year = self.era(dt.date(fy, month, day))
        return f"{name}{year}年度"


def yen(v: int | None) -> str:
    return "" if v is None else f"{v:,}"


def postal(code: str | None) -> str:
    return "" if not code else f"〒{code[:3]}-{code[3:]}"



def triangle(v: int) -> str:
    """Negative amounts with △ (the Japanese minus of ledgers)."""
    return f"△{-v:,}" if v < 0 else f"{v:,}"


def signed(v: int) -> str:
    return f"+{v:,}" if v > 0 else (f"△{-v:,}" if v < 0 else "0")


def wrap_lines(s: str, font: str, size: float, width_mm: float) -> list[str]:
    """``s`` broken into lines of at most ``width_mm`` (character by character; newlines kept)."""
    return list(_wrapped(s, font, size, width_mm))


@functools.lru_cache(maxsize=4096)
def _wrapped(s: str, font: str, size: float, width_mm: float) -> tuple[str, ...]:
    """``wrap_lines``, cached: the introductions and 教示 are the same on every page."""
    if not s:
        return ()
    limit = width_mm * mm
    lines, cur, w = [], [], 0.0
    for ch in s:
        if ch == "\n":
            lines.append("".join(cur))
            cur, w = [], 0.0
            continue
        cw = char_width(font, size, ch)
        if cur and w + cw > limit:
            lines.append("".join(cur))
            cur, w = [], 0.0
        cur.append(ch)
        w += cw
    if cur:
        lines.append("".join(cur))
    return tuple(lines)


@functools.lru_cache(maxsize=65536)
def char_width(font: str, size: float, ch: str) -> float:
    return pdfmetrics.stringWidth(ch, font, size)



# --- pages formatted from a template ----------------------------------------------------------


class _PageStream(pdfdoc.PDFStream):
    """A page's content stream, Flate-compressed: the bytes ``PDFStream.format`` writes with the
    ``[PDFZCompress]`` filter (``/Filter [ /FlateDecode ] /Length n``) without its generic
    dictionary formatting."""

    __Comment__ = "page stream"

    def __init__(self, content: str, level: int):
        super().__init__(content=content)
        self.level = level

    def format(self, document: pdfdoc.PDFDocument) -> bytes:
        data = document.encrypt.encode(zlib.compress(self.content.encode("utf8"), self.level))
        return b"<<\n/Filter [ /FlateDecode ] /Length %d\n>>\nstream\n%sendstream\n" % (len(data), data)


class _Page(pdfdoc.PDFPage):
    """A page whose dictionary is formatted once per kind of page (page size, rotation and the form
    XObjects it uses) by reportlab and then reused with only the reference of its content stream
    replaced. ``PDFCatalog.format`` spends ~0.1 ms a page on building and formatting the same
    dictionaries; the bytes are the same (the stream's object number is allocated at the same
    point). Pages with anything else (annotations, graphics states, colour spaces, shadings,
    boxes, transitions, durations) are formatted by reportlab as before."""

    compression_level = 6

    def format(self, document: pdfdoc.PDFDocument) -> bytes:
        if (self.Override_default_compilation or not self.compression or not self.stream or self.Contents
                or self.Resources or self.Annots or self.ExtGState or self._colorsUsed or self._shadingUsed
                or self.Dur is not None or self.Trans is None or self.Trans.dict or self.MediaBox
                or self.CropBox or self.ArtBox or self.BleedBox or self.TrimBox):
            return super().format(document)
        xobjects = tuple(sorted(self.XObjects.dict)) if self.XObjects is not None else None
        key = (xobjects, self.pagewidth, self.pageheight, self.Rotate, self.hasImages)
        templates = document.__dict__.setdefault("_kb_page_templates", {})
        stream = self.Contents = _PageStream(self.stream, self.compression_level)
        head_tail = templates.get(key)
        if head_tail is None:
            out = super().format(document)
            ref = document.Reference(stream).format(document)
            mark = b"/Contents " + ref + b" "
            if out.count(mark) != 1:  # pragma: no cover - reportlab changed its page dictionary
                return out
            k = out.index(mark) + len(b"/Contents ")
            templates[key] = (out[:k], out[k + len(ref):])
            return out
        return head_tail[0] + document.Reference(stream).format(document) + head_tail[1]


class _Canvas(Canvas):
    """``Canvas`` whose pages are ``_Page``s (``showPage`` calls ``_setAnnotations`` on each new
    page just before adding it to the document; forms are left alone)."""

    compression_level = 6  # zlib level of the page content streams (6: what reportlab writes)

    def _setAnnotations(self, page: Any) -> None:
        super()._setAnnotations(page)
        if type(page) is pdfdoc.PDFPage:
            page.__class__ = _Page
            page.compression_level = self.compression_level


# --- the writer base ---------------------------------------------------------------------------


class PdfWriter:
    """One A4 PDF written atomically: the subclass opens ``self.c`` (a ``Canvas`` on ``self.tmp``)
    in ``__enter__``; on a clean exit the file is saved, fsync'ed and renamed onto ``self.path``,
    on an exception it is removed. Sets ``font``/``ttf`` from the configured font.

    ``fast_pages``: the page dictionaries are formatted from a template (``_Page``; the same bytes).
    ``compression_level``: zlib level of the page content streams with ``fast_pages`` (6, what
    reportlab writes; 1 is ~8 % faster and ~13 % bigger, the same rendering).
    ``pause_gc``: the cyclic garbage collector is paused from ``open_canvas`` to ``__exit__``
    (rendering allocates millions of short-lived objects, freed by reference counting; the
    collector's passes over them cost ~12 % of the time and find a few dozen cycles a file).
    """

    fast_pages = False
    compression_level = 6
    pause_gc = False

    def __init__(self, cfg: Config, path: str | Path):
        self.path = Path(path)
        self.tmp = paths.temp_path(self.path)
        self.font = register_font(cfg)
        self.ttf = pdfmetrics.getFont(self.font)
        self._ops: dict[tuple[str, float], tuple[str, float]] = {}
        self._bold_ops: dict[tuple[str, float], str] = {}
        self._chars: dict[str, int] = {}  # character -> font subset
        self._esc: dict[int, str] = {}  # code point -> its escaped code in its subset
        self._subset_names: dict[int, str] = {}
        self._placed: dict[tuple[float, float, str, float, str], str] = {}  # text() args -> its operators
        self.c: Canvas | None = None
        self._forms: set[str] = set()
        self._gc_paused = False

    def open_canvas(self, title: str, author: str, creator: str) -> Canvas:
        """The canvas on the temporary file (invariant: the same input gives the same bytes)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fast_pages:
            self.c = _Canvas(str(self.tmp), pagesize=A4, invariant=1, pageCompression=1)
            self.c.compression_level = self.compression_level
        else:
            self.c = Canvas(str(self.tmp), pagesize=A4, invariant=1, pageCompression=1)
        self.c.setTitle(title)
        self.c.setAuthor(author)
        self.c.setCreator(creator)
        if self.pause_gc and gc.isenabled():
            gc.disable()
            self._gc_paused = True
        return self.c

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self.tmp.unlink(missing_ok=True)
                return
            try:
                self.c.save()
                paths.fsync_file(self.tmp)
                paths.commit_file(self.tmp, self.path)
            finally:
                self.tmp.unlink(missing_ok=True)
        finally:
            if self._gc_paused:
                self._gc_paused = False
                gc.enable()

    # --- drawing primitives (millimetres from the top-left corner) -----------------------------

    def _string(self, s: str, size: float) -> tuple[str, float]:
        """The text operators of ``s`` at ``size`` (font subset selection and shown strings, what
        ``drawString`` writes) and its width in points, cached per (string, size).

        The subset encoding is looked up per character: ``TTFont.splitString`` of each new
        character, in the order of the string (which assigns the subset codes as splitting the
        whole string does), keeps its subset and its escaped code (``escapePDF`` escapes byte by
        byte); a string within one subset is then one ``str.translate``."""
        key = (s, size)
        hit = self._ops.get(key)
        if hit is not None:
            return hit
        chars, esc = self._chars, self._esc
        uniq = set(s)
        if not uniq <= chars.keys():
            doc = self.c._doc
            for ch in s:
                if ch not in chars:
                    ((subset, b),) = self.ttf.splitString(ch, doc)
                    chars[ch] = subset
                    esc[ord(ch)] = escapePDF(b)
        subsets = {chars[ch] for ch in uniq}
        if len(subsets) == 1:
            parts = [f"{self._subset_name(subsets.pop())} {size:g} Tf", f"({s.translate(esc)}) Tj"]
        else:
            parts, current, start = [], None, 0
            for k, ch in enumerate(s):
                subset = chars[ch]
                if subset != current:
                    if k:
                        parts.append(f"({s[start:k].translate(esc)}) Tj")
                    parts.append(f"{self._subset_name(subset)} {size:g} Tf")
                    current, start = subset, k
            parts.append(f"({s[start:].translate(esc)}) Tj")
        hit = (" ".join(parts), self.ttf.stringWidth(s, size))
        if len(self._ops) > 200_000:
            self._ops.clear()
        self._ops[key] = hit
        return hit

    def _subset_name(self, subset: int) -> str:
        name = self._subset_names.get(subset)
        if name is None:
            name = self._subset_names[subset] = self.ttf.getSubsetInternalName(subset, self.c._doc)
        return name

    def text(self, x: float, y: float, s: str, size: float = 9, align: str = "l") -> None:
        """Draw ``s`` with its baseline at (x, y) mm; align l(eft), r(ight) or c(entre).

        The text operators are written directly to the page's content (what ``Canvas.addLiteral``
        does) with the font's subset encoding (``_string``, cached per string): a page has dozens
        of strings and ``drawString`` costs ~80 µs each."""
        key = (x, y, s, size, align)
        op = self._placed.get(key)
        if op is None:
            if not s:
                return
            ops, w = self._ops.get((s, size)) or self._string(s, size)
            px = x * mm
            if align != "l":
                px -= w if align == "r" else w / 2
            if len(self._placed) > 200_000:
                self._placed.clear()
            op = self._placed[key] = f"BT {px:.2f} {PAGE_H - y * mm:.2f} Td {ops} ET"
        self.c._code.append(op)

    def fit(self, x: float, y: float, s: str, width: float, size: float, align: str = "l", min_size: float = 5) -> None:
        """Draw ``s`` in at most ``width`` mm, shrinking the font down to ``min_size``."""
        w = self._string(s, size)[1] / mm
        if w > width:
            size = max(min_size, size * width / w)
        self.text(x, y, s, size, align)

    def bold(self, x: float, y: float, s: str, size: float, align: str = "l") -> None:
        """Emphasised text (fill + thin stroke: the font has no bold face).

        Writes what reportlab's text object writes for ``beginText`` / ``setFont`` /
        ``setTextRenderMode(2)`` / ``textOut`` / ``setTextRenderMode(0)`` / ``drawText`` between
        ``setLineWidth(size * 0.03)`` and ``setLineWidth(0.5)`` (tests/reports compare the two)."""
        c = self.c
        w = self._string(s, size)[1]
        px = x * mm - (w if align == "r" else w / 2 if align == "c" else 0)
        key = (s, size)
        ops = self._bold_ops.get(key)
        if ops is None:
            doc, parts, current = c._doc, [], -1
            tf = f"{fp_str(size)} Tf {fp_str(size * 1.2)} TL"
            for subset, chunk in self.ttf.splitString(s, doc):
                if subset != current:
                    parts.append(f"{self._subset_name(subset)} {tf}")
                    current = subset
                parts.append(f"({escapePDF(chunk)}) Tj")
            ops = " ".join(parts)
            if len(self._bold_ops) > 100_000:
                self._bold_ops.clear()
            self._bold_ops[key] = ops
        code = c._code
        code.append(f"{fp_str(size * 0.03)} w")
        code.append(f"BT 1 0 0 1 {fp_str(px, PAGE_H - y * mm)} Tm 2 Tr {ops} 0 Tr ET")
        code.append(".5 w")
        c._lineWidth = 0.5

    def wrap(self, x: float, y: float, s: str, width: float, size: float, leading: float) -> float:
        """Draw ``s`` wrapped at ``width`` mm (character by character: Japanese has no spaces);
        returns the y below the last line."""
        for line in _wrapped(s, self.font, size, width):
            self.text(x, y, line, size)
            y += leading
        return y

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.5, dash: tuple | None = None) -> None:
        c = self.c
        c.setLineWidth(width)
        if dash:
            c.setDash(*dash)
        c.line(x1 * mm, PAGE_H - y1 * mm, x2 * mm, PAGE_H - y2 * mm)
        if dash:
            c.setDash()

    def box(self, x: float, y: float, w: float, h: float, width: float = 0.5, fill: float | None = None) -> None:
        c = self.c
        c.setLineWidth(width)
        if fill is not None:
            c.setFillGray(fill)
        c.rect(x * mm, PAGE_H - (y + h) * mm, w * mm, h * mm, stroke=1, fill=1 if fill is not None else 0)
        if fill is not None:
            c.setFillGray(0)

    def grid(self, x: float, y: float, widths: Sequence[float], heights: Sequence[float], width: float = 0.4,
             head_fill: float | None = 0.92) -> None:
        """A table's frame: outer box, row and column rules; the first row shaded."""
        total_w, total_h = sum(widths), sum(heights)
        if head_fill is not None:
            self.box(x, y, total_w, heights[0], width=0, fill=head_fill)
        self.box(x, y, total_w, total_h, width=width * 1.5)
        yy = y
        for h in heights[:-1]:
            yy += h
            self.line(x, yy, x + total_w, yy, width)
        xx = x
        for w in widths[:-1]:
            xx += w
            self.line(xx, y, xx, y + total_h, width)

    def form(self, name: str, draw: Callable[[], None]) -> None:
        """Draw the static part ``name`` (a form XObject made on first use) on the current page."""
        if name not in self._forms:
            self.c.beginForm(name)
            draw()
            self.c.endForm()
            self._forms.add(name)
        self.c.doForm(name)
