"""延滞金 (地方税法第723条; 割合の特例 附則第3条の2) — pure functions, no database.

Rules (config ``late_fee:`` in config/common/late_fee.yaml; sources in shared/docs/TAX_RULES.md §8):

    延滞金 = Σ over the intervals of constant base and rate of ⌊base × rate × days / 365⌋,
             then 100円未満切捨て, 0 when below 1,000円.

- Days run from the day after the 納期限 to the day of payment (both inclusive). The rate is the
  ``within_month`` rate up to the day on which one month has passed counted from the day after
  the 納期限 (民法第143条), the ``after_month`` rate after it; both switch on 1 January (the
  calendar-year periods of ``late_fee.rates``). 365 days a year, leap years too.
- base = the unpaid 本税 with 1,000円未満切捨て; 0 (no 延滞金 for that interval) when below 2,000円.
- A partial payment goes to the 本税 first: from the day after it, the base is the remaining 本税
  (第723条第2項 style), so each interval between payments has its own base.

Amounts are int yen; rates are decimal strings in config and integer ``percent × 10,000`` here,
so no float touches money. ``late_fee`` is the one-installment reference; ``late_fee_frame`` is
the same rule vectorised over Polars (one row per installment, with an optional frame of partial
payments) for 督促 and the benchmark. Both are equal on every input (tests/arrears).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from jobs.common.config import Config, ConfigError

RATE_SCALE = 1_000_000  # rate units per 1.0 (percent × 10,000): 2.8% → 28,000

__all__ = ["LateFeeRules", "RatePeriod", "late_fee", "late_fee_frame", "one_month_elapsed", "fee_base"]


@dataclass(frozen=True)
class RatePeriod:
    start: dt.date
    end: dt.date
    within_month: int  # percent × 10,000
    after_month: int
    source: str = ""


@dataclass(frozen=True)
class LateFeeRules:
    """``late_fee.*`` of the config: the rate periods, units and thresholds."""

    periods: tuple[RatePeriod, ...]
    days_per_year: int = 365
    base_unit: int = 1000
    base_minimum: int = 2000
    period_unit: int = 1
    fee_unit: int = 100
    fee_minimum: int = 1000

    @classmethod
    def from_config(cls, cfg: Config) -> LateFeeRules:
        node = cfg.get("late_fee")
        periods = []
        for p in node["rates"]:
            periods.append(RatePeriod(_as_date(p["from"]), _as_date(p["to"]), _rate(p["within_month"]),
                                      _rate(p["after_month"]), str(p.get("source", ""))))
        periods.sort(key=lambda p: p.start)
        for p in periods:
            if p.end < p.start:
                raise ConfigError(f"late_fee.rates: 期間の終わりが始まりより前です: {p.start}〜{p.end}")
        for a, b in zip(periods, periods[1:]):
            if b.start <= a.end:
                raise ConfigError(f"late_fee.rates: 期間が重なっています: {a.start}〜{a.end} と {b.start}〜{b.end}")
        return cls(periods=tuple(periods), days_per_year=int(node["days_per_year"]),
                   base_unit=int(node["base_unit"]), base_minimum=int(node["base_minimum"]),
                   period_unit=int(node.get("period_unit", 0) or 0), fee_unit=int(node["fee_unit"]),
                   fee_minimum=int(node["fee_minimum"]))

    def segments(self, due_date: dt.date) -> list[tuple[dt.date, dt.date, int]]:
        """The (first day, last day, rate) pieces of the calendar after ``due_date``: each rate
        period split at the end of the first month (the last piece is open-ended to its period's end)."""
        month_end = one_month_elapsed(due_date + dt.timedelta(days=1))
        out = []
        for p in self.periods:
            for lo, hi, rate in ((p.start, min(p.end, month_end), p.within_month),
                                 (max(p.start, month_end + dt.timedelta(days=1)), p.end, p.after_month)):
                if lo <= hi:
                    out.append((lo, hi, rate))
        return out


def _rate(v) -> int:
    r = Decimal(str(v)) * 10_000
    if r != r.to_integral_value() or r < 0:
        raise ConfigError(f"late_fee.rates: 割合 {v!r} は 0.0001% 単位の非負の数にしてください")
    return int(r)


def _as_date(v) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def _rules(rates) -> LateFeeRules:
    if isinstance(rates, LateFeeRules):
        return rates
    if isinstance(rates, Config):
        return LateFeeRules.from_config(rates)
    raise TypeError(f"rates must be LateFeeRules or Config, not {type(rates).__name__}")


def one_month_elapsed(day1: dt.date) -> dt.date:
    """The day on which one month has passed counted from ``day1`` (民法第143条第2項): the day
    before the corresponding day of the next month; the next month's last day when it has none."""
    y, m = (day1.year + 1, 1) if day1.month == 12 else (day1.year, day1.month + 1)
    last = calendar.monthrange(y, m)[1]
    if day1.day > last:
        return dt.date(y, m, last)
    return dt.date(y, m, day1.day) - dt.timedelta(days=1)


def fee_base(amount: int, rules: LateFeeRules) -> int:
    """計算の基礎となる税額: 1,000円未満切捨て; 0 when the whole is below 2,000円."""
    if amount < rules.base_minimum:
        return 0
    return amount // rules.base_unit * rules.base_unit


def _finish(raw: int, rules: LateFeeRules) -> int:
    if raw < rules.fee_minimum:
        return 0
    return raw // rules.fee_unit * rules.fee_unit


def _intervals(base_amount: int, due_date: dt.date, paid: Iterable[tuple[dt.date, int]], as_of: dt.date):
    """(first day, last day, unpaid 本税) of the days after ``due_date`` up to ``as_of``: a payment on
    day P counts the old balance up to P (the 納付の日) and the new one from P + 1."""
    remaining = int(base_amount)
    start = due_date + dt.timedelta(days=1)
    for day, amount in sorted(((_as_date(d), int(a)) for d, a in paid), key=lambda x: x[0]):
        if day > as_of:
            break
        if day >= start:
            if remaining > 0:
                yield start, day, remaining
            start = day + dt.timedelta(days=1)
        remaining -= amount
    if remaining > 0 and start <= as_of:
        yield start, as_of, remaining


def late_fee(base_amount: int, due_date: dt.date, paid_intervals: Sequence[tuple[dt.date, int]],
             as_of: dt.date, rates) -> int:
    """延滞金 (yen) of one installment of ``base_amount`` 本税 due on ``due_date``, with the
    payments ``paid_intervals`` [(paid date, 本税 amount), …] (本税 first), counted up to
    ``as_of`` (the day of full payment, or the statement date) inclusive. 0 on or before the
    納期限. ``rates``: LateFeeRules or a Config with ``late_fee``. Raises ConfigError when a day
    has no configured rate."""
    rules = _rules(rates)
    due_date, as_of = _as_date(due_date), _as_date(as_of)
    if as_of <= due_date:
        return 0
    segs = rules.segments(due_date)
    raw = 0
    for lo, hi, remaining in _intervals(base_amount, due_date, paid_intervals, as_of):
        base = fee_base(remaining, rules)
        if base == 0:
            continue
        covered = 0
        for s_lo, s_hi, rate in segs:
            a, b = max(lo, s_lo), min(hi, s_hi)
            if b < a:
                continue
            days = (b - a).days + 1
            covered += days
            part = base * rate * days // (rules.days_per_year * RATE_SCALE)
            if rules.period_unit:
                part = part // rules.period_unit * rules.period_unit
            raw += part
        if covered != (hi - lo).days + 1:
            raise ConfigError(f"延滞金の割合が設定されていない日があります: {lo}〜{hi} "
                              "(late_fee.rates に年の割合を追加してください)")
    return _finish(raw, rules)


# --- vectorised ---------------------------------------------------------------------------------

KEY = ("levy_year", "notice_number", "installment_no")


def late_fee_frame(installments: pl.DataFrame, rates, *, as_of: dt.date | str = "as_of",
                   payments: pl.DataFrame | None = None, key: Sequence[str] = KEY) -> pl.Series:
    """``late_fee`` for each row of ``installments`` (columns ``key``…, ``base_amount``,
    ``due_date`` and — when ``as_of`` is a column name — that date column): an Int64 Series
    ``late_fee`` in row order. ``payments``: optional rows (``key``…, ``paid_date``, ``amount``) of
    本税 paid, in any order. ``as_of`` a date: the same day for every row."""
    rules = _rules(rates)
    if installments.height == 0:
        return pl.Series("late_fee", [], dtype=pl.Int64)
    key = list(key)
    as_of_expr = pl.lit(as_of, dtype=pl.Date) if isinstance(as_of, dt.date) else pl.col(as_of).cast(pl.Date)
    inst = installments.select(*key, pl.col("base_amount").cast(pl.Int64), pl.col("due_date").cast(pl.Date),
                               as_of_expr.alias("_as_of")).with_row_index("_row")
    start0 = pl.col("due_date") + pl.duration(days=1)
    if payments is None or payments.height == 0:
        iv = inst.select("_row", "due_date", start0.alias("lo"), pl.col("_as_of").alias("hi"),
                         pl.col("base_amount").alias("remaining"))
    else:
        iv = _payment_intervals(inst, payments, key)
    iv = iv.filter((pl.col("hi") >= pl.col("lo")) & (pl.col("remaining") >= rules.base_minimum))
    base = pl.col("remaining") // rules.base_unit * rules.base_unit
    denom = rules.days_per_year * RATE_SCALE
    month_end = _one_month_elapsed_expr(pl.col("due_date") + pl.duration(days=1))
    parts, covers = [], []
    for p in rules.periods:
        for lo_e, hi_e, rate in ((pl.lit(p.start), pl.min_horizontal(pl.lit(p.end), month_end), p.within_month),
                                 (pl.max_horizontal(pl.lit(p.start), month_end + pl.duration(days=1)), pl.lit(p.end),
                                  p.after_month)):
            a = pl.max_horizontal(pl.col("lo"), lo_e)
            b = pl.min_horizontal(pl.col("hi"), hi_e)
            days = pl.max_horizontal((b - a).dt.total_days() + 1, pl.lit(0)).cast(pl.Int64)
            part = base * rate * days // denom
            if rules.period_unit:
                part = part // rules.period_unit * rules.period_unit
            parts.append(part)
            covers.append(days)
    total = ((pl.col("hi") - pl.col("lo")).dt.total_days() + 1).cast(pl.Int64)
    per = iv.select("_row", pl.sum_horizontal(parts).cast(pl.Int64).alias("raw"),
                    (pl.sum_horizontal(covers) != total).alias("gap"), "lo", "hi")
    if per.height and per["gap"].any():
        r = per.filter(pl.col("gap")).row(0, named=True)
        raise ConfigError(f"延滞金の割合が設定されていない日があります: {r['lo']}〜{r['hi']} "
                          "(late_fee.rates に年の割合を追加してください)")
    raw = per.group_by("_row").agg(pl.col("raw").sum())
    out = inst.select("_row").join(raw, on="_row", how="left").sort("_row").select(
        pl.when(pl.col("raw").fill_null(0) < rules.fee_minimum).then(0)
        .otherwise(pl.col("raw") // rules.fee_unit * rules.fee_unit).cast(pl.Int64).alias("late_fee"))
    return out.to_series()


def _one_month_elapsed_expr(day1: pl.Expr) -> pl.Expr:
    """``one_month_elapsed`` as an expression: next month's same day − 1, or next month's last day
    when it has no such day (polars' offset_by clamps to the month end)."""
    nxt = day1.dt.offset_by("1mo")
    return pl.when(nxt.dt.day() < day1.dt.day()).then(nxt).otherwise(nxt - pl.duration(days=1))


def _payment_intervals(inst: pl.DataFrame, payments: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """One row per (installment, interval of constant unpaid 本税): columns _row, due_date, lo, hi,
    remaining. Payments after as_of are ignored; those on or before the 納期限 reduce the base
    from the start."""
    pay = (payments.select(*key, pl.col("paid_date").cast(pl.Date), pl.col("amount").cast(pl.Int64))
           .join(inst.select(*key, "_row", "due_date", "_as_of"), on=key, how="inner")
           .filter(pl.col("paid_date") <= pl.col("_as_of"))
           .with_columns(pl.max_horizontal(pl.col("paid_date"), pl.col("due_date")).alias("paid_date"))
           .group_by("_row", "paid_date").agg(pl.col("amount").sum())
           .sort("_row", "paid_date")
           .with_columns(pl.col("amount").cum_sum().over("_row").alias("cum")))
    # intervals end at each payment day (the old balance counts that day) and at as_of
    ends = pl.concat([
        pay.select("_row", pl.col("paid_date").alias("hi"), (pl.col("cum") - pl.col("amount")).alias("paid_before")),
        inst.select("_row", pl.col("_as_of").alias("hi"), pl.lit(None, dtype=pl.Int64).alias("paid_before")),
    ], how="vertical_relaxed")
    total_paid = pay.group_by("_row").agg(pl.col("amount").sum().alias("total_paid"))
    ends = (ends.join(total_paid, on="_row", how="left")
            .with_columns(pl.coalesce("paid_before", "total_paid", pl.lit(0)).alias("paid_before"))
            .join(inst.select("_row", "due_date", "base_amount"), on="_row")
            .sort("_row", "hi", "paid_before"))
    return ends.with_columns(
        pl.coalesce(pl.col("hi").shift(1).over("_row") + pl.duration(days=1),
                    pl.col("due_date") + pl.duration(days=1)).alias("lo"),
        (pl.col("base_amount") - pl.col("paid_before")).alias("remaining"),
    ).with_columns(pl.max_horizontal("lo", pl.col("due_date") + pl.duration(days=1)).alias("lo")).select(
        "_row", "due_date", "lo", "hi", "remaining")
