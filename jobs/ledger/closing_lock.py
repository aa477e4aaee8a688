"""月次締め lock: the one check where 納付履歴 (``payment``, by 収入日) and 調定履歴 (``levy_history``,
by 更正年月日) rows are written (``Tx.insert``).

A month closed by TN510 月次締め (table ``closing_month``) takes no more postings: a row dated in
it is refused (``ClosedMonthError``, a ``LedgerError`` and a ``StepError``, message KKB662E: the transaction rolls back, nothing is
posted), or — when the month was closed with ``late_posting_rule: next_month``
(config/common/closing.yaml ``closing.late_posting_rule``) — booked to the first day of the next
open month (収入日 / 更正年月日 moved; 領収日 kept), and said so in the log (KKB663W).
"""

from __future__ import annotations

import datetime as dt
import logging

import polars as pl

from jobs.common import messages

from .errors import ClosedMonthError

logger = logging.getLogger("kokuho.ledger.closing")

#: table → the date column that books a row to a month
DATE_COLUMN = {"payment": "received_date", "levy_history": "correction_date"}


def _month(d: dt.date) -> str:
    return f"{d.year:04d}{d.month:02d}"


def _next_open(month: str, closed: set[str]) -> dt.date:
    y, m = int(month[:4]), int(month[4:])
    while f"{y:04d}{m:02d}" in closed:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return dt.date(y, m, 1)


def check(table: str, frame: pl.DataFrame, closed_rows: pl.DataFrame) -> pl.DataFrame:
    """``frame`` as it may be inserted, given the closed months (``sql/ledger/closing_months``)."""
    column = DATE_COLUMN.get(table)
    if column is None or column not in frame.columns or frame.height == 0 or closed_rows.height == 0:
        return frame
    muni = frame["municipality_code"] if "municipality_code" in frame.columns else None
    months = frame.select(pl.col(column).dt.strftime("%Y%m").alias("_ym"),
                          (muni if muni is not None else pl.lit(None, dtype=pl.String)).alias("_m"))
    closed = closed_rows.select("municipality_code", "closing_month", "late_posting_rule")
    hit = months.with_row_index("_i").join(closed, left_on=["_m", "_ym"],
                                             right_on=["municipality_code", "closing_month"], how="inner")
    if hit.height == 0:
        return frame
    refuse = hit.filter(pl.col("late_posting_rule") != "next_month")
    if refuse.height:
        first = refuse.sort("_i").row(0, named=True)
        raise ClosedMonthError(table=table, rows=refuse.height, month=first["_ym"], municipality=first["_m"])
    closed_by_muni: dict[str, set[str]] = {}
    for m, ym in closed.select("municipality_code", "closing_month").iter_rows():
        closed_by_muni.setdefault(m, set()).add(ym)
    moved = {(m, ym): _next_open(ym, closed_by_muni[m]) for m, ym in hit.select("_m", "_ym").unique().iter_rows()}
    idx = hit["_i"].to_list()
    new_dates = [moved[(m, ym)] for m, ym in hit.select("_m", "_ym").iter_rows()]
    values = frame[column].to_list()
    for i, d in zip(idx, new_dates, strict=True):
        values[i] = d
    logger.warning(messages.text("KKB663W", table=table, rows=len(idx),
                                 months=",".join(sorted({ym for _, ym in moved})),
                                 to=",".join(sorted({f"{d:%Y-%m-%d}" for d in moved.values()}))))
    return frame.with_columns(pl.Series(column, values, dtype=pl.Date))
