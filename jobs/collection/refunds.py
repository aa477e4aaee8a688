"""過誤納金の充当・還付 and 還付加算金 — pure functions over Polars frames (no database).

Rules (config ``refund:`` in config/common/refund.yaml; sources in shared/docs/TAX_RULES.md §8):

還付加算金 (地方税法第17条の4, 第20条の4の2; 附則第3条の2)
    interest = Σ over the rate periods of ⌊base × rate × days_in_period / 365⌋, then 100円未満切捨て,
    0 when below 1,000円; base = the 過誤納金 with 1,000円未満切捨て, no interest when it is below
    2,000円. 365-day year even in leap years. Days run from the 起算日 (`start`, inclusive) to the
    end day (inclusive): the day the 還付のための支出 is decided, or for an amount offset the
    充当適状日 (the day the 充当 became possible, when earlier than the 充当).
起算日 (`refund_start_date`)
    correction (第1号, 減額更正・賦課決定による過納金): the day after the payment (optionally no
    earlier than the day after the 納期限, config ``refund.start.correction.not_before_due_date``);
    duplicate / excess (第4号, 誤納): the day after the day on which one month has passed counted
    from the day after the payment (民法第143条: the day before the corresponding day of the next
    month, or that month's last day when it has no corresponding day).
充当 (地方税法第17条の2, `allocate`)
    each person's overpayments go to the same person's unpaid installments (only those past their
    納期限 on the decision day, config ``refund.offset.only_past_due``), oldest first by
    (levy_year, due_date, notice_number, installment_no) on both sides; what is left is refunded.
    The interest on an amount offset runs to its 充当適状日 = the later of the day the overpayment
    arose and the day after the target installment's 納期限, but not later than the decision day.
    The day it arose: the optional column ``arisen_date`` (e.g. the 減額更正's date); when null or
    absent, the payment day for 誤納 (duplicate / excess) and the decision day for correction.
    Thresholds and rounding apply to each offset / refund portion on its own.

Amounts are Int64 yen throughout; rates are decimal strings in config and integer
hundredths of a basis point here (percent × 10,000), so no float touches money.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from jobs.common import fixedwidth as fw
from jobs.common import paths
from jobs.common.config import Config, ConfigError

RATE_SCALE = 1_000_000  # rate units per 1.0 (i.e. percent × 10,000): 0.9% → 9,000

CAUSES = ("correction", "duplicate", "excess")
KEY = ["levy_year", "notice_number", "installment_no"]
ORDER = ["levy_year", "due_date", "notice_number", "installment_no"]

OVERPAID_COLUMNS = ["person_id", *KEY, "overpaid", "paid_date", "due_date", "cause"]
UNPAID_COLUMNS = ["person_id", *KEY, "due_date", "balance"]

OFFSET_SCHEMA = {
    "person_id": pl.String,
    "from_levy_year": pl.Int32, "from_notice_number": pl.String, "from_installment_no": pl.Int32,
    "to_levy_year": pl.Int32, "to_notice_number": pl.String, "to_installment_no": pl.Int32,
    "amount": pl.Int64, "cause": pl.String, "start_date": pl.Date, "offset_date": pl.Date, "interest": pl.Int64,
}
REFUND_SCHEMA = {
    "person_id": pl.String, "levy_year": pl.Int32, "notice_number": pl.String, "installment_no": pl.Int32,
    "amount": pl.Int64, "cause": pl.String, "start_date": pl.Date, "end_date": pl.Date, "interest": pl.Int64,
}


# --- rules from config --------------------------------------------------------------------------

@dataclass(frozen=True)
class RatePeriod:
    start: dt.date
    end: dt.date
    rate: int  # percent × 10,000 (0.9% → 9,000)
    source: str = ""


@dataclass(frozen=True)
class InterestRules:
    """The 還付加算金 rules of ``refund.interest`` (rates per period, units and thresholds)."""

    periods: tuple[RatePeriod, ...]
    days_per_year: int = 365
    base_unit: int = 1000
    base_minimum: int = 2000
    period_unit: int = 1
    interest_unit: int = 100
    interest_minimum: int = 1000

    @classmethod
    def from_config(cls, cfg: Config) -> "InterestRules":
        node = cfg.get("refund.interest")
        periods = []
        for p in node["rates"]:
            rate = Decimal(str(p["percent"])) * 10_000
            if rate != rate.to_integral_value() or rate < 0:
                raise ConfigError(f"refund.interest.rates: 割合 {p['percent']!r} は 0.0001% 単位の非負の数にしてください")
            periods.append(RatePeriod(_as_date(p["from"]), _as_date(p["to"]), int(rate), str(p.get("source", ""))))
        periods.sort(key=lambda p: p.start)
        for a, b in zip(periods, periods[1:]):
            if b.start <= a.end:
                raise ConfigError(f"refund.interest.rates: 期間が重なっています: {a.start}〜{a.end} と {b.start}〜{b.end}")
        for p in periods:
            if p.end < p.start:
                raise ConfigError(f"refund.interest.rates: 期間の終わりが始まりより前です: {p.start}〜{p.end}")
        return cls(
            periods=tuple(periods),
            days_per_year=int(node["days_per_year"]),
            base_unit=int(node["base_unit"]),
            base_minimum=int(node["base_minimum"]),
            period_unit=int(node.get("period_unit", 0) or 0),
            interest_unit=int(node["interest_unit"]),
            interest_minimum=int(node["interest_minimum"]),
        )


def _as_date(v) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def _rules(rates) -> InterestRules:
    if isinstance(rates, InterestRules):
        return rates
    if isinstance(rates, Config):
        return InterestRules.from_config(rates)
    raise TypeError(f"rates must be InterestRules or Config, not {type(rates).__name__}")


# --- 還付加算金 ----------------------------------------------------------------------------------

def interest_base(amount: int, rules: InterestRules) -> int:
    """The 計算の基礎となる過誤納金: 1,000円未満切捨て; 0 when below 2,000円."""
    if amount < rules.base_minimum:
        return 0
    return amount // rules.base_unit * rules.base_unit


def _finish(raw: int, rules: InterestRules) -> int:
    if raw < rules.interest_minimum:
        return 0
    return raw // rules.interest_unit * rules.interest_unit


def refund_interest(amount: int, start: dt.date, end: dt.date, rates) -> int:
    """還付加算金 on ``amount`` yen for the days ``start``..``end`` (both inclusive), with the rate
    of each period for that period's days. 0 when ``end < start``. ``rates``: InterestRules or a
    Config with ``refund.interest``. Raises ConfigError when a day has no configured rate."""
    rules = _rules(rates)
    base = interest_base(int(amount), rules)
    if base == 0 or end < start:
        return 0
    covered = 0
    raw = 0
    for p in rules.periods:
        lo, hi = max(start, p.start), min(end, p.end)
        if hi < lo:
            continue
        days = (hi - lo).days + 1
        covered += days
        part = base * p.rate * days // (rules.days_per_year * RATE_SCALE)
        if rules.period_unit:
            part = part // rules.period_unit * rules.period_unit
        raw += part
    total_days = (end - start).days + 1
    if covered != total_days:
        raise ConfigError(
            f"還付加算金の割合が設定されていない日があります: {start}〜{end} のうち {total_days - covered} 日"
            " (refund.interest.rates に年の割合を追加してください)"
        )
    return _finish(raw, rules)


def refund_interest_frame(frame: pl.DataFrame, rates, *, amount: str = "amount", start: str = "start_date",
                          end: str = "end_date") -> pl.Series:
    """Vectorized `refund_interest` over the rows of ``frame`` (columns ``amount``, ``start_date``,
    ``end_date``): an Int64 Series named ``interest``, same length and order."""
    rules = _rules(rates)
    if frame.height == 0:
        return pl.Series("interest", [], dtype=pl.Int64)
    a = pl.col(amount).cast(pl.Int64)
    s = pl.col(start).cast(pl.Date)
    e = pl.col(end).cast(pl.Date)
    base = pl.when(a < rules.base_minimum).then(0).otherwise(a // rules.base_unit * rules.base_unit)
    denom = rules.days_per_year * RATE_SCALE
    parts, covers = [], []
    for p in rules.periods:
        lo = pl.max_horizontal(s, pl.lit(p.start))
        hi = pl.min_horizontal(e, pl.lit(p.end))
        days = pl.max_horizontal((hi - lo).dt.total_days() + 1, pl.lit(0)).cast(pl.Int64)
        part = base * p.rate * days // denom
        if rules.period_unit:
            part = part // rules.period_unit * rules.period_unit
        parts.append(part)
        covers.append(days)
    zero = pl.lit(0, dtype=pl.Int64)
    raw = pl.sum_horizontal(parts) if parts else zero
    covered = pl.sum_horizontal(covers) if covers else zero
    total = pl.max_horizontal((e - s).dt.total_days() + 1, pl.lit(0)).cast(pl.Int64)
    out = frame.select(
        raw=raw.cast(pl.Int64),
        gap=((covered != total) & (base > 0)).fill_null(False),
        total=total,
    )
    if out["gap"].any():
        row = int(out["gap"].arg_max())
        r = frame.row(row, named=True)
        raise ConfigError(
            f"還付加算金の割合が設定されていない日があります: {r[start]}〜{r[end]} (行 {row + 1}; "
            "refund.interest.rates に年の割合を追加してください)"
        )
    res = out.select(
        pl.when(pl.col("total") == 0).then(0)
        .when(pl.col("raw") < rules.interest_minimum).then(0)
        .otherwise(pl.col("raw") // rules.interest_unit * rules.interest_unit)
        .cast(pl.Int64).alias("interest")
    )
    return res.to_series()


# --- 起算日 -------------------------------------------------------------------------------------

def _add_one_month_elapsed(day1: dt.date) -> dt.date:
    """The day on which one month has passed counted from ``day1`` (民法第143条第2項): the day
    before the corresponding day of the next month; the next month's last day when it has none."""
    y, m = (day1.year + 1, 1) if day1.month == 12 else (day1.year, day1.month + 1)
    last = calendar.monthrange(y, m)[1]
    if day1.day > last:
        return dt.date(y, m, last)
    return dt.date(y, m, day1.day) - dt.timedelta(days=1)


