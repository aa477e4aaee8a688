"""PDFs and print data of the 滞納整理 records (TN210–TN410): the 分割納付 納付書 and the lists.

    summary = write_plan_print_file(rows, cfg, "var/outbox/print/arrears_plan_<gen>.dat", issue_date=d)
    stats = render_plan_slips(rows, cfg, "var/reports/arrears/<gen>/bunkatsu_nofusho.pdf")
    stats = render_list(cfg, path, title=..., subtitle=..., columns=[(key, label, kind, width)], rows=frame)

``rows`` of the plan has ``PLAN_COLUMNS``: one row per 回 of a plan (one 納付書), in print order.
The PDF gives each plan a cover page (宛名 in the window of a 長3 envelope, 通知者 and 発行日, the
title and the plan's text, the table of every 回: 納付期日, 納付額, the 期別 its 納付書 names) and
then its 納付書, three to a page, each with the GS1-128 barcode of that 回 (``barcode`` null → no
barcode and the no_cvs text of the 督促状). The lists (履行状況一覧, 再送付一覧, 公示送達対象者一覧,
執行停止一覧) are plain tables, as many A4 pages as needed (page x / n). Deterministic output
(reportlab invariant mode), written atomically. Wording: ``arrears_records.plan`` and
``dunning_reports.notice.no_cvs``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from jobs.common.config import Config

from .arrears_docs import DocStats, DocWriter, as_date, require_columns, write_print_records
from .notices import NoticeWriter
from .notices.primitives import yen

__all__ = ["PLAN_COLUMNS", "PLAN_LAYOUT_ID", "PlanPrintSummary", "DocStats", "render_list", "render_plan_slips",
           "write_plan_print_file"]

PLAN_LAYOUT_ID = "arrears_plan_print"
PLAN_COLUMNS = ("plan_id", "plan_no", "installment_count", "person_id", "household_id", "postal_code", "address",
                "addressee_name", "registered_date", "due_date", "amount", "plan_amount", "slip_levy_year",
                "slip_notice_number", "slip_installment_no", "barcode")
WIDTH = 180.0


@dataclass(frozen=True)
class PlanPrintSummary:
    path: Path
    slips: int
    amount_total: int


def write_plan_print_file(rows: pl.DataFrame, cfg: Config, path: str | Path, *, issue_date: dt.date,
                          creation_date: dt.date | None = None) -> PlanPrintSummary:
    """The print-data file (layout ``arrears_plan_print``): header, one data record per 回, trailer
    with the count and the sum. Written atomically by the codec's FileWriter."""
    require_columns(rows, PLAN_COLUMNS, "分割納付 納付書印刷データ")
    path = Path(path)
    write_print_records(PLAN_LAYOUT_ID, rows, cfg, path, creation_date=creation_date or issue_date,
                        header={"issue_date": issue_date}, year_column="slip_levy_year")
    return PlanPrintSummary(path=path, slips=rows.height,
                            amount_total=int(rows["amount"].sum() or 0) if rows.height else 0)


def render_plan_slips(rows: pl.DataFrame, cfg: Config, path: str | Path, *, issue_date: dt.date) -> DocStats:
    """分割納付のお知らせ and its 納付書: per plan (consecutive rows with one ``plan_id``) a cover
    page and the 納付書, three to a page. An empty frame gives one page that says 該当なし."""
    require_columns(rows, PLAN_COLUMNS, "分割納付 納付書")
    with _PlanWriter(cfg, path) as w:
        for (_plan,), part in rows.group_by("plan_id", maintain_order=True):
            w.add_plan(part.to_dicts(), issue_date)
        if w.stats.documents == 0:
            w.empty_page()
    return w.stats


