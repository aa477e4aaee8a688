"""期割・納期限: the installments (期別額) of the annual tax and their due dates (納期限).

Rules (TAX_RULES.md §1.4, §5; figures in ``config/municipalities/<code>/fy<YYYY>/installments.yaml``):

- 期割: the amount is divided over the installments in units of ``installments.unit`` (1,000円 by
  default, 地方税法20条の4の2⑥); every installment but the first is the same multiple of the
  unit and the remainder goes to the first (``split``). The same splitter, with a 100円 unit, gives
  the 本徴収 of 特別徴収 (remainder in October, the first of the three: ``withholding.py``).
- 納期限: one per 期 from the calendar config: the month, and the due day (``end`` = the last day
  of the month, or a day number, clamped to the month's end); a closed day moves to the next
  business day (``calendar.due_date_rule``, 地方税法20条の5②) through ``jobs.common.bizcal``.
- Mid-year households (異動): the amount is spread over the installments still open at the notice
  date (``Schedule.open_periods``: due at least ``installments.midyear.min_days_before_due`` days
  later); with none left, one extra installment (随時期) due as ``installments.midyear.extra_due``.
- The split of each installment into the tax components (医療・支援・介護・子ども) is
  ``allocate_components``: largest remainder on what is left of each component, so each
  installment's parts add up to it and each component's parts add up to the component.

Installments frame (dataset ``installments``; jobs/assessment/README.md), one row per household
× method × 期: ``fy``, ``household_id``, ``installment_no``, ``method`` (``ordinary`` 普通徴収 |
``withholding`` 特別徴収), ``month``, ``due_date``, ``amount`` and, after ``allocate_components``,
``<component>_amount`` per component. Σ amount = annual_tax per household.
"""

from __future__ import annotations

import calendar as _pycal
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from jobs.common import bizcal
from jobs.common import config as config_mod

COMPONENTS = ("medical", "elderly_support", "long_term_care", "child_support")
COMPONENT_LABELS = {"medical": "医療分", "elderly_support": "支援分", "long_term_care": "介護分",
                    "child_support": "子ども・子育て支援金分"}
ORDINARY = "ordinary"
WITHHOLDING = "withholding"
METHOD_LABELS = {ORDINARY: "普通徴収", WITHHOLDING: "特別徴収"}

SCHEMA: dict[str, pl.DataType] = {
    "fy": pl.Int32(),
    "household_id": pl.String(),
    "installment_no": pl.Int32(),
    "method": pl.String(),
    "month": pl.Int32(),
    "due_date": pl.Date(),
    "amount": pl.Int64(),
}
KEY = ("household_id", "method", "installment_no")


class InstallmentError(ValueError):
    """Amounts that cannot be split (negative, or parts that do not add up)."""


# --- the schedule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """One 期 of 普通徴収: number, collection month, calendar year and 納期限."""

    no: int
    month: int
    year: int
    due_date: dt.date


