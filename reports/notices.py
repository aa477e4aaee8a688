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

Fonts: a TrueType font from ``notices.fonts.gothic`` (IPAexゴシック, reports/fonts/) embedded as
subsets — never the non-embedded CID fonts. Static parts of each page (frames, labels) are drawn
once per PDF as form XObjects and reused, which keeps a page to a few milliseconds. Output is
deterministic (reportlab invariant mode) and written atomically (temporary file, then rename).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from reportlab import rl_config
from reportlab.graphics.barcode import code128 as rl_code128
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from jobs.common import gs1, paths
from jobs.common.config import Config

from . import print_data
from .print_data import COMPONENT_ITEMS, LAYOUT_COMPONENTS, NOTICE_CHANGE, NoticeError

# Content streams are Flate-compressed without the ASCII85 wrapper (smaller files, faster).
rl_config.useA85 = 0

PAGE_W, PAGE_H = A4
DOCUMENTS = ("notice", "withholding_start", "slips")
ITEM_LABELS = dict(COMPONENT_ITEMS)
ITEM_LABELS["amount"] = "税額"
METHOD_LABELS = {"1": "普通徴収", "2": "特別徴収", "3": "普通徴収・特別徴収"}
REDUCTION_LABELS = {"0": "なし", "2": "2割軽減", "5": "5割軽減", "7": "7割軽減"}
# items printed as deductions (△) in the 税額の内訳 table
DEDUCTIONS = {"minor_reduction", "reduction", "preschool_reduction", "specified_household_reduction",
              "former_dependent_reduction", "perinatal_reduction", "over_cap", "exemption"}
FNC1 = "\xf1"  # reportlab Code128: FNC1 in the input string
# installment tables (mm): [当初, 変更]
ORDINARY_WIDTHS = {False: [16.0, 40.0, 30.0], True: [12.0, 30.0, 20.0, 20.0, 18.0]}
WITHHOLDING_WIDTHS = {False: [16.0, 36.0, 30.0], True: [12.0, 20.0, 20.0, 18.0]}
CHANGE_BOX_WIDTHS = [24.0, 28.0, 16.0, 26.0]  # 変更前年税額 | amount | 差額 | amount


@dataclass
class RenderStats:
    """What ``render_pdf`` wrote."""

    path: Path
    notices: int = 0
    pages: int = 0
    by_document: dict[str, int] = field(default_factory=lambda: {d: 0 for d in DOCUMENTS})
    slips: int = 0
    barcodes: int = 0
    # (page number 1-based, household_id, installment slot, 44 digits) of every barcode drawn,
    # when record_barcodes=True (tests decode these against jobs.common.gs1.parse)
    drawn_barcodes: list[tuple[int, str, int, str]] = field(default_factory=list)


# --- public API --------------------------------------------------------------------------------


def render_pdf(frame: pl.DataFrame, cfg: Config, path: str | Path, *, documents: Sequence[str] = DOCUMENTS,
               record_barcodes: bool = False) -> RenderStats:
    """Render every row of a notice frame (``print_data.notice_frame``) into one PDF."""
    unknown = set(documents) - set(DOCUMENTS)
    if unknown:
        raise NoticeError(f"不明な帳票の種類です: {sorted(unknown)} (使えるもの: {', '.join(DOCUMENTS)})")
    with NoticeWriter(cfg, path, documents=documents, record_barcodes=record_barcodes) as w:
        for row in frame.iter_rows(named=True):
            w.add(row)
    return w.stats


def write_notice_pdf(assessment: pl.DataFrame, installments: pl.DataFrame, addresses: pl.DataFrame, cfg: Config,
                     path: str | Path, *, issue_date: dt.date | None = None, notice_kind: str = "1",
                     previous_assessment: pl.DataFrame | None = None,
                     previous_installments: pl.DataFrame | None = None,
                     documents: Sequence[str] = DOCUMENTS) -> RenderStats:
    """Build the notice frame from the engine's frames and render it (see ``print_data.notice_frame``)."""
    frame = print_data.notice_frame(
        assessment, installments, addresses, cfg, issue_date=issue_date, notice_kind=notice_kind,
        previous_assessment=previous_assessment, previous_installments=previous_installments,
    )
    return render_pdf(frame, cfg, path, documents=documents)


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

    def fiscal_year(self, fy: int, fiscal_year_start: str) -> str:
        month, day = (int(x) for x in fiscal_year_start.split("-"))
        name, year = self.era(dt.date(fy, month, day))
        return f"{name}{year}年度"


def yen(v: int | None) -> str:
    return "" if v is None else f"{v:,}"


def postal(code: str | None) -> str:
    return "" if not code else f"〒{code[:3]}-{code[3:]}"


# --- the writer --------------------------------------------------------------------------------


