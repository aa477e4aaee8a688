"""催告書 and 一斉催告書 (国民健康保険税) and the 滞納 管理帳票: the PDFs and the print-data file for the
vendor (layout ``reminder_notice_print``).

    stats = render_reminder_notices(rows, cfg, "var/reports/arrears/<gen>/saikoku_001.pdf")
    summary = write_print_file(rows, cfg, "var/outbox/print/reminder_notice_<gen>.dat", ...)
    pages = render_arrears_report(matrix, plans, cfg, "var/reports/arrears/<gen>/taino_kanri.pdf", ...)

``rows`` has ``REMINDER_COLUMNS``: one row per 催告明細 (one unpaid 期別), the rows of one 催告書
(``reminder_no``) together, in print order. A 催告書 is one A4 page: 宛名 in the window of a 長3
envelope, 通知者 and 催告日, 宛名番号 / 催告番号, the title and the text (config
``arrears_records.reminder``), the table of the 期別 (年度, 通知書番号, 期別, 納期限, 本税, 延滞金 up to
the 指定期限), the 催告額 (本税) and the 延滞金, the 指定期限 and 問い合わせ先; then its 納付書, one per
期別 (本税, due on the 指定期限, with the GS1-128 barcode), three to a page. Deterministic output
(reportlab invariant mode), written atomically.
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
from .notices import NoticeError, NoticeWriter
from .notices.primitives import postal, wrap_lines, yen

__all__ = ["KIND_CODES", "LAYOUT_ID", "REMINDER_COLUMNS", "PrintSummary", "DocStats", "render_arrears_report",
           "render_reminder_notices", "write_print_file"]

LAYOUT_ID = "reminder_notice_print"
KIND_CODES = {"current": "1", "bulk": "2"}
REMINDER_COLUMNS = ("reminder_no", "reminder_kind", "item_seq", "item_count", "person_id", "household_id",
                    "postal_code", "address", "addressee_name", "reminder_date", "pay_by", "levy_year",
                    "notice_number", "installment_no", "due_date", "tax_amount", "late_fee_amount", "late_fee_date",
                    "barcode")
WIDTH = 180.0
TABLE_ROWS = 14  # 期別 lines on the 催告書 page; more are summed on one line (the 納付書 name each)


@dataclass(frozen=True)
class PrintSummary:
    path: Path
    reminders: int
    items: int
    tax_total: int
    late_fee_total: int


def _require(rows: pl.DataFrame, what: str) -> None:
    require_columns(rows, REMINDER_COLUMNS, what)


def write_print_file(rows: pl.DataFrame, cfg: Config, path: str | Path, *, reminder_date: dt.date, kind: str,
                     creation_date: dt.date | None = None) -> PrintSummary:
    """The print-data file (layout ``reminder_notice_print``): header, one data record per 催告明細,
    trailer with the counts and sums. Written atomically by the codec's FileWriter."""
    _require(rows, "催告書印刷データ")
    path = Path(path)
    reminders = rows["reminder_no"].n_unique() if rows.height else 0
    write_print_records(LAYOUT_ID, rows, cfg, path, creation_date=creation_date or reminder_date,
                        header={"reminder_date": reminder_date, "reminder_kind": KIND_CODES[kind]},
                        year_column="levy_year", trailer={"reminder_count": reminders})

    def total(c: str) -> int:
        return int(rows[c].sum() or 0) if rows.height else 0

    return PrintSummary(path=path, reminders=reminders, items=rows.height, tax_total=total("tax_amount"),
                        late_fee_total=total("late_fee_amount"))


def render_reminder_notices(rows: pl.DataFrame, cfg: Config, path: str | Path) -> DocStats:
    """催告書 (or 一斉催告書) with their 納付書: the rows of each ``reminder_no`` make one 催告書. An
    empty frame gives one page that says 該当なし."""
    _require(rows, "催告書")
    with _ReminderWriter(cfg, path) as w:
        for _, part in rows.group_by("reminder_no", maintain_order=True):
            w.add(part.to_dicts())
        if w.stats.documents == 0:
            w.empty_page()
    return w.stats


