"""督促状 (国民健康保険税): the PDF (one A4 page per 督促状, the 納付書 in its bottom third) and the
print-data file for the vendor (layout ``dunning_notice_print``).

    stats = render_dunning_notices(rows, cfg, "var/reports/dunning/<gen>/tokusoku_001.pdf")
    summary = write_print_file(rows, cfg, "var/outbox/print/TOKUSOKU_20260720.dat", issue_date=d)

``rows`` has ``DUNNING_COLUMNS`` (one row per 督促状, in print order). The page: 宛名 in the window
of a 長3 envelope, 通知者 and 発行日, 年度 / 通知書番号 / 期別 / 世帯番号, the title and the 督促 text
(地方税法第726条), the amounts (本税, 延滞金 up to the 指定期限, 督促手数料, 合計), the 指定期限, the
延滞金 note, 教示 and 問い合わせ先; below the cut line the 納付書 of the 合計 due on the 指定期限 with
its GS1-128 barcode (``barcode`` null → no barcode and the no_cvs text). Deterministic output
(reportlab invariant mode), written atomically. Wording: ``dunning_reports.notice``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from jobs.common.config import Config

from .arrears_docs import DocStats, DocWriter, as_date, require_columns, write_print_records
from .notices import NoticeError
from .notices.primitives import yen

__all__ = ["DUNNING_COLUMNS", "LAYOUT_ID", "DocStats", "PrintSummary", "render_dunning_notices",
           "write_print_file"]

LAYOUT_ID = "dunning_notice_print"
DUNNING_COLUMNS = ("dunning_no", "levy_year", "notice_number", "installment_no", "household_id", "person_id",
                   "issue_date", "postal_code", "address", "addressee_name", "due_date", "pay_by", "tax_amount",
                   "late_fee_amount", "late_fee_date", "dunning_fee_amount", "total_amount", "barcode")
WIDTH = 180.0
SLIP_POS = 2
CUT_Y = 99.0 * SLIP_POS


@dataclass(frozen=True)
class PrintSummary:
    path: Path
    notices: int
    tax_total: int
    late_fee_total: int
    dunning_fee_total: int
    grand_total: int


def _require(rows: pl.DataFrame, what: str) -> None:
    require_columns(rows, DUNNING_COLUMNS, what)


def render_dunning_notices(rows: pl.DataFrame, cfg: Config, path: str | Path) -> DocStats:
    """督促状 兼 納付書: one A4 page per row of ``rows`` (``DUNNING_COLUMNS``), in order. An empty
    frame gives one page that says 該当なし."""
    _require(rows, "督促状")
    with _DunningWriter(cfg, path) as w:
        for row in rows.iter_rows(named=True):
            w.add(row)
        if w.stats.documents == 0:
            w.empty_page()
    return w.stats


def write_print_file(rows: pl.DataFrame, cfg: Config, path: str | Path, *, issue_date: dt.date,
                     creation_date: dt.date | None = None) -> PrintSummary:
    """The print-data file (layout ``dunning_notice_print``): header, one data record per row,
    trailer with the counts and sums. Written atomically by the codec's FileWriter."""
    _require(rows, "督促状印刷データ")
    path = Path(path)
    write_print_records(LAYOUT_ID, rows, cfg, path, creation_date=creation_date or issue_date,
                        header={"issue_date": issue_date}, year_column="levy_year")

    def total(c: str) -> int:
        return int(rows[c].sum() or 0) if rows.height else 0

    return PrintSummary(path=path, notices=rows.height, tax_total=total("tax_amount"),
                        late_fee_total=total("late_fee_amount"), dunning_fee_total=total("dunning_fee_amount"),
                        grand_total=total("total_amount"))