class NoticeWriter:
    """One PDF, notices added one row at a time; written atomically on a clean exit."""

    def __init__(self, cfg: Config, path: str | Path, *, documents: Sequence[str] = DOCUMENTS,
                 record_barcodes: bool = False):
        if bool(cfg.get("notices.el_qr.enabled", False)):
            raise NoticeError("eL-QR (地方税統一QRコード) は仕様未入手のため印刷できません: notices.el_qr.enabled を false にしてください")
        self.cfg = cfg
        self.path = Path(path)
        self.tmp = paths.temp_path(self.path)
        self.documents = tuple(documents)
        self.record_barcodes = record_barcodes
        self.font = register_font(cfg)
        self.ttf = pdfmetrics.getFont(self.font)
        self._ops: dict[tuple[str, float], str] = {}
        self.wareki = Wareki(cfg.get("eras"))
        self.fy_start = str(cfg.get("calendar.fiscal_year_start"))
        self.components = [(str(c["key"]), str(c["label"])) for c in cfg.get("notices.components")]
        unknown = [k for k, _ in self.components if k not in LAYOUT_COMPONENTS]
        if unknown:
            raise NoticeError(f"notices.components に不明な区分があります: {unknown}")
        self.items = [str(i) for i in cfg.get("notices.detail_items")]
        bad_items = [i for i in self.items if i not in ITEM_LABELS]
        if bad_items:
            raise NoticeError(f"notices.detail_items に不明な項目があります: {bad_items}")
        self.titles = cfg.get("notices.titles")
        self.texts = cfg.get("notices.texts")
        self.issuer = cfg.get("notices.issuer")
        self.contact = cfg.get("notices.contact")
        self.window = cfg.get("notices.page.address_window")
        self.margin_l = float(cfg.get("notices.page.margin_left"))
        self.margin_r = float(cfg.get("notices.page.margin_right"))
        self.slips_per_page = int(cfg.get("notices.page.slips_per_page"))
        if not 1 <= self.slips_per_page <= 3:
            raise NoticeError(f"notices.page.slips_per_page は1〜3です: {self.slips_per_page}")
        if str(cfg.get("notices.page.size")) != "A4":
            raise NoticeError(f"用紙は A4 のみ対応しています: {cfg.get('notices.page.size')}")
        bc = cfg.get("notices.barcode")
        self.module = float(bc["module_width_mm"]) * mm
        self.bar_height = float(bc["bar_height_mm"]) * mm
        self.quiet = int(bc["quiet_zone_modules"])
        self.provisional = {int(m) for m in cfg.get("notices.withholding.provisional_months")}
        self.c: Canvas | None = None
        self._forms: set[str] = set()
        self.stats = RenderStats(path=self.path)

    # context manager: atomic file
    def __enter__(self) -> NoticeWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.c = Canvas(str(self.tmp), pagesize=A4, invariant=1, pageCompression=1)
        self.c.setTitle("国民健康保険税 通知書")
        self.c.setAuthor(str(self.issuer["name"]))
        self.c.setCreator("kokuho-batch reports.notices")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.tmp.unlink(missing_ok=True)
            return
        try:
            self.c.save()
            paths.fsync_file(self.tmp)
            paths.commit_file(self.tmp, self.path)
        finally:
            self.tmp.unlink(missing_ok=True)

    # --- one notice -------------------------------------------------------------------------

    def add(self, row: dict[str, Any]) -> None:
        st = self.stats
        st.notices += 1
        if "notice" in self.documents:
            if row["notice_kind"] == NOTICE_CHANGE:
                self._change_notice(row)
            else:
                self._tax_notice(row)
            self._end_page("notice")
        if "withholding_start" in self.documents and row["notice_kind"] != NOTICE_CHANGE and row["withholding_count"]:
            self._withholding_start(row)
            self._end_page("withholding_start")
        if "slips" in self.documents:
            slips = self._slips_of(row)
            for k in range(0, len(slips), self.slips_per_page):
                for pos, slot in enumerate(slips[k:k + self.slips_per_page]):
                    self._slip(row, slot, pos)
                self._end_page("slips")

    def _end_page(self, doc: str) -> None:
        self.c.showPage()
        self.stats.pages += 1
        self.stats.by_document[doc] += 1

    def _slips_of(self, row: dict[str, Any]) -> list[int]:
        out = []
        for i in range(1, 11):
            amount = row[f"ordinary_{i}_amount"]
            if not amount:
                continue
            if row["notice_kind"] == NOTICE_CHANGE and row[f"ordinary_{i}_due_date"] < row["issue_date"]:
                continue  # already due: the collection side handles it
            out.append(i)
        return out

    # --- drawing primitives (millimetres from the top-left corner) -----------------------------

    def text(self, x: float, y: float, s: str, size: float = 9, align: str = "l") -> None:
        """Draw ``s`` with its baseline at (x, y) mm; align l(eft), r(ight) or c(entre).

        The text operators are written directly (``Canvas.addLiteral``) with the font's subset
        encoding (``TTFont.splitString``, what ``drawString`` does), cached per string: a page
        has dozens of strings and ``drawString`` costs ~80 µs each."""
        if not s:
            return
        px = x * mm
        if align != "l":
            w = pdfmetrics.stringWidth(s, self.font, size)
            px -= w if align == "r" else w / 2
        key = (s, size)
        ops = self._ops.get(key)
        if ops is None:
            doc = self.c._doc
            parts, current = [], None
            for subset, chunk in self.ttf.splitString(s, doc):
                if subset != current:
                    parts.append(f"{self.ttf.getSubsetInternalName(subset, doc)} {size:g} Tf")
                    current = subset
                parts.append(f"({self.c._escape(chunk)}) Tj")
            ops = " ".join(parts)
            if len(self._ops) > 200_000:
                self._ops.clear()
            self._ops[key] = ops
        self.c.addLiteral(f"BT {px:.2f} {PAGE_H - y * mm:.2f} Td {ops} ET")

    def fit(self, x: float, y: float, s: str, width: float, size: float, align: str = "l", min_size: float = 5) -> None:
        """Draw ``s`` in at most ``width`` mm, shrinking the font down to ``min_size``."""
        w = pdfmetrics.stringWidth(s, self.font, size) / mm
        if w > width:
            size = max(min_size, size * width / w)
        self.text(x, y, s, size, align)

    def bold(self, x: float, y: float, s: str, size: float, align: str = "l") -> None:
        """Emphasised text (fill + thin stroke: the font has no bold face)."""
        c = self.c
        w = pdfmetrics.stringWidth(s, self.font, size)
        px = x * mm - (w if align == "r" else w / 2 if align == "c" else 0)
        t = c.beginText(px, PAGE_H - y * mm)
        t.setFont(self.font, size)
        t.setTextRenderMode(2)
        c.setLineWidth(size * 0.03)
        t.textOut(s)
        t.setTextRenderMode(0)
        c.drawText(t)
        c.setLineWidth(0.5)

    def wrap(self, x: float, y: float, s: str, width: float, size: float, leading: float) -> float:
        """Draw ``s`` wrapped at ``width`` mm (character by character: Japanese has no spaces);
        returns the y below the last line."""
        for line in _wrap(s, self.font, size, width):
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

    # --- shared page parts ----------------------------------------------------------------

    def _fy_label(self, row: dict[str, Any]) -> str:
        return self.wareki.fiscal_year(int(row["fiscal_year"]), self.fy_start)

    def _notice_no(self, row: dict[str, Any]) -> str:
        n = row["notice_no"]
        return f"{n[:10]}-{n[10:]}"

    def _address_block(self, row: dict[str, Any]) -> None:
        w = self.window
        x, y, width = float(w["x"]) + 4, float(w["y"]), float(w["width"]) - 8
        self.text(x, y + 6, postal(row["postal_code"]), 10)
        yy = y + 12
        for line in _wrap(row["address"] or "", self.font, 10, width)[:2]:
            self.text(x, yy, line, 10)
            yy += 5
        if row["address_building"]:
            self.fit(x, yy, row["address_building"], width, 10)
        self.fit(x + 4, y + 32, f"{row['addressee_name']}　様", width - 4, 14)
        self.text(x, y + float(w["height"]) - 3, f"通知書番号 {self._notice_no(row)}", 7)

    def _issuer_block(self, row: dict[str, Any]) -> None:
        right = 210 - self.margin_r
        self.text(right, 18, self.wareki.date(row["issue_date"]), 10, "r")
        self.text(right, 25, str(self.issuer["name"]), 11, "r")
        self.text(right, 30.5, str(self.issuer.get("seal_note", "")), 8, "r")

    def _id_table_static(self) -> None:
        x, y = 125.0, 38.0
        widths, heights = [26.0, 44.0], [6.0, 6.0, 6.0, 6.0]
        self.grid(x, y, widths, heights, head_fill=None)
        for k, label in enumerate(("年度", "通知書番号", "世帯主宛名番号", "世帯番号")):
            self.box(x, y + 6 * k, widths[0], 6, width=0, fill=0.92)
            self.text(x + 2, y + 6 * k + 4.2, label, 8)
        self.grid(x, y, widths, heights, head_fill=None)

    def _id_table(self, row: dict[str, Any]) -> None:
        x, y = 125.0 + 28, 38.0
        self.text(x, y + 4.2, self._fy_label(row), 9)
        self.text(x, y + 10.2, self._notice_no(row), 9)
        self.text(x, y + 16.2, row["taxpayer_person_id"], 9)
        self.text(x, y + 22.2, row["household_id"], 9)

    def _footer_static(self, top: float) -> None:
        x0, width = self.margin_l, 210 - self.margin_l - self.margin_r
        self.text(x0 + 2, top + 4.5, "【教示】", 7.5)
        y = self.wrap(x0 + 2, top + 8.5, str(self.texts["appeal"]).strip(), width - 4, 7, 3.6)
        c = self.contact
        y += 1.5
        self.text(x0 + 2, y, "【問い合わせ先】", 7.5)
        self.text(x0 + 26, y, f"{c['department']}　{c['address']}", 7.5)
        self.text(x0 + 26, y + 4, f"電話 {c['phone']}（{c['hours']}）", 7.5)
        self.box(x0, top, width, y + 6.5 - top, width=0.4)

    def _page_common(self, row: dict[str, Any], title: str, intro: str, form_name: str,
                     body_static: Callable[[], None]) -> None:
        def static() -> None:
            # fold marks for a three-fold (三つ折り) into a 長3 envelope
            self.line(3, 99, 7, 99, 0.3)
            self.line(3, 198, 7, 198, 0.3)
            self._id_table_static()
            body_static()

        self.form(form_name, static)
        self._address_block(row)
        self._issuer_block(row)
        self._id_table(row)
        self.bold(105, 72, f"{self._fy_label(row)}　{title}", 15, "c")
        self.wrap(self.margin_l, 78.5, str(intro).strip(), 210 - self.margin_l - self.margin_r, 8.5, 4.0)

    # --- 納税通知書 -------------------------------------------------------------------------

    def _household_row_static(self, y: float) -> None:
        x = self.margin_l
        widths = [22.0, 40.0, 22.0, 14.0, 22.0, 60.0]
        self.grid(x, y, widths, [6.0], head_fill=None)
        xx = x
        for k, label in enumerate(("世帯主氏名", None, "被保険者数", None, "軽減・徴収", None)):
            if label:
                self.box(xx, y, widths[k], 6, width=0, fill=0.92)
                self.text(xx + 1.5, y + 4.2, label, 8)
            xx += widths[k]
        self.grid(x, y, widths, [6.0], head_fill=None)

    def _household_row(self, row: dict[str, Any], y: float) -> None:
        x = self.margin_l
        self.fit(x + 23.5, y + 4.3, row["householder_name"], 37, 9)
        self.text(x + 84 + 12.5, y + 4.3, f"{row['insured_count']}人", 9, "r")
        method = METHOD_LABELS.get(row["collection_method"], "")
        reduction = REDUCTION_LABELS.get(row["reduction_class"], "")
        self.text(x + 120 + 1.5, y + 4.3, f"{reduction}／{method}", 9)

    def _components_of(self, row: dict[str, Any]) -> list[tuple[str, str]]:
        return [(k, label) for k, label in self.components if row.get(f"{k}_amount") is not None]

    def _detail_geometry(self, n_comp: int) -> tuple[float, list[float]]:
        label_w = 38.0
        width = 210 - self.margin_l - self.margin_r
        col = (width - label_w) / (n_comp + 1)
        return label_w, [label_w] + [col] * (n_comp + 1)

    def _row_h(self) -> float:
        return min(5.2, 66.0 / len(self.items))

    def _geometry(self) -> tuple[float, float, float, float]:
        """y (mm) of the 内訳 table, the 年税額 box, the installment tables and the footer."""
        y_detail = 100.0
        y_annual = y_detail + 7 + self._row_h() * len(self.items) + 3
        y_inst = y_annual + 17
        return y_detail, y_annual, y_inst, y_inst + 6 + 50 + 5.5 + 4

    def _detail_static(self, comps: list[tuple[str, str]], y: float) -> None:
        x = self.margin_l
        rh = self._row_h()
        self.text(x, y - 1.5, "税額の内訳（単位：円）", 8.5)
        _, widths = self._detail_geometry(len(comps))
        heights = [7.0] + [rh] * len(self.items)
        self.grid(x, y, widths, heights)
        xx = x + widths[0]
        for _k, label in comps + [("total", "合計")]:
            w = widths[1]
            self.fit(xx + w / 2, y + 4.8, label, w - 2, 8, "c")
            xx += w
        yy = y + 7.0
        for item in self.items:
            label = ITEM_LABELS[item] + ("（△）" if item in DEDUCTIONS else "")
            self.fit(x + 1.5, yy + rh - 1.3, label, widths[0] - 3, min(8, rh * 1.6))
            yy += rh
        self.box(x, yy - rh, sum(widths), rh, width=1.0)

    def _detail(self, row: dict[str, Any], comps: list[tuple[str, str]], y: float) -> None:
        x = self.margin_l
        _, widths = self._detail_geometry(len(comps))
        rh = self._row_h()
        fs = min(8.5, rh * 1.65)
        yy = y + 7.0
        for item in self.items:
            show = _triangle if item == "proration" else yen
            xx = x + widths[0]
            total = 0
            for key, _label in comps:
                v = int(row[f"{key}_{item}"] or 0)
                total += v
                self.text(xx + widths[1] - 1.5, yy + rh - 1.4, show(v), fs, "r")
                xx += widths[1]
            self.text(xx + widths[1] - 1.5, yy + rh - 1.4, show(total), fs, "r")
            yy += rh

    def _annual_static(self, y: float, label: str) -> None:
        x = 210 - self.margin_r - 80
        self.grid(x, y, [30.0, 50.0], [9.0], head_fill=None)
        self.box(x, y, 30, 9, width=0, fill=0.85)
        self.grid(x, y, [30.0, 50.0], [9.0], head_fill=None, width=0.8)
        self.text(x + 15, y + 6, label, 10, "c")
        self.text(x + 80 - 2, y + 6.2, "円", 10, "r")

    def _ordinary_static(self, y: float, change: bool) -> None:
        x = self.margin_l
        self.text(x, y - 1.5, "普通徴収（納付書・口座振替）", 8.5)
        widths = ORDINARY_WIDTHS[change]
        heights = [6.0] + [5.0] * 10 + [5.5]
        self.grid(x, y, widths, heights)
        heads = ("期別", "納期限", "変更前", "変更後", "差額") if change else ("期別", "納期限", "税額（円）")
        xx = x
        for w, h in zip(widths, heads, strict=True):
            self.text(xx + w / 2, y + 4.2, h, 8, "c")
            xx += w
        self.text(x + widths[0] / 2, y + 6 + 50 + 3.9, "計", 8, "c")

    def _ordinary(self, row: dict[str, Any], y: float, change: bool) -> None:
        x = self.margin_l
        widths = ORDINARY_WIDTHS[change]
        fs = 8.0 if change else 8.5
        yy = y + 6
        tot_new = tot_prev = 0
        for i in range(1, 11):
            no = row[f"ordinary_{i}_no"]
            if no is None:
                break
            amount = int(row[f"ordinary_{i}_amount"] or 0)
            tot_new += amount
            self.text(x + widths[0] / 2, yy + 3.6, f"第{no}期", fs, "c")
            self.text(x + widths[0] + 1.5, yy + 3.6, self.wareki.date(row[f"ordinary_{i}_due_date"]), fs)
            if change:
                prev = int(row[f"previous_ordinary_{i}_amount"] or 0)
                tot_prev += prev
                x3 = x + widths[0] + widths[1]
                self.text(x3 + widths[2] - 1.5, yy + 3.6, yen(prev), fs, "r")
                self.text(x3 + widths[2] + widths[3] - 1.5, yy + 3.6, yen(amount), fs, "r")
                self.text(x3 + sum(widths[2:5]) - 1.5, yy + 3.6, _signed(amount - prev), fs, "r")
            else:
                self.text(x + sum(widths) - 1.5, yy + 3.6, yen(amount), fs, "r")
            yy += 5
        if row["ordinary_count"] == 0:
            self.text(x + widths[0] + 1.5, y + 6 + 3.6, str(self.texts["none"]), fs)
        ty = y + 6 + 50 + 3.9
        if change:
            x3 = x + widths[0] + widths[1]
            self.text(x3 + widths[2] - 1.5, ty, yen(tot_prev), fs, "r")
            self.text(x3 + widths[2] + widths[3] - 1.5, ty, yen(tot_new), fs, "r")
            self.text(x3 + sum(widths[2:5]) - 1.5, ty, _signed(tot_new - tot_prev), fs, "r")
        else:
            self.text(x + sum(widths) - 1.5, ty, yen(tot_new), fs, "r")

    def _withholding_geometry(self, change: bool) -> tuple[float, list[float]]:
        widths = WITHHOLDING_WIDTHS[change]
        return 210 - self.margin_r - sum(widths), widths

    def _withholding_static(self, y: float, change: bool) -> None:
        x, widths = self._withholding_geometry(change)
        self.text(x, y - 1.5, "特別徴収（年金から差し引き）", 8.5)
        heights = [6.0] + [5.0] * 6 + [5.5]
        self.grid(x, y, widths, heights)
        heads = ("徴収月", "変更前", "変更後", "差額") if change else ("徴収月", "区分", "税額（円）")
        xx = x
        for w, h in zip(widths, heads, strict=True):
            self.text(xx + w / 2, y + 4.2, h, 8, "c")
            xx += w
        self.text(x + widths[0] / 2, y + 6 + 30 + 3.9, "計", 8, "c")

    def _withholding(self, row: dict[str, Any], y: float, change: bool) -> None:
        x, widths = self._withholding_geometry(change)
        fs = 8.0 if change else 8.5
        yy = y + 6
        tot_new = tot_prev = 0
        for j in range(1, 7):
            month = row[f"withholding_{j}_month"]
            if month is None:
                break
            amount = int(row[f"withholding_{j}_amount"] or 0)
            tot_new += amount
            self.text(x + widths[0] / 2, yy + 3.6, f"{month}月", fs, "c")
            if change:
                prev = int(row[f"previous_withholding_{j}_amount"] or 0)
                tot_prev += prev
                self.text(x + widths[0] + widths[1] - 1.5, yy + 3.6, yen(prev), fs, "r")
                self.text(x + sum(widths[:3]) - 1.5, yy + 3.6, yen(amount), fs, "r")
                self.text(x + sum(widths) - 1.5, yy + 3.6, _signed(amount - prev), fs, "r")
            else:
                kind = "仮徴収" if month in self.provisional else "本徴収"
                self.text(x + widths[0] + widths[1] / 2, yy + 3.6, kind, fs, "c")
                self.text(x + sum(widths) - 1.5, yy + 3.6, yen(amount), fs, "r")
            yy += 5
        if row["withholding_count"] == 0:
            self.text(x + widths[0] + 1.5, y + 6 + 3.6, str(self.texts["none"]), fs)
        ty = y + 6 + 30 + 3.9
        if change:
            self.text(x + widths[0] + widths[1] - 1.5, ty, yen(tot_prev), fs, "r")
            self.text(x + sum(widths[:3]) - 1.5, ty, yen(tot_new), fs, "r")
            self.text(x + sum(widths) - 1.5, ty, _signed(tot_new - tot_prev), fs, "r")
        else:
            self.text(x + sum(widths) - 1.5, ty, yen(tot_new), fs, "r")

    def _tax_notice(self, row: dict[str, Any]) -> None:
        comps = self._components_of(row)
        y_detail, y_annual, y_inst, y_footer = self._geometry()

        def body() -> None:
            self._household_row_static(88)
            self._detail_static(comps, y_detail)
            self._annual_static(y_annual, "年税額")
            self._ordinary_static(y_inst, False)
            self._withholding_static(y_inst, False)
            self._footer_static(y_footer)

        form = f"tax_notice_{len(comps)}"
        self._page_common(row, str(self.titles["tax_notice"]), self.texts["tax_notice_intro"], form, body)
        self._household_row(row, 88)
        self._detail(row, comps, y_detail)
        self.bold(210 - self.margin_r - 7, y_annual + 6.4, yen(row["annual_tax"]), 13, "r")
        self._ordinary(row, y_inst, False)
        self._withholding(row, y_inst, False)

    # --- 税額変更通知書 ----------------------------------------------------------------------

    def _change_notice(self, row: dict[str, Any]) -> None:
        comps = self._components_of(row)
        y_detail, y_annual, y_inst, y_footer = self._geometry()

        def body() -> None:
            self._household_row_static(88)
            self._detail_static(comps, y_detail)
            x = self.margin_l
            widths = CHANGE_BOX_WIDTHS
            self.box(x, y_annual, widths[0], 9, width=0, fill=0.92)
            self.box(x + sum(widths[:2]), y_annual, widths[2], 9, width=0, fill=0.92)
            self.grid(x, y_annual, widths, [9.0], head_fill=None)
            self.text(x + widths[0] / 2, y_annual + 6, "変更前年税額", 8.5, "c")
            self.text(x + sum(widths[:2]) + widths[2] / 2, y_annual + 6, "差額", 8.5, "c")
            self._annual_static(y_annual, "変更後年税額")
            self._ordinary_static(y_inst, True)
            self._withholding_static(y_inst, True)
            self._footer_static(y_footer)

        form = f"change_notice_{len(comps)}"
        self._page_common(row, str(self.titles["change_notice"]), self.texts["change_notice_intro"], form, body)
        self._household_row(row, 88)
        self._detail(row, comps, y_detail)
        x = self.margin_l
        widths = CHANGE_BOX_WIDTHS
        prev = int(row["previous_annual_tax"] or 0)
        self.text(x + sum(widths[:2]) - 2, y_annual + 6.2, f"{yen(prev)}円", 10, "r")
        self.text(x + sum(widths) - 2, y_annual + 6.2, f"{_signed(int(row['annual_tax']) - prev)}円", 10, "r")
        self.bold(210 - self.margin_r - 7, y_annual + 6.4, yen(row["annual_tax"]), 13, "r")
        self._ordinary(row, y_inst, True)
        self._withholding(row, y_inst, True)
        x_note, _ = self._withholding_geometry(True)
        y_note = y_inst + 6 + 30 + 5.5 + 5
        if row["change_reason"]:
            self.text(x_note, y_note, f"変更事由：{row['change_reason']}", 8.5)
        if row["overpayment"]:
            self.text(x_note, y_note + 5, f"過誤納額：{yen(row['overpayment'])}円", 8.5)
            self.wrap(x_note, y_note + 9.5, str(self.texts["overpayment"]), 210 - self.margin_r - x_note, 7.5, 3.6)

    # --- 特別徴収開始通知書 ------------------------------------------------------------------

    def _withholding_start(self, row: dict[str, Any]) -> None:
        y_tab = 100.0
        x = self.margin_l
        widths = [30.0, 30.0, 60.0, 40.0]

        def body() -> None:
            self.text(x, y_tab - 1.5, "年金から差し引く国民健康保険税", 8.5)
            self.grid(x, y_tab, widths, [7.0] + [6.0] * 6 + [6.5])
            xx = x
            for w, h in zip(widths, ("区分", "徴収月", "年金支払日", "税額（円）"), strict=True):
                self.text(xx + w / 2, y_tab + 4.8, h, 8.5, "c")
                xx += w
            self.text(x + widths[0] / 2, y_tab + 7 + 36 + 4.5, "計", 8.5, "c")
            self._annual_static(y_tab + 54, "年税額")
            self._footer_static(190)

        self._page_common(row, str(self.titles["withholding_start"]), self.texts["withholding_start_intro"],
                          "withholding_start", body)
        yy = y_tab + 7
        total = 0
        for j in range(1, 7):
            month = row[f"withholding_{j}_month"]
            if month is None:
                break
            amount = int(row[f"withholding_{j}_amount"] or 0)
            total += amount
            kind = "仮徴収" if month in self.provisional else "本徴収"
            self.text(x + widths[0] / 2, yy + 4.2, kind, 9, "c")
            self.text(x + widths[0] + widths[1] / 2, yy + 4.2, f"{month}月", 9, "c")
            self.text(x + widths[0] + widths[1] + widths[2] / 2, yy + 4.2,
                      self.wareki.date(row[f"withholding_{j}_due_date"]), 9, "c")
            self.text(x + sum(widths) - 2, yy + 4.2, yen(amount), 9, "r")
            yy += 6
        self.text(x + sum(widths) - 2, y_tab + 7 + 36 + 4.5, yen(total), 9, "r")
        self.bold(210 - self.margin_r - 7, y_tab + 54 + 6.4, yen(row["annual_tax"]), 13, "r")
        if row["ordinary_total"]:
            self.text(x, y_tab + 72, f"このほか普通徴収分 {yen(row['ordinary_total'])}円 は、納税通知書の納期限までに納付書または口座振替で納めてください。", 8.5)

    # --- 納付書 --------------------------------------------------------------------------------

    def _slip_static(self) -> None:
        """One slip at the top third of the page (y 0..99 mm); drawn at offsets for the others."""
        left_w, x0 = 128.0, 4.0
        top = 5.0
        # 領収済通知書 (for the bank / CVS) — left
        self.bold(x0 + 2, top + 5, str(self.titles["payment_slip"]), 11)
        self.text(x0 + left_w - 2, top + 5, "（領収済通知書）", 8, "r")
        self.grid(x0, top + 8, [20.0, 30.0, 18.0, 60.0], [7.0, 7.0], head_fill=None)
        for (cx, cy, label) in ((x0, top + 8, "年度"), (x0 + 50, top + 8, "期別"), (x0, top + 15, "通知書番号"),
                                (x0 + 50, top + 15, "納期限")):
            self.box(cx, cy, 20 if cx == x0 else 18, 7, width=0, fill=0.92)
            self.text(cx + 1.5, cy + 4.8, label, 8)
        self.grid(x0, top + 8, [20.0, 30.0, 18.0, 60.0], [7.0, 7.0], head_fill=None)
        self.text(x0, top + 27, "納付者", 8)
        self.grid(x0 + 70, top + 24, [18.0, 40.0], [10.0], head_fill=None)
        self.box(x0 + 70, top + 24, 18, 10, width=0, fill=0.85)
        self.grid(x0 + 70, top + 24, [18.0, 40.0], [10.0], head_fill=None, width=0.8)
        self.text(x0 + 79, top + 30.5, "納付額", 9, "c")
        self.text(x0 + 126, top + 31, "円", 9, "r")
        self.text(x0, top + 40, f"取りまとめ：{self.issuer['name']}", 7)
        self.text(x0, top + 44, str(self.texts["slip_note"]), 7)
        # cut line between the two parts
        self.line(x0 + left_w + 2, 2, x0 + left_w + 2, 97, 0.3, dash=(2, 2))
        # 領収証書 (for the taxpayer) — right
        rx, rw = x0 + left_w + 5, 210 - (x0 + left_w + 5) - 4
        self.bold(rx + rw / 2, top + 5, "領収証書", 11, "c")
        self.grid(rx, top + 8, [18.0, rw - 18.0], [6.0] * 5, head_fill=None)
        for k, label in enumerate(("年度", "期別", "納期限", "通知書番号", "納付額")):
            self.box(rx, top + 8 + 6 * k, 18, 6, width=0, fill=0.92)
            self.text(rx + 1.5, top + 8 + 6 * k + 4.2, label, 7.5)
        self.grid(rx, top + 8, [18.0, rw - 18.0], [6.0] * 5, head_fill=None)
        self.text(rx + rw - 1.5, top + 8 + 24 + 4.3, "円", 8, "r")
        self.text(rx, top + 44, "上記のとおり領収しました。", 7)
        self.c.setLineWidth(0.4)
        self.c.circle((rx + rw / 2) * mm, PAGE_H - (top + 66) * mm, 13 * mm, stroke=1, fill=0)
        self.text(rx + rw / 2, top + 83, "領収日付印", 7, "c")
        # cut line under the slip
        self.line(0, 99, 210, 99, 0.3, dash=(3, 2))

    def _slip(self, row: dict[str, Any], slot: int, pos: int) -> None:
        c = self.c
        dy = pos * 99.0
        c.saveState()
        c.translate(0, -dy * mm)
        self.form("slip", self._slip_static)
        x0, top, left_w = 4.0, 5.0, 128.0
        fy = self._fy_label(row)
        no = row[f"ordinary_{slot}_no"]
        due = self.wareki.date(row[f"ordinary_{slot}_due_date"])
        amount = int(row[f"ordinary_{slot}_amount"])
        notice_no = self._notice_no(row)
        self.text(x0 + 21.5, top + 12.8, fy, 9)
        self.text(x0 + 69.5, top + 12.8, f"第{no}期", 9)
        self.text(x0 + 21.5, top + 19.8, notice_no, 9)
        self.text(x0 + 69.5, top + 19.8, due, 9)
        self.fit(x0, top + 31.5, f"{row['addressee_name']}　様", 66, 10)
        addr = (row["address"] or "") + ("　" + row["address_building"] if row["address_building"] else "")
        self.fit(x0, top + 35.5, addr, 66, 7)
        self.bold(x0 + 120, top + 31.2, yen(amount), 13, "r")
        code = row[f"ordinary_{slot}_barcode"]
        if code:
            self._barcode(x0 + 2, top + 64, code)
            self.text(x0 + 2 + self.quiet * self.module / mm, top + 68.5, gs1.human_readable(code), 7.2)
            self.stats.barcodes += 1
            if self.record_barcodes:
                self.stats.drawn_barcodes.append((self.stats.pages + 1, row["household_id"], slot, code))
        else:
            self.text(x0 + 2, top + 58, str(self.texts["slip_no_cvs"]), 7.5)
        rx, rw = x0 + left_w + 5, 210 - (x0 + left_w + 5) - 4
        self.text(rx + 19.5, top + 12.3, fy, 8)
        self.text(rx + 19.5, top + 18.3, f"第{no}期", 8)
        self.text(rx + 19.5, top + 24.3, due, 8)
        self.text(rx + 19.5, top + 30.3, notice_no, 8)
        self.text(rx + rw - 5, top + 36.3, yen(amount), 9, "r")
        self.fit(rx, top + 48, f"{row['addressee_name']}　様", rw, 9)
        c.restoreState()
        self.stats.slips += 1

    def _barcode(self, x: float, y_bottom: float, code: str) -> None:
        """GS1-128 (START C, FNC1, 22 double-digit symbols, modulo-103 check, STOP) as one filled
        path, in module units under a scaling matrix."""
        left = x * mm + self.quiet * self.module
        base = PAGE_H - y_bottom * mm
        rects = " ".join(f"{o} 0 {w} 1 re" for o, w in bars(code))
        self.c.addLiteral(f"q {self.module:.4f} 0 0 {self.bar_height:.4f} {left:.3f} {base:.3f} cm {rects} f Q")