def refund_start_date(cause: str, paid_date: dt.date, due_date: dt.date | None, decision_date: dt.date | None,
                      cfg: Config) -> dt.date:
    """The 起算日 of the 還付加算金 (the first day counted) for an overpayment of ``cause``.

    correction: 納付日の翌日 (地方税法第17条の4第1項第1号), no earlier than the day after the
    納期限 when ``refund.start.correction.not_before_due_date`` is true. duplicate / excess (誤納,
    第4号): the day after the day on which one month has passed from the day after the payment.
    Never later than the day after ``decision_date`` (so a decision before that day gives 0 days).
    """
    if cause not in CAUSES:
        raise ValueError(f"過誤納の事由が不正です: {cause!r} (correction | duplicate | excess)")
    node = cfg.get(f"refund.start.{cause}")
    rule = node["rule"]
    if rule == "paid_next_day":
        start = paid_date + dt.timedelta(days=1)
        if node.get("not_before_due_date") and due_date is not None:
            start = max(start, due_date + dt.timedelta(days=1))
    elif rule == "one_month_after_paid":
        start = _add_one_month_elapsed(paid_date + dt.timedelta(days=1)) + dt.timedelta(days=1)
    else:
        raise ConfigError(f"refund.start.{cause}.rule が不正です: {rule!r} (paid_next_day | one_month_after_paid)")
    if decision_date is not None:
        start = min(start, decision_date + dt.timedelta(days=1))
    return start