class _ReminderWriter(DocWriter):
    doc_title = "国民健康保険税 催告書"
    creator = "kokuho-batch reports.reminder"

    def __init__(self, cfg: Config, path: str | Path):
        self.rr = cfg.get("arrears_records.reminder")
        super().__init__(cfg, path, no_cvs=str(self.rr["no_cvs"]))

    def address_block(self, row: dict[str, Any]) -> None:
        """The 宛名 in the envelope window, with the 宛名番号 under it (a 催告書 names many 通知書)."""
        w = self.window
        x, y, width = float(w["x"]) + 4, float(w["y"]), float(w["width"]) - 8
        self.text(x, y + 6, postal(row["postal_code"]), 10)
        yy = y + 12
        for line in wrap_lines(row["address"] or "", self.font, 10, width)[:2]:
            self.text(x, yy, line, 10)
            yy += 5
        self.fit(x + 4, y + 32, f"{row['addressee_name']}　様", width - 4, 14)
        self.text(x, y + float(w["height"]) - 3, f"宛名番号 {row['notice_no']}", 7)

    def empty_page(self) -> None:
        self.bold(105, 40, str(self.rr["titles"]["current"]), 15, "c")
        self.text(105, 60, "該当なし", 12, "c")
        self.end_page()

    Y_TABLE = 100.0
    TABLE_W = [24.0, 34.0, 14.0, 32.0, 38.0, 38.0]  # 年度 | 通知書番号 | 期別 | 納期限 | 本税 | 延滞金

    def add(self, items: list[dict[str, Any]]) -> None:
        first = items[0]
        for c in ("reminder_no", "reminder_kind", "pay_by", "reminder_date"):
            if first[c] is None:
                raise NoticeError(f"催告書: {c} が空です (催告番号 {first['reminder_no']})")
        kind = "bulk" if str(first["reminder_kind"]) in ("bulk", KIND_CODES["bulk"]) else "current"
        x = self.margin_l
        addressee = {"postal_code": first["postal_code"], "address": first["address"], "address_building": None,
                     "addressee_name": first["addressee_name"] or "", "notice_no": first["person_id"],
                     "issue_date": as_date(first["reminder_date"])}
        self.address_block(addressee)
        self.issuer_block(addressee)
        tx, ty = 125.0, 44.0
        for k, (label, value) in enumerate((("宛名番号", str(first["person_id"])),
                                            ("催告番号", str(first["reminder_no"])))):
            self.box(tx, ty + 6 * k, 24, 6, width=0, fill=0.92)
            self.text(tx + 1.5, ty + 6 * k + 4.2, label, 8)
            self.fit(tx + 26, ty + 6 * k + 4.2, value, 43, 9)
        self.grid(tx, ty, [24.0, 46.0], [6.0, 6.0], head_fill=None)
        self.bold(105, 76, str(self.rr["titles"][kind]), 15, "c")
        self.wrap(x, 84, str(self.rr["intro"][kind]).strip(), WIDTH, 8.5, 4.0)
        w = self.TABLE_W
        shown = items if len(items) <= TABLE_ROWS else items[:TABLE_ROWS - 1]
        rest = items[len(shown):]
        n_lines = len(shown) + (1 if rest else 0) + 1
        self.grid(x, self.Y_TABLE, w, [6.0] + [5.5] * n_lines)
        xx = x
        for width, h in zip(w, ("年度", "通知書番号", "期別", "納期限", "本税", "延滞金"), strict=True):
            self.text(xx + width / 2, self.Y_TABLE + 4.2, h, 8, "c")
            xx += width
        y = self.Y_TABLE + 6.0
        for it in shown:
            fy = self.wareki.fiscal_year(int(it["levy_year"]), self.fy_start)
            cells = (fy, str(it["notice_number"]), f"第{int(it['installment_no'])}期",
                     self.wareki.date(as_date(it["due_date"])), yen(int(it["tax_amount"])),
                     yen(int(it["late_fee_amount"])))
            self._row(x, y, cells)
            y += 5.5
        if rest:
            self._row(x, y, (f"ほか{len(rest)}期", "", "", "", yen(sum(int(i["tax_amount"]) for i in rest)),
                             yen(sum(int(i["late_fee_amount"]) for i in rest))))
            y += 5.5
        tax = sum(int(i["tax_amount"]) for i in items)
        fee = sum(int(i["late_fee_amount"]) for i in items)
        self._row(x, y, ("合計", f"{len(items)}期", "", "", yen(tax), yen(fee)), bold=True)
        y += 10.0
        self.box(x, y, 30, 9, width=0, fill=0.85)
        self.box(x + 90, y, 30, 9, width=0, fill=0.85)
        self.grid(x, y, [30.0, 60.0, 30.0, 60.0], [9.0], head_fill=None, width=0.6)
        self.text(x + 15, y + 6, "指定期限", 9.5, "c")
        self.bold(x + 60, y + 6.3, self.wareki.date(as_date(first["pay_by"])), 11, "c")
        self.text(x + 105, y + 6, "催告額(本税)", 9, "c")
        self.bold(x + WIDTH - 7, y + 6.3, yen(tax), 12, "r")
        self.text(x + WIDTH - 2, y + 6.2, "円", 9, "r")
        y = self.wrap(x, y + 15, str(self.rr["late_fee_note"]).strip(), WIDTH, 8, 3.8)
        y = self.wrap(x, y + 2, str(self.rr["closing"]).strip(), WIDTH, 8, 3.8)
        c = self.contact
        yc = max(y + 4, 270.0)
        self.text(x + 2, yc, "【問い合わせ先】", 7.5)
        self.text(x + 26, yc, f"{c['department']}　{c['address']}", 7.5)
        self.text(x + 26, yc + 4, f"電話 {c['phone']}（{c['hours']}）", 7.5)
        self.end_page()
        self.stats.documents += 1
        per_page = self.slips_per_page
        for k in range(0, len(items), per_page):
            for pos, it in enumerate(items[k:k + per_page]):
                slip = {"fiscal_year": f"{int(it['levy_year']):04d}", "notice_no": it["notice_number"],
                        "addressee_name": it["addressee_name"] or "", "address": it["address"],
                        "address_building": None, "household_id": it["household_id"],
                        "ordinary_1_no": int(it["installment_no"]), "ordinary_1_due_date": as_date(it["pay_by"]),
                        "ordinary_1_amount": int(it["tax_amount"]), "ordinary_1_barcode": it["barcode"] or None}
                self.slip(slip, 1, pos)  # counts slips and barcodes in self.stats
            self.end_page()

    def _row(self, x: float, y: float, cells: Sequence[str], *, bold: bool = False) -> None:
        xx = x
        for k, v in enumerate(cells):
            wk = self.TABLE_W[k]
            if k >= 4:
                (self.bold if bold else self.text)(xx + wk - 2, y + 4.0, v, 9, "r")
            elif v:
                self.fit(xx + 1.5, y + 4.0, v, wk - 3, 8.5)
            xx += wk