class _DunningWriter(DocWriter):
    doc_title = "国民健康保険税 督促状"
    creator = "kokuho-batch reports.dunning"

    def __init__(self, cfg: Config, path: str | Path):
        self.dr = cfg.get("dunning_reports.notice")
        super().__init__(cfg, path, no_cvs=str(self.dr["no_cvs"]))

    def empty_page(self) -> None:
        self.bold(105, 40, str(self.dr["title"]), 15, "c")
        self.text(105, 60, str(self.dr.get("none", "該当なし")), 12, "c")
        self.end_page()

    Y_TABLE = 96.0
    TABLE_W = [16.0, 30.0, 34.0, 30.0, 30.0, 40.0]  # 期別 | 納期限 | 本税 | 延滞金 | 督促手数料 | 合計

    def _static(self) -> None:
        x = self.margin_l
        self.line(3, 99, 7, 99, 0.3)
        self.grid(x, self.Y_TABLE, self.TABLE_W, [7.0, 9.0])
        xx = x
        for w, h in zip(self.TABLE_W, ("期別", "納期限", "本税", "延滞金", "督促手数料", "合計"), strict=True):
            self.text(xx + w / 2, self.Y_TABLE + 4.8, h, 8.5, "c")
            xx += w
        self.line(0, CUT_Y, 210, CUT_Y, 0.3, dash=(3, 2))
        self.text(105, CUT_Y - 1.2, "キ リ ト リ 線", 6.5, "c")

    def add(self, row: dict[str, Any]) -> None:
        for c in ("notice_number", "levy_year", "installment_no", "pay_by", "total_amount", "issue_date"):
            if row[c] is None:
                raise NoticeError(f"督促状: {c} が空です (督促状番号 {row['dunning_no']})")
        self.form("dunning", self._static)
        x = self.margin_l
        fy = self.wareki.fiscal_year(int(row["levy_year"]), self.fy_start)
        no = int(row["installment_no"])
        addressee = {"postal_code": row["postal_code"], "address": row["address"], "address_building": None,
                     "addressee_name": row["addressee_name"] or "", "notice_no": row["notice_number"],
                     "issue_date": as_date(row["issue_date"])}
        self.address_block(addressee)
        self.issuer_block(addressee)
        tx, ty = 125.0, 38.0
        items = (("年度", fy), ("通知書番号", str(row["notice_number"])), ("期別", f"第{no}期"),
                 ("督促状番号", str(row["dunning_no"])))
        for k, (label, value) in enumerate(items):
            self.box(tx, ty + 6 * k, 24, 6, width=0, fill=0.92)
            self.text(tx + 1.5, ty + 6 * k + 4.2, label, 8)
            self.fit(tx + 26, ty + 6 * k + 4.2, value, 43, 9)
        self.grid(tx, ty, [24.0, 46.0], [6.0] * len(items), head_fill=None)
        self.bold(105, 72, f"{fy}　{self.dr['title']}", 15, "c")
        self.wrap(x, 80, str(self.dr["intro"]).strip(), WIDTH, 8.5, 4.0)
        yv = self.Y_TABLE + 13.2
        w = self.TABLE_W
        cells = (f"第{no}期", self.wareki.date(as_date(row["due_date"])), yen(int(row["tax_amount"])),
                 yen(int(row["late_fee_amount"])), yen(int(row["dunning_fee_amount"])))
        xx = x
        for k, v in enumerate(cells):
            if k < 2:
                self.text(xx + w[k] / 2, yv, v, 9.5, "c")
            else:
                self.text(xx + w[k] - 3, yv, v, 10, "r")
            xx += w[k]
        self.bold(xx + w[5] - 3, yv, yen(int(row["total_amount"])), 12, "r")
        y = self.Y_TABLE + 21
        self.box(x, y, 30, 9, width=0, fill=0.85)
        self.box(x + 90, y, 30, 9, width=0, fill=0.85)
        self.grid(x, y, [30.0, 60.0, 30.0, 60.0], [9.0], head_fill=None, width=0.6)
        self.text(x + 15, y + 6, "指定期限", 9.5, "c")
        self.bold(x + 60, y + 6.3, self.wareki.date(as_date(row["pay_by"])), 11, "c")
        self.text(x + 105, y + 6, "納付額", 9.5, "c")
        self.bold(x + WIDTH - 7, y + 6.3, yen(int(row["total_amount"])), 12, "r")
        self.text(x + WIDTH - 2, y + 6.2, "円", 9, "r")
        y = self.wrap(x, y + 15, str(self.dr["late_fee_note"]).strip(), WIDTH, 8, 3.8)
        y = self.wrap(x, y + 2, "【教示】" + str(self.dr["appeal"]).strip(), WIDTH, 7, 3.6)
        c = self.contact
        yc = max(y + 3, 184.0)
        self.text(x + 2, yc, "【問い合わせ先】", 7.5)
        self.text(x + 26, yc, f"{c['department']}　{c['address']}", 7.5)
        self.text(x + 26, yc + 4, f"電話 {c['phone']}（{c['hours']}）", 7.5)
        slip = {"fiscal_year": f"{int(row['levy_year']):04d}", "notice_no": row["notice_number"],
                "addressee_name": row["addressee_name"] or "", "address": row["address"], "address_building": None,
                "household_id": row["household_id"], "ordinary_1_no": no,
                "ordinary_1_due_date": as_date(row["pay_by"]), "ordinary_1_amount": int(row["total_amount"]),
                "ordinary_1_barcode": row["barcode"] or None}
        self.slip(slip, 1, SLIP_POS)
        self.end_page()
        self.stats.documents += 1
