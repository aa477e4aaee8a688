"""PDFs of the collection area (収納): 口座振替不能通知書 兼 納付書, 過誤納金還付・充当通知書, 収納日計表.

    stats = render_debit_failure_notices(rows, cfg, "var/reports/debit_failure.pdf")
    stats = render_refund_notices(notices_, lines, cfg, "var/reports/refunds.pdf")
    stats = render_daily_collection_report(summary, cfg, "var/reports/daily.pdf",
                                           business_date=d, municipality_name="さいたま市")

The writers are ``reports.notices.NoticeWriter`` subclasses: the same font (IPAexゴシック, embedded
subsets), drawing primitives, 宛名 block, 通知者 block, 和暦 (``Wareki``), yen formatting and the
納付書 slip with its GS1-128 barcode. Output is deterministic (reportlab invariant mode) and written
atomically (temporary file, then rename); an error leaves no file. Wording lives in
``collection_reports:`` (config/common/collection_reports.yaml); 通知者 and 問い合わせ先 are
``notices.issuer`` / ``notices.contact``.

1. 口座振替不能通知書 兼 納付書 — one A4 page per row: the notice in the upper two thirds (宛名 in
   the window of a 長3 envelope, 通知書番号, 年度, 期別, 納期限, 振替日, 振替できなかった税額, the
   reason of the 振替結果コード, the instruction, the new 納付期限) and, below the cut line, the
   納付書 of the same installment with the new deadline (``pay_by``) and the barcode (``barcode``:
   44 digits, or null → no barcode and ``collection_reports.debit_failure.no_cvs``).
2. 過誤納金還付・充当通知書 — one notice per row of ``rows`` (continued on further pages when its
   lines do not fit): 過誤納の内容, 充当した税, 還付する額 (還付金 + 還付加算金), 還付の方法, 教示.
3. 収納日計表 — a table per channel (one line per kind, 小計 per channel), the 合計 and the
   totals per kind, on as many pages as needed (page x / n). Totals are the plain sums of the rows:
   the caller gives 取消 / 振替不能 amounts with the sign it wants them counted with.

An empty input still gives a valid one-page PDF that says 該当なし (``documents == 0``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from jobs.common.config import Config

from .notices import NoticeError, NoticeWriter
from .notices.primitives import triangle, wrap_lines, yen

__all__ = [
    "DAILY_COLUMNS",
    "DEBIT_FAILURE_COLUMNS",
    "REFUND_COLUMNS",
    "REFUND_LINE_COLUMNS",
    "CollectionReportError",
    "RenderStats",
    "daily_totals",
    "render_daily_collection_report",
    "render_debit_failure_notices",
    "render_refund_notices",
]

DEBIT_FAILURE_COLUMNS = ("notice_number", "levy_year", "installment_no", "household_id", "taxpayer_name",
                         "postal_code", "address", "debit_date", "due_date", "pay_by", "result_code", "amount",
                         "barcode")
REFUND_COLUMNS = ("notice_id", "taxpayer_name", "postal_code", "address", "person_id", "decision_date",
                  "refund_amount", "refund_interest", "offset_total", "refund_method", "bank_name", "branch_name",
                  "account_type", "account_number_masked", "payment_date")
REFUND_LINE_COLUMNS = ("notice_id", "kind", "levy_year", "notice_number", "installment_no", "amount", "interest",
                       "cause_label")
REFUND_LINE_KINDS = ("overpayment", "offset", "refund")
REFUND_METHODS = ("account", "counter")
DAILY_COLUMNS = ("channel", "channel_label", "kind", "kind_label", "count", "amount")

WIDTH = 180.0  # mm between the notices' margins (15 + 180 + 15)
SLIP_POS = 2  # the 納付書 is the bottom third of the 口座振替不能通知書 page
CUT_Y = 99.0 * SLIP_POS


class CollectionReportError(NoticeError):
    """The input of a collection PDF is unusable. The message is Japanese, for operators."""


@dataclass
class RenderStats:
    """What a collection renderer wrote: ``documents`` notices (or reports) on ``pages`` pages."""

    path: Path
    pages: int = 0
    documents: int = 0
    slips: int = 0
    barcodes: int = 0
    # (page number 1-based, household_id, slot, 44 digits) of every barcode drawn when
    # record_barcodes=True (the notices' slip records it; tests decode the page image)
    drawn_barcodes: list[tuple[int, str, int, str]] = field(default_factory=list)


# --- public API --------------------------------------------------------------------------------


def render_debit_failure_notices(rows: pl.DataFrame, cfg: Config, path: str | Path, *,
                                 issue_date: dt.date | None = None, record_barcodes: bool = False) -> RenderStats:
    """口座振替不能通知書 兼 納付書: one A4 page per row of ``rows`` (``DEBIT_FAILURE_COLUMNS``), in order.

    ``issue_date`` (発行日, printed top right) defaults to the row's ``issue_date`` column when the
    frame has one, else none is printed."""
    _require(rows, DEBIT_FAILURE_COLUMNS, "口座振替不能通知書")
    with _DebitFailureWriter(cfg, path, record_barcodes=record_barcodes) as w:
        for row in rows.iter_rows(named=True):
            w.add(row, issue_date if issue_date is not None else row.get("issue_date"))
        if w.stats.documents == 0:
            w.empty_page()
    return w.stats


def render_refund_notices(rows: pl.DataFrame, lines: pl.DataFrame, cfg: Config, path: str | Path) -> RenderStats:
    """過誤納金還付・充当通知書: one notice per row of ``rows`` (``REFUND_COLUMNS``) with its ``lines``
    (``REFUND_LINE_COLUMNS``, joined on ``notice_id``; kind overpayment 過誤納 / offset 充当先 /
    refund 還付, printed in the frame's order). Dated ``decision_date``."""
    _require(rows, REFUND_COLUMNS, "還付充当通知書")
    _require(lines, REFUND_LINE_COLUMNS, "還付充当通知書の明細")
    bad = sorted(set(lines.get_column("kind").drop_nulls().unique().to_list()) - set(REFUND_LINE_KINDS))
    if bad or lines.get_column("kind").null_count():
        raise CollectionReportError(f"還付充当通知書の明細の区分 (kind) が不正です: {bad or ['null']} "
                                    f"(使えるもの: {', '.join(REFUND_LINE_KINDS)})")
    by_notice: dict[Any, dict[str, list[dict[str, Any]]]] = {}
    for ln in lines.iter_rows(named=True):
        by_notice.setdefault(ln["notice_id"], {k: [] for k in REFUND_LINE_KINDS})[ln["kind"]].append(ln)
    orphans = sorted(set(by_notice) - set(rows.get_column("notice_id").to_list()), key=str)
    if orphans:
        raise CollectionReportError(f"還付充当通知書の明細に対応する通知がありません: notice_id {orphans[:5]}")
    with _RefundWriter(cfg, path) as w:
        for row in rows.iter_rows(named=True):
            w.add(row, by_notice.get(row["notice_id"], {k: [] for k in REFUND_LINE_KINDS}))
        if w.stats.documents == 0:
            w.empty_page()
    return w.stats


def render_daily_collection_report(summary: pl.DataFrame, cfg: Config, path: str | Path, *,
                                   business_date: dt.date, municipality_name: str) -> RenderStats:
    """収納日計表 of ``business_date``: ``summary`` (``DAILY_COLUMNS``) grouped by channel in order of
    first appearance, one line per row, 小計 per channel, 合計 and 区分別合計. One document."""
    _require(summary, DAILY_COLUMNS, "収納日計表")
    with _DailyWriter(cfg, path) as w:
        w.render(summary, business_date, municipality_name)
    return w.stats


# --- the writers -------------------------------------------------------------------------------


class _Writer(NoticeWriter):
    """The notices' writer with this module's stats, title and wording."""

    doc_title = ""
    section = ""

    def __init__(self, cfg: Config, path: str | Path, *, record_barcodes: bool = False):
        super().__init__(cfg, path, record_barcodes=record_barcodes)
        self.cr = cfg.get(f"collection_reports.{self.section}")
        self.stats = RenderStats(path=self.path)  # the slip updates slips / barcodes / drawn_barcodes

    def __enter__(self) -> _Writer:
        self.open_canvas(self.doc_title, str(self.issuer["name"]), "kokuho-batch reports.collection")
        return self

    def end_page(self) -> None:
        self.c.showPage()
        self.stats.pages += 1

    def empty_page(self) -> None:
        self.bold(105, 40, str(self.cr["title"]), 15, "c")
        self.text(105, 60, str(self.cr.get("none", "該当なし")), 12, "c")
        self.end_page()

    def notice_no_text(self, row: dict[str, Any]) -> str:
        """The collection's 通知書番号 (11 digits: 徴収方法区分 + 世帯番号) or notice id, as it is."""
        return str(row["notice_no"] or "")

    def fy_label(self, levy_year: Any) -> str:
        return self.wareki.fiscal_year(int(levy_year), self.fy_start)

    def date(self, d: Any) -> str:
        return self.wareki.date(_date(d))

    def contact_block(self, y: float) -> float:
        """【問い合わせ先】 (notices.contact) at y; the y below it."""
        c, x = self.contact, self.margin_l
        self.text(x + 2, y, "【問い合わせ先】", 7.5)
        self.text(x + 26, y, f"{c['department']}　{c['address']}", 7.5)
        self.text(x + 26, y + 4, f"電話 {c['phone']}（{c['hours']}）", 7.5)
        return y + 6.5

    def id_table(self, x: float, y: float, items: Sequence[tuple[str, str]], label_w: float = 24.0,
                 value_w: float = 46.0) -> None:
        heights = [6.0] * len(items)
        for k, (label, value) in enumerate(items):
            self.box(x, y + 6 * k, label_w, 6, width=0, fill=0.92)
            self.text(x + 1.5, y + 6 * k + 4.2, label, 8)
            self.fit(x + label_w + 2, y + 6 * k + 4.2, value, value_w - 3, 9)
        self.grid(x, y, [label_w, value_w], heights, head_fill=None)


# --- 口座振替不能通知書 兼 納付書 ---------------------------------------------------------------


class _DebitFailureWriter(_Writer):
    doc_title = "国民健康保険税 口座振替不能通知書 兼 納付書"
    section = "debit_failure"

    def __init__(self, cfg: Config, path: str | Path, *, record_barcodes: bool = False):
        super().__init__(cfg, path, record_barcodes=record_barcodes)
        # the slip prints texts["slip_no_cvs"] when there is no barcode: this notice's wording
        self.texts = {**self.texts, "slip_no_cvs": str(self.cr["no_cvs"])}
        self.reasons = {str(k): str(v) for k, v in (self.cr.get("result_codes") or {}).items()}

    # table of the installment (y of its top edge) and the reason row under it
    Y_TABLE, Y_REASON, Y_INSTR = 94.0, 110.0, 124.0
    TABLE_W = [20.0, 40.0, 40.0, 80.0]  # 期別 | 納期限 | 振替日 | 振替できなかった税額

    def _static(self) -> None:
        x = self.margin_l
        self.line(3, 99, 7, 99, 0.3)  # fold mark (三つ折り); the cut line is the second fold
        self.grid(x, self.Y_TABLE, self.TABLE_W, [7.0, 8.0])
        xx = x
        for w, h in zip(self.TABLE_W, ("期別", "当初の納期限", "振替日", "振替できなかった税額"), strict=True):
            self.text(xx + w / 2, self.Y_TABLE + 4.8, h, 8.5, "c")
            xx += w
        self.text(x + WIDTH - 2, self.Y_TABLE + 12.8, "円", 9, "r")
        self.box(x, self.Y_REASON, 40, 9, width=0, fill=0.92)
        self.grid(x, self.Y_REASON, [40.0, WIDTH - 40.0], [9.0], head_fill=None)
        self.text(x + 20, self.Y_REASON + 6, "振替できなかった理由", 8.5, "c")
        self.line(0, CUT_Y, 210, CUT_Y, 0.3, dash=(3, 2))
        self.text(105, CUT_Y - 1.2, "キ リ ト リ 線", 6.5, "c")

    def add(self, row: dict[str, Any], issue_date: Any) -> None:
        for col in ("notice_number", "levy_year", "installment_no", "pay_by", "amount"):
            if row[col] is None:
                raise CollectionReportError(f"口座振替不能通知書: {col} が空です (通知書番号 {row['notice_number']})")
        self.form("debit_failure", self._static)
        x = self.margin_l
        fy = self.fy_label(row["levy_year"])
        no = int(row["installment_no"])
        amount = int(row["amount"])
        addressee = {"postal_code": row["postal_code"], "address": row["address"], "address_building": None,
                     "addressee_name": row["taxpayer_name"] or "", "notice_no": row["notice_number"],
                     "issue_date": _date(issue_date)}
        self.address_block(addressee)
        self.issuer_block(addressee)
        self.id_table(125.0, 38.0, (("年度", fy), ("通知書番号", str(row["notice_number"])), ("期別", f"第{no}期"),
                                    ("世帯番号", str(row["household_id"] or ""))))
        self.bold(105, 72, f"{fy}　{self.cr['title']}", 14, "c")
        self.wrap(x, 80, str(self.cr["intro"]).strip(), WIDTH, 8.5, 4.0)
        # the installment
        yv = self.Y_TABLE + 12.8
        w = self.TABLE_W
        self.text(x + w[0] / 2, yv, f"第{no}期", 9.5, "c")
        self.text(x + w[0] + w[1] / 2, yv, self.date(row["due_date"]), 9.5, "c")
        self.text(x + w[0] + w[1] + w[2] / 2, yv, self.date(row["debit_date"]), 9.5, "c")
        self.bold(x + WIDTH - 7, yv, yen(amount), 12, "r")
        code = "" if row["result_code"] is None else str(row["result_code"]).strip()
        reason = self.reasons.get(code, str(self.cr["unknown_result"]))
        self.fit(x + 42, self.Y_REASON + 6, f"{code}　{reason}" if code else reason, WIDTH - 44, 9)
        y = self.wrap(x, self.Y_INSTR, str(self.cr["instruction"]).strip(), WIDTH, 8.5, 4.2)
        # the new deadline and the amount to pay (the slip below carries both)
        y += 3
        self.box(x, y, 30, 9, width=0, fill=0.85)
        self.box(x + 90, y, 30, 9, width=0, fill=0.85)
        self.grid(x, y, [30.0, 60.0, 30.0, 60.0], [9.0], head_fill=None, width=0.6)
        self.text(x + 15, y + 6, "納付期限", 9.5, "c")
        self.bold(x + 60, y + 6.3, self.date(row["pay_by"]), 11, "c")
        self.text(x + 105, y + 6, "納付額", 9.5, "c")
        self.bold(x + WIDTH - 7, y + 6.3, yen(amount), 12, "r")
        self.text(x + WIDTH - 2, y + 6.2, "円", 9, "r")
        self.contact_block(max(y + 16, 180.0))
        # the 納付書 of the same installment, due at pay_by
        slip = {"fiscal_year": f"{int(row['levy_year']):04d}", "notice_no": row["notice_number"],
                "addressee_name": row["taxpayer_name"] or "", "address": row["address"], "address_building": None,
                "household_id": row["household_id"], "ordinary_1_no": no, "ordinary_1_due_date": _date(row["pay_by"]),
                "ordinary_1_amount": amount, "ordinary_1_barcode": row["barcode"] or None}
        self.slip(slip, 1, SLIP_POS)
        self.end_page()
        self.stats.documents += 1


# --- 過誤納金還付・充当通知書 ------------------------------------------------------------------


class _RefundWriter(_Writer):
    doc_title = "国民健康保険税 過誤納金還付・充当通知書"
    section = "refund"

    TOP = 94.0  # where the tables start on a notice's first page
    TOP_CONT = 34.0  # … on its continuation pages
    BOTTOM = 282.0
    ROW_H = 5.5
    # 年度 | 通知書番号 | 期別 | amount columns … | 摘要
    WIDTHS = {
        "overpayment": [24.0, 30.0, 14.0, 32.0, 80.0],
        "offset": [24.0, 30.0, 14.0, 32.0, 32.0, 48.0],
        "refund": [24.0, 30.0, 14.0, 32.0, 32.0, 48.0],
    }
    HEADS = {
        "overpayment": ("年度", "通知書番号", "期別", "過誤納額（円）", "過誤納となった理由"),
        "offset": ("年度", "通知書番号", "期別", "充当額（円）", "うち還付加算金", "摘要"),
        "refund": ("年度", "通知書番号", "期別", "還付金（円）", "還付加算金（円）", "摘要"),
    }

    def add(self, row: dict[str, Any], lines: dict[str, list[dict[str, Any]]]) -> None:
        method = row["refund_method"]
        refund_total = int(row["refund_amount"] or 0) + int(row["refund_interest"] or 0)
        if refund_total and method not in REFUND_METHODS:
            raise CollectionReportError(f"還付充当通知書 {row['notice_id']}: 還付の方法 (refund_method) が不正です: "
                                        f"{method!r} (使えるもの: {', '.join(REFUND_METHODS)})")
        self.row = row
        self.page_of_notice = 0
        self._first_page(row)
        self.y = self.TOP
        x = self.margin_l

        self.heading("1　過誤納の内容")
        self.table("overpayment", lines["overpayment"], amounts=("amount",))
        self.y += 4
        self.heading("2　未納の税への充当（地方税法第17条の2）")
        self.table("offset", lines["offset"], amounts=("amount", "interest"))
        self.y += 4
        self.heading("3　還付する額（地方税法第17条・第17条の4）")
        if lines["refund"]:
            self.table("refund", lines["refund"], amounts=("amount", "interest"))
            self.y += 2
        # the decided amounts
        widths = [36.0] * 5
        self.ensure(7 + 8 + 2)
        y = self.y
        self.grid(x, y, widths, [7.0, 8.0])
        overpaid = sum(int(ln["amount"] or 0) for ln in lines["overpayment"])
        heads = ("過誤納額", "充当額", "還付金", "還付加算金", "還付する額の合計")
        values = (overpaid, row["offset_total"], row["refund_amount"], row["refund_interest"], refund_total)
        for k, (h, v) in enumerate(zip(heads, values, strict=True)):
            self.text(x + 36 * k + 18, y + 4.8, h, 8.5, "c")
            val = f"{yen(int(v or 0))}円"
            if k == 4:
                self.bold(x + 36 * (k + 1) - 2, y + 12.6, val, 11, "r")
            else:
                self.text(x + 36 * (k + 1) - 2, y + 12.5, val, 9.5, "r")
        self.y = y + 15 + 4
        # 還付の方法
        self.heading("4　還付の方法")
        if refund_total == 0:
            self.paragraph(str(self.cr["fully_offset"]))
        else:
            self.method_box(row)
        self.y += 3
        self.footer()
        self.end_page()
        self.stats.documents += 1

    # page furniture

    def _first_page(self, row: dict[str, Any]) -> None:
        addressee = {"postal_code": row["postal_code"], "address": row["address"], "address_building": None,
                     "addressee_name": row["taxpayer_name"] or "", "notice_no": row["notice_id"],
                     "issue_date": _date(row["decision_date"])}
        self.line(3, 99, 7, 99, 0.3)
        self.line(3, 198, 7, 198, 0.3)
        self.address_block(addressee)
        self.issuer_block(addressee)
        self.id_table(125.0, 38.0, (("通知書番号", str(row["notice_id"])), ("宛名番号", str(row["person_id"] or "")),
                                    ("決定日", self.date(row["decision_date"]))))
        self.bold(105, 72, str(self.cr["title"]), 14, "c")
        self.wrap(self.margin_l, 80, str(self.cr["intro"]).strip(), WIDTH, 8.5, 4.0)

    def _continuation_page(self) -> None:
        self.end_page()
        self.page_of_notice += 1
        row = self.row
        self.text(self.margin_l, 15, f"{self.cr['title']}（続き）", 10)
        self.text(210 - self.margin_r, 15, f"通知書番号 {row['notice_id']}", 9, "r")
        self.fit(self.margin_l, 22, f"{row['taxpayer_name'] or ''}　様", 100, 10)
        self.text(210 - self.margin_r, 22, f"{self.page_of_notice + 1}枚目", 9, "r")
        self.line(self.margin_l, 25, 210 - self.margin_r, 25, 0.4)
        self.y = self.TOP_CONT

    def ensure(self, h: float) -> bool:
        """Room for ``h`` mm at the cursor, else a continuation page; True when a page was started."""
        if self.y + h <= self.BOTTOM:
            return False
        self._continuation_page()
        return True

    def heading(self, s: str) -> None:
        self.ensure(6 + 7 + self.ROW_H)  # keep a heading with its table's first row
        self.text(self.margin_l, self.y + 4, s, 9.5)
        self.y += 6

    def paragraph(self, s: str, size: float = 8.5) -> None:
        lines = len(_lines(self, s, size, WIDTH - 4))
        self.ensure(lines * 4.2 + 2)
        self.y = self.wrap(self.margin_l + 2, self.y + 4, s, WIDTH - 4, size, 4.2)

    def table(self, kind: str, rows: list[dict[str, Any]], amounts: tuple[str, ...]) -> None:
        x, widths, heads = self.margin_l, self.WIDTHS[kind], self.HEADS[kind]
        rh = self.ROW_H
        n_amount = len(amounts)
        body: list[tuple[str, ...] | None] = []
        totals = [0] * n_amount
        for ln in rows:
            vals = [int(ln[a] or 0) for a in amounts]
            totals = [t + v for t, v in zip(totals, vals, strict=True)]
            body.append((self.fy_label(ln["levy_year"]) if ln["levy_year"] is not None else "",
                         str(ln["notice_number"] or ""),
                         f"第{ln['installment_no']}期" if ln["installment_no"] is not None else "",
                         *[yen(v) for v in vals], str(ln["cause_label"] or "")))
        if not body:
            body.append(None)  # 該当なし
        body_rows = [("row", b) for b in body] + ([("total", None)] if rows else [])

        def head() -> None:
            self.grid(x, self.y, widths, [7.0], head_fill=0.92)
            xx = x
            for w, h in zip(widths, heads, strict=True):
                self.fit(xx + w / 2, self.y + 4.8, h, w - 2, 8, "c")
                xx += w
            self.y += 7

        self.ensure(7 + rh)
        head()
        for what, b in body_rows:
            if self.ensure(rh):
                head()
            y = self.y
            self.grid(x, y, widths, [rh], head_fill=None)
            base = y + rh - 1.5
            if what == "total":
                self.box(x, y, sum(widths[:3]), rh, width=0.4, fill=0.92)
                self.text(x + sum(widths[:3]) / 2, base, "計", 8.5, "c")
                for k, t in enumerate(totals):
                    self.text(x + sum(widths[:4 + k]) - 1.5, base, yen(t), 8.5, "r")
            elif b is None:
                self.text(x + 1.5, base, str(self.cr["none"]), 8.5)
            else:
                self.text(x + widths[0] / 2, base, b[0], 8.5, "c")
                self.text(x + widths[0] + widths[1] / 2, base, b[1], 8.5, "c")
                self.text(x + sum(widths[:2]) + widths[2] / 2, base, b[2], 8.5, "c")
                for k in range(n_amount):
                    self.text(x + sum(widths[:4 + k]) - 1.5, base, b[3 + k], 8.5, "r")
                self.fit(x + sum(widths[:-1]) + 1.5, base, b[-1], widths[-1] - 3, 8, min_size=5)
            self.y += rh

    def method_box(self, row: dict[str, Any]) -> None:
        x = self.margin_l
        method = row["refund_method"]
        label = str(self.cr["methods"].get(method, method))
        if method == "account":
            types = {str(k): str(v) for k, v in (self.cr.get("account_types") or {}).items()}
            acct_type = types.get(str(row["account_type"] or ""), str(row["account_type"] or ""))
            items = [("還付の方法", label),
                     ("振込先", f"{row['bank_name'] or ''}　{row['branch_name'] or ''}"),
                     ("口座", f"{acct_type}　{row['account_number_masked'] or ''}"),
                     ("振込予定日", self.date(row["payment_date"]))]
            note = str(self.cr["account_note"])
        else:
            items = [("還付の方法", label), ("支払開始日", self.date(row["payment_date"]))]
            note = str(self.cr["counter_note"])
        self.ensure(6 * len(items) + 12)
        self.id_table(x, self.y, items, label_w=30.0, value_w=WIDTH - 30.0)
        self.y += 6 * len(items)
        self.paragraph(note)

    def footer(self) -> None:
        """教示 (collection_reports.refund.appeal) and 問い合わせ先 in a box at the cursor."""
        x0 = self.margin_l
        appeal = str(self.cr["appeal"]).strip()
        h = 4.5 + 4 + len(_lines(self, appeal, 7, WIDTH - 4)) * 3.6 + 1.5 + 6.5
        self.ensure(h + 1)
        top = self.y
        self.text(x0 + 2, top + 4.5, "【教示】", 7.5)
        y = self.wrap(x0 + 2, top + 8.5, appeal, WIDTH - 4, 7, 3.6)
        y = self.contact_block(y + 1.5)
        self.box(x0, top, WIDTH, y - top, width=0.4)
        self.y = y


# --- 収納日計表 --------------------------------------------------------------------------------


class _DailyWriter(_Writer):
    doc_title = "国民健康保険税 収納日計表"
    section = "daily"

    TOP, BOTTOM, ROW_H = 40.0, 280.0, 6.5
    WIDTHS = [58.0, 52.0, 30.0, 40.0]  # 収納経路 | 区分 | 件数 | 金額

    def render(self, summary: pl.DataFrame, business_date: dt.date, municipality_name: str) -> None:
        lines = _daily_lines(summary)
        per_page = int((self.BOTTOM - self.TOP - 7.0) // self.ROW_H)
        n_pages = max(1, math.ceil(len(lines) / per_page))
        for p in range(n_pages):
            self.form("daily_head", self._static)
            self.text(210 - self.margin_r, 14, f"{p + 1} / {n_pages} 頁", 9, "r")
            self.text(self.margin_l, 26, f"業務日　{self.date(business_date)}（{business_date.isoformat()}）", 10)
            self.text(210 - self.margin_r, 26, str(municipality_name), 10, "r")
            chunk = lines[p * per_page:(p + 1) * per_page]
            y = self.TOP + 7.0
            prev_channel = None
            for ln in chunk:
                self._line(ln, y, show_channel=ln["channel"] != prev_channel or ln["first"])
                prev_channel = ln["channel"]
                y += self.ROW_H
            if not lines:
                self.text(self.margin_l + 2, y + self.ROW_H - 2, str(self.cr["none"]), 9)
            self.end_page()
        self.stats.documents = 1

    def _static(self) -> None:
        x = self.margin_l
        self.bold(105, 16, str(self.cr["title"]), 15, "c")
        self.text(self.margin_l, 33, str(self.cr.get("note", "")), 7.5)
        self.grid(x, self.TOP, self.WIDTHS, [7.0])
        xx = x
        for w, h in zip(self.WIDTHS, ("収納経路", "区分", "件数", "金額（円）"), strict=True):
            self.text(xx + w / 2, self.TOP + 4.8, h, 9, "c")
            xx += w

    def _line(self, ln: dict[str, Any], y: float, show_channel: bool) -> None:
        x, w, rh = self.margin_l, self.WIDTHS, self.ROW_H
        kind = ln["type"]
        base = y + rh - 1.9
        if kind in ("subtotal", "total", "kind_head"):
            fill = 0.80 if kind == "total" else 0.92
            self.box(x, y, sum(w), rh, width=0, fill=fill)
        self.grid(x, y, w, [rh], head_fill=None, width=0.8 if kind == "total" else 0.4)
        if kind == "kind_head":
            self.text(x + 2, base, "区分別合計（全経路）", 9)
            return
        if kind == "row":
            if show_channel:
                label = ln["channel_label"] + ("" if ln["first"] else "（続き）")
                self.fit(x + 2, base, label, w[0] - 4, 9)
            self.fit(x + w[0] + 2, base, ln["kind_label"], w[1] - 4, 9)
        elif kind == "subtotal":
            self.fit(x + 2, base, ln["channel_label"], w[0] - 4, 9)
            self.text(x + w[0] + 2, base, "小計", 9)
        elif kind == "total":
            self.bold(x + w[0] + 2, base, "合計", 10)
        elif kind == "by_kind":
            self.fit(x + w[0] + 2, base, ln["kind_label"], w[1] - 4, 9)
        size = 10 if kind == "total" else 9
        draw = self.bold if kind == "total" else self.text
        draw(x + w[0] + w[1] + w[2] - 2, base, f"{ln['count']:,}", size, "r")
        draw(x + sum(w) - 2, base, triangle(ln["amount"]), size, "r")


def _daily_lines(summary: pl.DataFrame) -> list[dict[str, Any]]:
    """The 日計表's lines in print order: per channel (first appearance) its rows and 小計, then 合計,
    then the 区分別合計 (per kind, first appearance)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    labels: dict[str, str] = {}
    kinds: dict[str, dict[str, Any]] = {}
    for r in summary.iter_rows(named=True):
        ch = str(r["channel"] if r["channel"] is not None else "")
        label = str(r["channel_label"] or ch)
        labels.setdefault(ch, label)
        k = str(r["kind"] if r["kind"] is not None else "")
        klabel = str(r["kind_label"] or k)
        count, amount = int(r["count"] or 0), int(r["amount"] or 0)
        groups.setdefault(ch, []).append({"type": "row", "channel": ch, "channel_label": labels[ch],
                                          "kind_label": klabel, "count": count, "amount": amount})
        agg = kinds.setdefault(k, {"type": "by_kind", "channel": "", "kind": k, "kind_label": klabel,
                                   "count": 0, "amount": 0, "first": True})
        agg["count"] += count
        agg["amount"] += amount
    out: list[dict[str, Any]] = []
    total_count = total_amount = 0
    for ch, rows in groups.items():
        for j, r in enumerate(rows):
            out.append({**r, "first": j == 0})
        c, a = sum(r["count"] for r in rows), sum(r["amount"] for r in rows)
        total_count += c
        total_amount += a
        out.append({"type": "subtotal", "channel": ch, "channel_label": labels[ch], "count": c, "amount": a,
                    "first": True})
    if groups:
        out.append({"type": "total", "channel": "", "count": total_count, "amount": total_amount, "first": True})
        if len(kinds) > 1 or len(groups) > 1:
            out.append({"type": "kind_head", "channel": "", "first": True})
            out.extend(kinds.values())
    return out


def daily_totals(summary: pl.DataFrame) -> dict[str, Any]:
    """The 日計表's figures without drawing: {"channels": {channel: (count, amount)}, "total": (count, amount),
    "kinds": {kind: (count, amount)}} — what the PDF prints."""
    out: dict[str, Any] = {"channels": {}, "kinds": {}, "total": (0, 0)}
    for ln in _daily_lines(summary):
        if ln["type"] == "subtotal":
            out["channels"][ln["channel"]] = (ln["count"], ln["amount"])
        elif ln["type"] == "total":
            out["total"] = (ln["count"], ln["amount"])
        elif ln["type"] == "by_kind":
            out["kinds"][ln["kind"]] = (ln["count"], ln["amount"])
    return out


# --- helpers -------------------------------------------------------------------------------------


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CollectionReportError(f"{what}の入力に列がありません: {', '.join(missing)}")


def _date(v: Any) -> dt.date | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def _lines(w: NoticeWriter, s: str, size: float, width: float) -> list[str]:
    return wrap_lines(s, w.font, size, width)
