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

import numpy as np
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
    本税 paid, in any order. ``as_of`` a date: the same day for every row. A row with a null
    amount or date gets 0 (no 延滞金 can be counted); a payment with a null date is ignored.

    Vectorised in numpy over day numbers (issue 11 benchmark): the intervals of constant unpaid
    本税 are built per row (one per row without a partial payment after the 納期限), and the
    (rate × days) of each configured piece is computed once per distinct (納期限, first day, last
    day) of the intervals, then ⌊base × rate × days / 365⌋ per piece in int64 — no float."""
    rules = _rules(rates)
    n = installments.height
    if n == 0:
        return pl.Series("late_fee", [], dtype=pl.Int64)
    key = list(key)
    base_s = installments["base_amount"].cast(pl.Int64)
    due_s = installments["due_date"].cast(pl.Date)
    valid = ~(base_s.is_null() | due_s.is_null()).to_numpy()
    amount = base_s.fill_null(0).to_numpy().astype(np.int64, copy=False)
    due = _day_numbers(due_s)
    if isinstance(as_of, dt.date):
        asof = np.full(n, (as_of - _EPOCH).days, dtype=np.int64)
    else:
        asof_s = installments[as_of].cast(pl.Date)
        valid &= ~asof_s.is_null().to_numpy()
        asof = _day_numbers(asof_s)
    raw = np.zeros(n, dtype=np.int64)
    lo_final = due + 1
    remaining_final = amount.copy()
    if payments is not None and payments.height:
        prow, pday, pamt = _payment_rows(installments, payments, key)
        keep = valid[prow] & (pday <= asof[prow])
        prow, pday, pamt = prow[keep], pday[keep], pamt[keep]
        if prow.size:
            pday = np.maximum(pday, due[prow])  # paid on or before the 納期限: the base from the start
            order = np.lexsort((pday, prow))
            prow, pday, pamt = prow[order], pday[order], pamt[order]
            # one payment per (row, day)
            first = np.ones(prow.size, dtype=bool)
            first[1:] = (prow[1:] != prow[:-1]) | (pday[1:] != pday[:-1])
            starts = np.flatnonzero(first)
            prow, pday, pamt = prow[starts], pday[starts], np.add.reduceat(pamt, starts)
            newrow = np.ones(prow.size, dtype=bool)
            newrow[1:] = prow[1:] != prow[:-1]
            csum = np.cumsum(pamt)
            before = csum - pamt
            row_first = np.maximum.accumulate(np.where(newrow, np.arange(prow.size), 0))
            paid_before = before - before[row_first]
            # the interval ending on each payment day (the old balance counts that day)
            lo = np.empty_like(pday)
            lo[0] = 0
            lo[1:] = pday[:-1] + 1
            lo = np.where(newrow, due[prow] + 1, lo)
            rem = amount[prow] - paid_before
            sel = (pday >= lo) & (rem >= rules.base_minimum)
            if sel.any():
                r = prow[sel]
                raw_p = _interval_fees(rules, due[r], lo[sel], pday[sel], _floor(rem[sel], rules.base_unit))
                ends = np.ones(r.size, dtype=bool)
                ends[1:] = r[1:] != r[:-1]
                at = np.flatnonzero(ends)
                raw[r[at]] += np.add.reduceat(raw_p, at)
            # after the last payment: from the next day with what is left
            last = np.flatnonzero(np.append(newrow[1:], True))
            lr = prow[last]
            lo_final[lr] = pday[last] + 1
            remaining_final[lr] = amount[lr] - (csum[last] - before[row_first[last]])
    sel = valid & (asof >= lo_final) & (remaining_final >= rules.base_minimum)
    rows = np.flatnonzero(sel)
    if rows.size:
        raw[rows] += _interval_fees(rules, due[rows], lo_final[rows], asof[rows],
                                    _floor(remaining_final[rows], rules.base_unit))
    fee = np.where(raw < rules.fee_minimum, 0, _floor(raw, rules.fee_unit))
    return pl.Series("late_fee", fee, dtype=pl.Int64)


_EPOCH = dt.date(1970, 1, 1)
_DENSE_LIMIT = 1 << 22  # a lookup table up to this many slots (and 4 per value); np.unique (a sort) beyond


def _day_numbers(s: pl.Series) -> np.ndarray:
    """Days since 1970-01-01 (nulls as 0: the callers mask them)."""
    return s.cast(pl.Date).cast(pl.Int64).fill_null(0).to_numpy().astype(np.int64, copy=False)


def _floor(x: np.ndarray, unit: int) -> np.ndarray:
    return x // unit * unit if unit > 1 else x


def _payment_rows(installments: pl.DataFrame, payments: pl.DataFrame, key: list[str]):
    """(row of installments, paid day number, amount) of each payment whose key is an installment's."""
    j = (payments.select(*key, pl.col("paid_date").cast(pl.Date), pl.col("amount").cast(pl.Int64).fill_null(0))
         .filter(pl.col("paid_date").is_not_null())
         .join(installments.select(key).with_row_index("_row"), on=key, how="inner"))
    return (j["_row"].cast(pl.Int64).to_numpy(), _day_numbers(j["paid_date"]),
            j["amount"].to_numpy().astype(np.int64, copy=False))