# --- GS1-128 symbol ------------------------------------------------------------------------------


START_C, CODE128_FNC1, STOP = 105, 102, 106


def symbol_values(code: str) -> list[int]:
    """Code 128 symbol values of the GS1-128 symbol for the 44 digits: START C, FNC1, the digit
    pairs, the modulo-103 check (weights 1, 1, 2, 3 …), STOP. Tests check it against reportlab's
    ``Code128("\\xf1" + digits)`` encoder, which gives the same values."""
    digits = "".join(code.split())
    if len(digits) != gs1.LENGTH or not digits.isdigit():
        raise NoticeError(f"バーコードのデータは{gs1.LENGTH}桁の数字です: {code!r}")
    values = [START_C, CODE128_FNC1] + [int(digits[k:k + 2]) for k in range(0, len(digits), 2)]
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    return values + [check, STOP]


def reportlab_symbol_values(code: str) -> list[int]:
    """The same symbol values from reportlab's Code128 (FNC1 as \\xf1)."""
    bc = Code128(FNC1 + "".join(code.split()), quiet=0)
    bc.validate()
    return list(bc.encode())


@functools.lru_cache(maxsize=1)
def _symbol_bars() -> dict[int, tuple[tuple[int, int], ...]]:
    """Per symbol value: (offset, width) in modules of its bars (reportlab's Code 128 table)."""
    out = {}
    for value, pattern in rl_code128._patterns.items():
        pos, rects = 0, []
        for ch in pattern:
            w = ord(ch.upper()) - ord("A") + 1
            if ch.isupper():
                rects.append((pos, w))
            pos += w
        out[value] = tuple(rects)
    return out