# --- 管理帳票 (滞納者把握) -----------------------------------------------------------------------------


def render_arrears_report(matrix: pl.DataFrame, summary: dict[str, int], plans: pl.DataFrame, cfg: Config,
                          path: str | Path, *, as_of: dt.date, amount_labels: Sequence[str],
                          age_labels: Sequence[str]) -> int:
    """The 滞納 管理帳票: 滞納者数 and 滞納額 by amount band (rows) and age band (columns) from
    ``matrix`` (amount_band, age_band, taxpayers, amount), the 現年度 / 過年度 totals of ``summary``
    and, when ``plans`` has rows (status, plans, plan_amount, paid_since), the 分割納付 履行状況.
    Returns the page count."""
    with _ReportWriter(cfg, path) as w:
        w.render(matrix, summary, plans, as_of, list(amount_labels), list(age_labels))
    return w.pages


class _ReportWriter(NoticeWriter):
    def __init__(self, cfg: Config, path: str | Path):
        super().__init__(cfg, path)
        self.pages = 0

    def __enter__(self) -> _ReportWriter:
        self.open_canvas("滞納管理帳票", str(self.issuer["name"]), "kokuho-batch reports.reminder")
        return self

    def render(self, matrix: pl.DataFrame, summary: dict[str, int], plans: pl.DataFrame, as_of: dt.date,
               amount_labels: list[str], age_labels: list[str]) -> None:
        x = 10.0
        self.bold(105, 14, "国民健康保険税 滞納管理帳票（滞納額・滞納期間別）", 13, "c")
        self.text(200, 20, f"基準日 {self.wareki.date(as_of)}　{self.issuer['name']}", 8, "r")
        y = 28.0
        for label, key in (("滞納者数", "taxpayers"), ("滞納期別数", "installments"), ("滞納額 合計", "amount"),
                           ("うち現年度分", "current_amount"), ("うち過年度分", "past_amount"),
                           ("うち保留 (分割納付・執行停止)", "held_amount")):
            value = summary.get(key, 0)
            self.text(x + 2, y, label, 9)
            self.text(x + 110, y, yen(value) + ("人" if key == "taxpayers" else "件" if key == "installments"
                                                  else "円"), 9, "r")
            y += 5.0
        y += 4.0
        label_w = 34.0
        col_w = min(26.0, (190.0 - label_w) / (len(age_labels) + 1))
        widths = [label_w] + [col_w] * (len(age_labels) + 1)
        cells: dict[tuple[int, int], tuple[int, int]] = {}
        for r in matrix.iter_rows(named=True):
            cells[(int(r["amount_band"]), int(r["age_band"]))] = (int(r["taxpayers"]), int(r["amount"]))
        self.text(x, y - 1.5, "上段: 滞納者数 (人)　下段: 滞納額 (円)　列: 最古納期限からの経過日数", 7.5)
        self.grid(x, y, widths, [7.0] + [9.0] * (len(amount_labels) + 1))
        xx = x + label_w
        self.text(x + 2, y + 4.8, "滞納額 ＼ 経過", 7.5)
        for lab in [*age_labels, "計"]:
            self.fit(xx + 1, y + 4.8, lab, col_w - 2, 7.5)
            xx += col_w
        yy = y + 7.0
        for a, alab in enumerate([*amount_labels, "計"]):
            self.fit(x + 1.5, yy + 5.5, alab, label_w - 3, 7.5)
            xx = x + label_w
            for g in range(len(age_labels) + 1):
                if a < len(amount_labels) and g < len(age_labels):
                    n, amt = cells.get((a, g), (0, 0))
                else:
                    sel = [v for (ka, kg), v in cells.items()
                           if (a == len(amount_labels) or ka == a) and (g == len(age_labels) or kg == g)]
                    n, amt = sum(v[0] for v in sel), sum(v[1] for v in sel)
                self.text(xx + col_w - 1.5, yy + 3.8, yen(n), 7.5, "r")
                self.text(xx + col_w - 1.5, yy + 7.8, yen(amt), 7, "r")
                xx += col_w
            yy += 9.0
        y = yy + 10.0
        if plans.height:
            self.bold(x, y, "分割納付 履行状況", 10)
            y += 3.0
            pw = [40.0, 30.0, 50.0, 50.0]
            self.grid(x, y, pw, [7.0] + [6.0] * plans.height)
            xx = x
            for w_, h in zip(pw, ("状態", "計画数", "計画額 (円)", "誓約後納付額 (円)"), strict=True):
                self.text(xx + w_ / 2, y + 4.8, h, 8, "c")
                xx += w_
            yy = y + 7.0
            for r in plans.iter_rows(named=True):
                vals = (str(r["status_label"]), yen(int(r["plans"])), yen(int(r["plan_amount"])),
                        yen(int(r["paid_since"])))
                xx = x
                for k, v in enumerate(vals):
                    if k == 0:
                        self.text(xx + 2, yy + 4.2, v, 8)
                    else:
                        self.text(xx + pw[k] - 2, yy + 4.2, v, 8, "r")
                    xx += pw[k]
                yy += 6.0
        self.c.showPage()
        self.pages += 1