def _codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dense code of each value, the distinct values ascending): a lookup table when the range is
    small (no sort), np.unique otherwise."""
    lo = int(x.min())
    span = int(x.max()) - lo + 1
    if span <= min(_DENSE_LIMIT, max(4 * len(x), 1 << 16)):
        present = np.zeros(span, dtype=bool)
        present[x - lo] = True
        rank = np.cumsum(present) - 1
        return rank[x - lo], np.flatnonzero(present) + lo
    vals, inv = np.unique(x, return_inverse=True)
    return inv.reshape(-1), vals


def _interval_fees(rules: LateFeeRules, due: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   base: np.ndarray) -> np.ndarray:
    """Σ over the rate pieces of ⌊base × rate × days / 365⌋ for each interval [lo, hi] (day
    numbers, lo ≤ hi) of an installment due on ``due``; ConfigError when a day has no rate."""
    cd, vd = _codes(due)
    cl, vl = _codes(lo)
    ch, vh = _codes(hi)
    packed = (cd * len(vl) + cl) * len(vh) + ch
    cu, vu = _codes(packed)
    ud, rest = np.divmod(vu, len(vl) * len(vh))
    ul, uh = np.divmod(rest, len(vh))
    ud, ul, uh = vd[ud], vl[ul], vh[uh]
    # the day on which one month has passed, per distinct 納期限
    me_of = {int(d): (one_month_elapsed(_EPOCH + dt.timedelta(days=int(d) + 1)) - _EPOCH).days for d in vd}
    me = np.array([me_of[int(d)] for d in ud], dtype=np.int64)
    pieces, covered = [], np.zeros(len(vu), dtype=np.int64)
    for p in rules.periods:
        ps, pe = (p.start - _EPOCH).days, (p.end - _EPOCH).days
        for s_lo, s_hi, rate in ((ps, np.minimum(pe, me), p.within_month),
                                 (np.maximum(ps, me + 1), pe, p.after_month)):
            days = np.maximum(np.minimum(uh, s_hi) - np.maximum(ul, s_lo) + 1, 0)
            covered += days
            if rate:
                pieces.append(days * rate)
    gap = covered != uh - ul + 1
    if gap.any():
        i = int(np.flatnonzero(gap[cu])[0])
        a, b = _EPOCH + dt.timedelta(days=int(lo[i])), _EPOCH + dt.timedelta(days=int(hi[i]))
        raise ConfigError(f"延滞金の割合が設定されていない日があります: {a}〜{b} "
                          "(late_fee.rates に年の割合を追加してください)")
    out = np.zeros(len(base), dtype=np.int64)
    if not pieces:
        return out
    rd = np.stack(pieces, axis=1)
    nz = rd != 0
    k = int(nz.sum(axis=1).max())
    if k == 0:
        return out
    rd = np.take_along_axis(rd, np.argsort(~nz, axis=1, kind="stable"), axis=1)[:, :k]
    denom = rules.days_per_year * RATE_SCALE
    for j in range(k):
        part = base * rd[cu, j] // denom
        if rules.period_unit:
            part = _floor(part, rules.period_unit)
        out += part
    return out