def bars(code: str) -> list[tuple[int, int]]:
    """(offset, width) in modules of every bar of the GS1-128 symbol (no quiet zones)."""
    table = _symbol_bars()
    out, pos = [], 0
    for v in symbol_values(code):
        for o, w in table[v]:
            out.append((pos + o, w))
        pos += 11
    return out


def symbol_width_modules(code: str) -> int:
    """Width of the symbol in modules (11 per symbol, 13 for STOP), quiet zones excluded."""
    return 11 * (len(symbol_values(code)) - 1) + 13


# --- helpers -------------------------------------------------------------------------------------


def _triangle(v: int) -> str:
    """Negative amounts with △ (the Japanese minus of ledgers)."""
    return f"△{-v:,}" if v < 0 else f"{v:,}"


def _signed(v: int) -> str:
    return f"+{v:,}" if v > 0 else (f"△{-v:,}" if v < 0 else "0")


def _wrap(s: str, font: str, size: float, width_mm: float) -> list[str]:
    if not s:
        return []
    limit = width_mm * mm
    lines, cur, w = [], [], 0.0
    for ch in s:
        if ch == "\n":
            lines.append("".join(cur))
            cur, w = [], 0.0
            continue
        cw = _char_width(font, size, ch)
        if cur and w + cw > limit:
            lines.append("".join(cur))
            cur, w = [], 0.0
        cur.append(ch)
        w += cw
    if cur:
        lines.append("".join(cur))
    return lines


@functools.lru_cache(maxsize=65536)
def _char_width(font: str, size: float, ch: str) -> float:
    return pdfmetrics.stringWidth(ch, font, size)


def pages_per_notice(row: dict[str, Any], slips_per_page: int = 3) -> int:
    """How many pages ``NoticeWriter.add`` makes for a row (all documents)."""
    slips = sum(1 for i in range(1, 11) if row[f"ordinary_{i}_amount"])
    wh = 1 if row["withholding_count"] and row["notice_kind"] != NOTICE_CHANGE else 0
    return 1 + wh + math.ceil(slips / slips_per_page)