@dataclass(frozen=True)
class Schedule:
    """The 普通徴収 schedule of one fiscal year (期数, months, 納期限) and the 期割 unit."""

    fy: int
    periods: tuple[Period, ...]
    unit: int
    min_days_before_due: int
    extra_months_after: int
    extra_due_day: str | int
    due_rule: str
    calendar: bizcal.BusinessCalendar

    @classmethod
    def from_config(cls, cfg: config_mod.Config, fy: int | None = None,
                    calendar: bizcal.BusinessCalendar | None = None) -> Schedule:
        year = int(fy if fy is not None else cfg.fy)
        cal = calendar or bizcal.BusinessCalendar.from_config(cfg)
        months = [int(m) for m in cfg.get("installments.ordinary.months")]
        if not months or any(not 1 <= m <= 12 for m in months) or len(set(months)) != len(months):
            raise config_mod.ConfigError(f"installments.ordinary.months が不正です: {months}")
        due_day = cfg.get("installments.ordinary.due_day")
        rule = str(cfg.get("calendar.due_date_rule"))
        fy_start = cal.fiscal_year_start[0]
        periods = []
        for no, m in enumerate(months, start=1):
            y = fiscal_month_year(year, m, fy_start)
            periods.append(Period(no, m, y, due_date(y, m, due_day, cal, rule)))
        if any(b.due_date <= a.due_date for a, b in zip(periods, periods[1:], strict=False)):
            raise config_mod.ConfigError(f"installments.ordinary.months の納期限が年度内で昇順になりません: {months}")
        unit = int(cfg.get("installments.unit"))
        if unit < 1:
            raise config_mod.ConfigError(f"installments.unit が不正です: {unit}")
        return cls(
            fy=year, periods=tuple(periods), unit=unit,
            min_days_before_due=int(cfg.get("installments.midyear.min_days_before_due")),
            extra_months_after=int(cfg.get("installments.midyear.extra_due.months_after")),
            extra_due_day=cfg.get("installments.midyear.extra_due.due_day"),
            due_rule=rule, calendar=cal,
        )

    @property
    def months(self) -> tuple[int, ...]:
        return tuple(p.month for p in self.periods)

    def period(self, no: int) -> Period:
        for p in self.periods:
            if p.no == no:
                return p
        raise KeyError(f"期 {no} is not in the schedule")

    def period_of_month(self, month: int) -> Period:
        for p in self.periods:
            if p.month == month:
                return p
        raise KeyError(f"month {month} is not an ordinary installment month")

    def is_open(self, due: dt.date, as_of: dt.date) -> bool:
        """A 期 can still be levied or changed at ``as_of`` (its 納期限 far enough ahead)."""
        return due >= as_of + dt.timedelta(days=self.min_days_before_due)

    def open_periods(self, as_of: dt.date | None) -> tuple[Period, ...]:
        """The 期 still open at ``as_of`` (all of them when ``as_of`` is None); with none left,
        one extra 期 (随時期) numbered after the last."""
        if as_of is None:
            return self.periods
        left = tuple(p for p in self.periods if self.is_open(p.due_date, as_of))
        return left or (self.extra_period(as_of),)

    def extra_period(self, as_of: dt.date) -> Period:
        y, m = as_of.year, as_of.month + self.extra_months_after
        y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
        return Period(self.periods[-1].no + 1, m, y, due_date(y, m, self.extra_due_day, self.calendar, self.due_rule))


def fiscal_month_year(fy: int, month: int, fy_start_month: int) -> int:
    """Calendar year of ``month`` in fiscal year ``fy`` (January–March of FY2026 are in 2027)."""
    return fy if month >= fy_start_month else fy + 1


def due_date(year: int, month: int, due_day: str | int, cal: bizcal.BusinessCalendar, rule: str) -> dt.date:
    """The 納期限 of ``year``/``month``: ``due_day`` ("end" or a day number, clamped to the
    month's end), moved off a closed day by ``rule`` (next_business_day | previous_business_day | none)."""
    last = _pycal.monthrange(year, month)[1]
    if str(due_day).lower() == "end":
        day = last
    else:
        day = int(due_day)
        if not 1 <= day <= 31:
            raise config_mod.ConfigError(f"納期限の日が不正です: {due_day}")
        day = min(day, last)
    return move_off_closed_day(dt.date(year, month, day), cal, rule)


def move_off_closed_day(d: dt.date, cal: bizcal.BusinessCalendar, rule: str) -> dt.date:
    if rule == "next_business_day":
        return cal.roll_forward(d)
    if rule == "previous_business_day":
        return cal.roll_backward(d)
    if rule == "none":
        return d
    raise config_mod.ConfigError(f"期限の休日規則が不明です: {rule} (next_business_day | previous_business_day | none)")


# --- splitting --------------------------------------------------------------------------------