def _start_dates(frame: pl.DataFrame, decision_date: dt.date, cfg: Config) -> pl.Series:
    """`refund_start_date` for every row (few distinct (cause, paid, due) triples in practice)."""
    keys = frame.select("cause", "paid_date", "due_date").unique()
    starts = [refund_start_date(c, p, d, decision_date, cfg) for c, p, d in keys.iter_rows()]
    table = keys.with_columns(pl.Series("start_date", starts, dtype=pl.Date))
    return frame.join(table, on=["cause", "paid_date", "due_date"], how="left", nulls_equal=True,
                      maintain_order="left")["start_date"]


# --- 充当 and 還付 -------------------------------------------------------------------------------

def _check(frame: pl.DataFrame, columns: list[str], amount: str, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: 列がありません: {missing}")
    if frame.height and (frame[amount].is_null().any() or (frame[amount] <= 0).any()):
        raise ValueError(f"{what}: {amount} は正の整数でなければなりません")


def allocate(overpaid: pl.DataFrame, unpaid: pl.DataFrame, *, decision_date: dt.date,
             cfg: Config) -> tuple[pl.DataFrame, pl.DataFrame]:
    """充当 of each person's overpayments to the same person's unpaid installments, oldest first
    on both sides; the rest is refunded. Returns ``(offsets, refunds)``:

    offsets: person_id, from_levy_year, from_notice_number, from_installment_no, to_levy_year,
    to_notice_number, to_installment_no, amount, cause, start_date, offset_date (充当適状日 =
    the interest's end), interest.
    refunds: person_id, levy_year, notice_number, installment_no, amount, cause, start_date,
    end_date (= decision_date), interest — one row per overpayment with something left, plus any
    extra columns of ``overpaid`` (bank account, processing number …) carried through.

    Σ offsets.amount + Σ refunds.amount = Σ overpaid.overpaid exactly.
    """
    _check(overpaid, OVERPAID_COLUMNS, "overpaid", "過誤納 (overpaid)")
    _check(unpaid, UNPAID_COLUMNS, "balance", "未納 (unpaid)")
    bad = overpaid.filter(~pl.col("cause").is_in(list(CAUSES)))
    if bad.height:
        raise ValueError(f"過誤納の事由が不正です: {bad['cause'].unique().to_list()} (correction | duplicate | excess)")
    rules = InterestRules.from_config(cfg)
    day = dt.timedelta(days=1)

    o = overpaid.with_columns(
        pl.col("person_id").cast(pl.String), pl.col("levy_year").cast(pl.Int32),
        pl.col("notice_number").cast(pl.String), pl.col("installment_no").cast(pl.Int32),
        pl.col("overpaid").cast(pl.Int64), pl.col("paid_date").cast(pl.Date), pl.col("due_date").cast(pl.Date),
    )
    o = o.with_columns(_start_dates(o, decision_date, cfg).alias("start_date"))
    # The day the overpayment arose (could first be offset): 誤納 at the payment; 過納 by a
    # 減額更正 at the correction — the decision day when the caller does not give it.
    arisen_default = (pl.when(pl.col("cause") == "correction").then(pl.lit(decision_date, dtype=pl.Date))
                      .otherwise(pl.col("paid_date")))
    if "arisen_date" not in o.columns:
        o = o.with_columns(pl.lit(None, dtype=pl.Date).alias("arisen_date"))
    o = o.with_columns(pl.col("arisen_date").cast(pl.Date).fill_null(arisen_default))
    o = o.with_row_index("_o").sort([*["person_id"], *ORDER, "_o"])
    o = o.with_columns(_o_hi=pl.col("overpaid").cum_sum().over("person_id"))
    o = o.with_columns(_o_lo=pl.col("_o_hi") - pl.col("overpaid"))

    u = unpaid.select(
        pl.col("person_id").cast(pl.String), pl.col("levy_year").cast(pl.Int32),
        pl.col("notice_number").cast(pl.String), pl.col("installment_no").cast(pl.Int32),
        pl.col("due_date").cast(pl.Date), pl.col("balance").cast(pl.Int64),
    )
    if cfg.get("refund.offset.only_past_due", True):
        u = u.filter(pl.col("due_date") < decision_date)
    u = u.with_row_index("_u").sort(["person_id", *ORDER, "_u"])
    u = u.with_columns(_u_hi=pl.col("balance").cum_sum().over("person_id"))
    u = u.with_columns(_u_lo=pl.col("_u_hi") - pl.col("balance"))

    # Oldest-first two-pointer matching as interval overlap of the cumulative amounts per person.
    pairs = o.select("person_id", "_o", *KEY, "cause", "start_date", "arisen_date", "_o_lo", "_o_hi").join(
        u.select("person_id", "_u", pl.col("levy_year").alias("to_levy_year"),
                 pl.col("notice_number").alias("to_notice_number"),
                 pl.col("installment_no").alias("to_installment_no"),
                 pl.col("due_date").alias("to_due_date"), "_u_lo", "_u_hi"),
        on="person_id", how="inner",
    )
    pairs = pairs.with_columns(
        amount=(pl.min_horizontal("_o_hi", "_u_hi") - pl.max_horizontal("_o_lo", "_u_lo")).cast(pl.Int64)
    ).filter(pl.col("amount") > 0)
    pairs = pairs.with_columns(
        offset_date=pl.min_horizontal(
            pl.max_horizontal(pl.col("arisen_date"), pl.col("to_due_date") + day), pl.lit(decision_date)
        )
    ).sort(["person_id", "_o_lo", "_u_lo"])
    offsets = pairs.select(
        "person_id",
        pl.col("levy_year").alias("from_levy_year"), pl.col("notice_number").alias("from_notice_number"),
        pl.col("installment_no").alias("from_installment_no"),
        "to_levy_year", "to_notice_number", "to_installment_no", "amount", "cause", "start_date", "offset_date",
    )
    offsets = offsets.with_columns(
        refund_interest_frame(offsets, rules, start="start_date", end="offset_date").alias("interest")
    ).cast(OFFSET_SCHEMA)

    used = pairs.group_by("_o").agg(pl.col("amount").sum().alias("_used"))
    left = o.join(used, on="_o", how="left").with_columns(
        amount=(pl.col("overpaid") - pl.col("_used").fill_null(0)).cast(pl.Int64),
        end_date=pl.lit(decision_date, dtype=pl.Date),
    ).filter(pl.col("amount") > 0).sort("_o")
    extra = [c for c in overpaid.columns if c not in REFUND_SCHEMA and c not in OVERPAID_COLUMNS
             and c != "arisen_date"]
    refunds = left.select(*[c for c in REFUND_SCHEMA if c != "interest"], *extra)
    refunds = refunds.with_columns(refund_interest_frame(refunds, rules).alias("interest"))
    refunds = refunds.cast({k: v for k, v in REFUND_SCHEMA.items()}).select(*REFUND_SCHEMA, *extra)
    return offsets, refunds


# --- 総合振込 (全銀 種別21) ----------------------------------------------------------------------

TRANSFER_COLUMNS = ["bank_code", "branch_code", "account_type", "account_number", "account_holder",
                    "amount", "interest", "customer_code"]


def transfer_frames(refunds: pl.DataFrame, cfg: Config, *, transfer_date: dt.date) -> dict[str, pl.DataFrame]:
    """The header and data frames of the refund transfer file: one data record per refund with
    a bank account (rows without ``bank_code`` are paid otherwise, e.g. at the counter, and left
    out); 振込金額 = amount + interest. Optional columns: bank_name, branch_name, customer_code2."""
    missing = [c for c in TRANSFER_COLUMNS if c not in refunds.columns]
    if missing:
        raise ValueError(f"還付振込: 列がありません: {missing}")
    t = cfg.get("refund.transfer")
    header = pl.DataFrame({
        "code_division": [str(t["code_division"])],
        "requester_code": [str(t["requester_code"])],
        "requester_name": [str(t["requester_name"])],
        "transfer_date": [transfer_date.strftime("%m%d")],  # mmdd fields take the "MMDD" string
        "bank_code": [str(t["bank_code"])],
        "bank_name": [t.get("bank_name") or None],
        "branch_code": [str(t["branch_code"])],
        "branch_name": [t.get("branch_name") or None],
        "account_type": [str(t["account_type"])],
        "account_number": [str(t["account_number"])],
    })
    r = refunds.filter(pl.col("bank_code").is_not_null())
    opt = {c: pl.col(c).cast(pl.String) if c in r.columns else pl.lit(None, dtype=pl.String)
           for c in ("bank_name", "branch_name", "customer_code2")}
    data = r.select(
        pl.col("bank_code").cast(pl.String),
        opt["bank_name"].alias("bank_name"),
        pl.col("branch_code").cast(pl.String),
        opt["branch_name"].alias("branch_name"),
        pl.lit(str(t.get("clearing_house", "0000")) or None, dtype=pl.String).alias("clearing_house"),
        pl.col("account_type").cast(pl.String),
        pl.col("account_number").cast(pl.String),
        pl.col("account_holder").cast(pl.String),
        (pl.col("amount").cast(pl.Int64) + pl.col("interest").cast(pl.Int64).fill_null(0)).alias("amount"),
        pl.lit(str(t.get("new_code", "0")), dtype=pl.String).alias("new_code"),
        pl.col("customer_code").cast(pl.String).alias("customer_code1"),
        opt["customer_code2"].alias("customer_code2"),
        pl.lit(str(t.get("transfer_designation", "7")) or None, dtype=pl.String).alias("transfer_designation"),
    )
    return {"header": header, "data": data}


def refund_transfer_file(refunds: pl.DataFrame, cfg: Config, *, transfer_date: dt.date) -> bytes:
    """The 総合振込 (種別21) file bytes of ``refunds`` via the codec (layout
    ``refund.transfer.layout``, default zengin_21_transfer): header from ``refund.transfer``,
    one data record per refund paid by transfer, trailer 合計件数・合計金額 filled by the writer."""
    layout = fw.load_layout(cfg.get("refund.transfer.layout", "zengin_21_transfer"))
    return fw.write(layout, transfer_frames(refunds, cfg, transfer_date=transfer_date))


def write_refund_transfer_file(path: str | Path, refunds: pl.DataFrame, cfg: Config, *,
                               transfer_date: dt.date) -> Path:
    """`refund_transfer_file` written to ``path`` atomically (temporary name, fsync, rename)."""
    return paths.write_atomic(Path(path), refund_transfer_file(refunds, cfg, transfer_date=transfer_date))
