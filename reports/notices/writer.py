"""``NoticeWriter``: one PDF of notices, a row of the notice frame at a time, each row becoming its
documents in order (納税通知書 or 税額変更通知書, 特別徴収開始通知書, 納付書); ``render_pdf`` and
``write_notice_pdf`` around it."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from reportlab.lib.units import mm

from jobs.common.config import Config

from .. import print_data
from ..print_data import LAYOUT_COMPONENTS, NOTICE_CHANGE, NoticeError
from .change_notice import ChangeNotice
from .page import NoticePage
from .payment_slip import PaymentSlip
from .primitives import PdfWriter, Wareki
from .tax_notice import ITEM_LABELS, TaxNotice
from .withholding_start import WithholdingStart

DOCUMENTS = ("notice", "withholding_start", "slips")


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


# --- the writer --------------------------------------------------------------------------------


class NoticeWriter(PdfWriter, NoticePage, TaxNotice, ChangeNotice, WithholdingStart, PaymentSlip):
    """One PDF, notices added one row at a time; written atomically on a clean exit."""

    fast_pages = True
    pause_gc = True

    def __init__(self, cfg: Config, path: str | Path, *, documents: Sequence[str] = DOCUMENTS,
                 record_barcodes: bool = False):
        if bool(cfg.get("notices.el_qr.enabled", False)):
            raise NoticeError("eL-QR (地方税統一QRコード) は仕様未入手のため印刷できません: notices.el_qr.enabled を false にしてください")
        super().__init__(cfg, path)
        self.cfg = cfg
        self.documents = tuple(documents)
        self.record_barcodes = record_barcodes
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
        self.stats = RenderStats(path=self.path)

    # context manager: atomic file (PdfWriter.__exit__)
    def __enter__(self) -> NoticeWriter:
        self.open_canvas("国民健康保険税 通知書", str(self.issuer["name"]), "kokuho-batch reports.notices")
        return self

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
                    self.slip(row, slot, pos)
                self._end_page("slips")

    def _end_page(self, doc: str) -> None:
        self.c.showPage()
        self.stats.pages += 1
        self.stats.by_document[doc] += 1


def pages_per_notice(row: dict[str, Any], slips_per_page: int = 3) -> int:
    """How many pages ``NoticeWriter.add`` makes for a row (all documents)."""
    debited = set(print_data.debited_slots(row))  # 口座振替: no 納付書
    slips = sum(1 for i in range(1, 11) if row[f"ordinary_{i}_amount"] and i not in debited)
    wh = 1 if row["withholding_count"] and row["notice_kind"] != NOTICE_CHANGE else 0
    return 1 + wh + math.ceil(slips / slips_per_page)