def split_one(total: int, n: int, unit: int) -> list[int]:
    """``total`` over ``n`` parts: parts 2..n are ``floor(total / n)`` floored to ``unit``, the
    first takes the remainder (地方税法20条の4の2⑥). The scalar reference of ``split``."""
    total, n, unit = int(total), int(n), int(unit)
    if n < 1 or unit < 1:
        raise InstallmentError(f"n={n} unit={unit}")
    if total < 0:
        raise InstallmentError(f"負の額は期割できません: {total}")
    rest = (total // n) // unit * unit
    return [total - rest * (n - 1)] + [rest] * (n - 1)


def split(totals: Sequence[int] | np.ndarray | pl.Series, n: int, unit: int) -> np.ndarray:
    """Vectorized ``split_one``: an (len(totals), n) int64 matrix, rows summing to ``totals``."""
    t = np.asarray(totals.to_numpy() if isinstance(totals, pl.Series) else totals, dtype=np.int64)
    if n < 1 or unit < 1:
        raise InstallmentError(f"n={n} unit={unit}")
    if t.size and t.min() < 0:
        raise InstallmentError(f"負の額は期割できません: {int(t.min())}")
    rest = (t // n) // unit * unit
    out = np.repeat(rest[:, None], n, axis=1)
    if n:
        out[:, 0] = t - rest * (n - 1)
    return out


def rows_from_matrix(fy: int, household_ids: Sequence[str] | pl.Series, periods: Sequence[Period],
                     matrix: np.ndarray, method: str) -> pl.DataFrame:
    """Long installments frame from a (households × periods) amount matrix."""
    ids = pl.Series("household_id", household_ids, dtype=pl.String)
    h, n = len(ids), len(periods)
    if matrix.shape != (h, n):
        raise InstallmentError(f"matrix shape {matrix.shape} != ({h}, {n})")
    return pl.DataFrame({
        "fy": pl.Series(np.full(h * n, fy), dtype=pl.Int32),
        "household_id": ids.gather(np.repeat(np.arange(h), n)) if h else ids,
        "installment_no": pl.Series(np.tile([p.no for p in periods], h), dtype=pl.Int32),
        "method": pl.Series([method] * (h * n), dtype=pl.String),
        "month": pl.Series(np.tile([p.month for p in periods], h), dtype=pl.Int32),
        "due_date": pl.Series(np.tile(np.array([p.due_date for p in periods], dtype="datetime64[D]"), h),
                              dtype=pl.Date),
        "amount": pl.Series(matrix.reshape(-1), dtype=pl.Int64),
    }).select(list(SCHEMA))


def ordinary_installments(totals: pl.DataFrame, schedule: Schedule, *, as_of: dt.date | None = None,
                          amount_column: str = "annual_tax",
                          periods: Sequence[Period] | None = None) -> pl.DataFrame:
    """普通徴収 rows of every household in ``totals`` (``household_id`` + ``amount_column``):
    the amount split over ``periods`` (default: the schedule's 期 still open at ``as_of``,
    all of them when ``as_of`` is None) with the schedule's unit, remainder in the first."""
    ps = tuple(periods) if periods is not None else schedule.open_periods(as_of)
    amounts = totals[amount_column].fill_null(0)
    m = split(amounts, len(ps), schedule.unit)
    return rows_from_matrix(schedule.fy, totals["household_id"], ps, m, ORDINARY)


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def sort_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Households in order; within one, by 納期限, then 特別徴収 before 普通徴収 on the same day, then 期."""
    return rows.sort(["household_id", "due_date", pl.col("method") != WITHHOLDING, "installment_no"])


# --- components -------------------------------------------------------------------------------


def component_columns(frame: pl.DataFrame, components: Iterable[str] = COMPONENTS) -> list[str]:
    return [f"{c}_amount" for c in components if f"{c}_amount" in frame.columns]


def proportional(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split each ``totals[i]`` (≥ 0) over the columns in proportion to ``weights[i]`` (≥ 0, some
    positive when the total is), largest remainder, never above the weight: an int64 matrix whose
    rows sum to ``totals``. A row with no weight left takes ``totals`` in column 0 (caller checks)."""
    t = np.asarray(totals, dtype=np.int64)
    w = np.asarray(weights, dtype=np.int64)
    wsum = w.sum(axis=1)
    safe = np.where(wsum > 0, wsum, 1)
    prod = t[:, None] * w
    base = prod // safe[:, None]
    frac = prod % safe[:, None]
    left = t - base.sum(axis=1)
    # rank the columns by remainder (largest first; ties: leftmost first) and add 1 to the top `left`
    order = np.argsort(-frac, axis=1, kind="stable")
    rank = np.empty_like(order)
    rows = np.arange(len(t))[:, None]
    rank[rows, order] = np.arange(w.shape[1])[None, :]
    base += (rank < left[:, None]) & (frac > 0)
    nowt = wsum == 0
    if nowt.any():
        base[nowt] = 0
        base[nowt, 0] = t[nowt]
    return base


def allocate_components(rows: pl.DataFrame, targets: pl.DataFrame,
                        components: Iterable[str] = COMPONENTS) -> pl.DataFrame:
    """Add ``<component>_amount`` to each installment row: per household, in 納期限 order, each
    installment takes from what is left of each component in proportion (largest remainder).
    ``targets`` has ``household_id`` and the ``<component>_amount`` totals (the assessment).

    Raises ``InstallmentError`` when a household's installments do not add up to its components."""
    cols = component_columns(targets, components)
    if not cols or rows.height == 0:
        return rows.with_columns([pl.lit(0, dtype=pl.Int64).alias(c) for c in cols])
    df = sort_rows(rows.with_row_index("_row").join(
        targets.select("household_id", *[pl.col(c).fill_null(0).cast(pl.Int64) for c in cols]),
        on="household_id", how="left"))
    df = df.with_columns([pl.col(c).fill_null(0) for c in cols])
    sums = df.group_by("household_id").agg(pl.col("amount").sum().alias("_inst"),
                                           *[pl.col(c).first() for c in cols])
    bad = sums.filter(pl.col("_inst") != pl.sum_horizontal(cols))
    if bad.height:
        first = bad.row(0, named=True)
        raise InstallmentError(
            f"期別額の合計が区分別の額の合計と一致しない世帯が {bad.height:,} 件あります "
            f"(例: 世帯 {first['household_id']} 期別計 {first['_inst']:,} 円)")
    hh = df["household_id"].to_numpy()
    change = np.r_[True, hh[1:] != hh[:-1]]
    starts = np.flatnonzero(change)
    group = np.cumsum(change) - 1
    seq = np.arange(df.height) - starts[group]
    amounts = df["amount"].to_numpy().astype(np.int64)
    remaining = np.stack([df[c].to_numpy()[starts] for c in cols], axis=1).astype(np.int64)
    out = np.zeros((df.height, len(cols)), dtype=np.int64)
    for k in range(int(seq.max()) + 1):
        idx = np.flatnonzero(seq == k)
        g = group[idx]
        part = proportional(amounts[idx], remaining[g])
        out[idx] = part
        remaining[g] -= part
    result = df.drop(cols).with_columns([pl.Series(c, out[:, i], dtype=pl.Int64) for i, c in enumerate(cols)])
    return result.sort("_row").drop("_row")


def check_totals(rows: pl.DataFrame, annual: pl.DataFrame, *, amount_column: str = "annual_tax") -> pl.DataFrame:
    """Households whose Σ installments differs from ``amount_column`` (empty frame when all agree)."""
    s = rows.group_by("household_id").agg(pl.col("amount").sum().alias("installments_total"))
    j = annual.select("household_id", pl.col(amount_column).fill_null(0).alias("expected")).join(
        s, on="household_id", how="full", coalesce=True)
    return j.with_columns(pl.col("installments_total").fill_null(0), pl.col("expected").fill_null(0)).filter(
        pl.col("installments_total") != pl.col("expected"))