class _PlanWriter(DocWriter):
    creator = "kokuho-batch reports.arrears_records"

    def __init__(self, cfg: Config, path: str | Path):
        self.pc = cfg.get("arrears_records.plan")
        self.doc_title = str(self.pc["title"])
        super().__init__(cfg, path, no_cvs=str(cfg.get("dunning_reports.notice.no_cvs")))

    def empty_page(self) -> None:
        self.bold(105, 40, str(self.pc["title"]), 15, "c")
        self.text(105, 60, "該当なし", 12, "c")
        self.end_page()

    def add_plan(self, rows: list[dict[str, Any]], issue_date: dt.date) -> None:
        first = rows[0]
        x = self.margin_l
        addressee = {"postal_code": first["postal_code"], "address": first["address"], "address_building": None,
                     "addressee_name": first["addressee_name"] or "", "notice_no": first["plan_id"],
                     "issue_date": issue_date}
        self.address_block(addressee)
        self.issuer_block(addressee)
        tx, ty = 125.0, 38.0
        items = (("計画番号", str(first["plan_id"])), ("宛名番号", str(first["person_id"])),
                 ("誓約日", self.wareki.date(as_date(first["registered_date"]))),
                 ("計画額", f"{yen(int(first['plan_amount']))}円"), ("分割回数", f"{int(first['installment_count'])}回"))
        for k, (label, value) in enumerate(items):
            self.box(tx, ty + 6 * k, 24, 6, width=0, fill=0.92)
            self.text(tx + 1.5, ty + 6 * k + 4.2, label, 8)
            self.fit(tx + 26, ty + 6 * k + 4.2, value, 43, 9)
        self.grid(tx, ty, [24.0, 46.0], [6.0] * len(items), head_fill=None)
        self.bold(105, 78, str(self.pc["title"]), 15, "c")
        y = self.wrap(x, 86, str(self.pc["intro"]).strip(), WIDTH, 8.5, 4.0) + 3
        widths = [16.0, 40.0, 40.0, 84.0]
        self.grid(x, y, widths, [7.0], head_fill=0.92)
        xx = x
        for wdt, h in zip(widths, ("回", "納付期日", "納付額", "納付書の年度・通知書番号・期別"), strict=True):
            self.text(xx + wdt / 2, y + 4.8, h, 8.5, "c")
            xx += wdt
        y += 7
        for r in rows:
            if y > 270:
                break  # a plan has at most arrears_records.plan.max_installments 回; 36 fit
            self.grid(x, y, widths, [5.5], head_fill=None)
            cells = (f"{int(r['plan_no'])}", self.wareki.date(as_date(r["due_date"])), yen(int(r["amount"])),
                     f"{int(r['slip_levy_year'])}年度 {r['slip_notice_number']} 第{int(r['slip_installment_no'])}期")
            xx = x
            for k, v in enumerate(cells):
                if k == 2:
                    self.text(xx + widths[k] - 3, y + 4, v, 8.5, "r")
                else:
                    self.text(xx + widths[k] / 2, y + 4, v, 8.5, "c")
                xx += widths[k]
            y += 5.5
        self.end_page()
        self.stats.documents += 1
        for k in range(0, len(rows), 3):
            for pos, r in enumerate(rows[k:k + 3]):
                slip = {"fiscal_year": f"{int(r['slip_levy_year']):04d}", "notice_no": r["slip_notice_number"],
                        "addressee_name": r["addressee_name"] or "", "address": r["address"],
                        "address_building": None, "household_id": r["household_id"],
                        "ordinary_1_no": int(r["slip_installment_no"]), "ordinary_1_due_date": as_date(r["due_date"]),
                        "ordinary_1_amount": int(r["amount"]), "ordinary_1_barcode": r["barcode"] or None}
                self.slip(slip, 1, pos)
            self.end_page()


# --- lists --------------------------------------------------------------------------------------


def _cell(v: Any, kind: str) -> str:
    if v is None:
        return ""
    if kind == "yen":
        return yen(int(v))
    if kind == "date":
        return as_date(v).isoformat()
    return str(v)


def render_list(cfg: Config, path: str | Path, *, title: str, subtitle: str,
                columns: Sequence[tuple[str, str, str, float]], rows: pl.DataFrame,
                footer: str = "") -> DocStats:
    """A table on A4 portrait pages: ``columns`` are (key, label, kind: text | yen | date, width mm);
    the widths should add up to 180. Every page has the title, the subtitle and page x / n; the
    last one the row count and ``footer``. An empty frame gives a page that says 該当なし."""
    require_columns(rows, [c[0] for c in columns], title)
    per_page = 40
    pages = max(1, -(-rows.height // per_page))
    with _ListWriter(cfg, path, title) as w:
        data = rows.to_dicts()
        for p in range(pages):
            w.page(title, subtitle, columns, data[p * per_page:(p + 1) * per_page], p + 1, pages,
                   last=(p == pages - 1), total=rows.height, footer=footer)
    return w.stats


class _ListWriter(NoticeWriter):
    def __init__(self, cfg: Config, path: str | Path, title: str):
        super().__init__(cfg, path)
        self.title = title
        self.stats = DocStats(path=self.path)

    def __enter__(self) -> _ListWriter:
        self.open_canvas(self.title, str(self.issuer["name"]), "kokuho-batch reports.arrears_records")
        return self

    def page(self, title: str, subtitle: str, columns, rows: list[dict[str, Any]], no: int, of: int, *,
             last: bool, total: int, footer: str) -> None:
        x = self.margin_l
        self.bold(105, 18, title, 14, "c")
        self.text(x, 26, subtitle, 8.5)
        self.text(210 - self.margin_r, 26, f"{self.issuer['name']}　{no} / {of}", 8.5, "r")
        widths = [float(c[3]) for c in columns]
        y = 30.0
        self.grid(x, y, widths, [7.0], head_fill=0.92)
        xx = x
        for (_k, label, _kind, wdt) in columns:
            self.fit(xx + 1, y + 4.8, label, float(wdt) - 2, 7.5)
            xx += float(wdt)
        y += 7
        if not rows and no == 1:
            self.text(105, y + 10, "該当なし", 11, "c")
        for r in rows:
            self.grid(x, y, widths, [6.0], head_fill=None)
            xx = x
            for (k, _label, kind, wdt) in columns:
                s = _cell(r[k], kind)
                if kind == "yen":
                    self.text(xx + float(wdt) - 1.5, y + 4.2, s, 7.5, "r")
                else:
                    self.fit(xx + 1, y + 4.2, s, float(wdt) - 2, 7.5)
                xx += float(wdt)
            y += 6
            self.stats.documents += 1
        if last:
            self.text(x, y + 6, f"計 {total:,}件", 9)
            if footer:
                self.wrap(x, y + 12, footer, WIDTH, 7.5, 3.8)
        self.c.showPage()
        self.stats.pages += 1
