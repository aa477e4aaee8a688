"""督促 rules — pure functions over dates and Polars frames (the steps are dunning_steps.py).

Which 納期限 is due for 督促 on a business day (``ripe_due_dates``): the 督促 day of a 納期限 D is
D + ``dunning.days_after_due`` days (地方税法第726条: 督促状は納期限後20日以内; the seed's city
practice says 30), moved back to the previous business day when closed (so it stays within the
statutory days). A run on day d acts on every 納期限 whose 督促 day is d or earlier and that still
has un-dunned unpaid 期別 (a missed run is caught up the next business day).

Holds (``apply_holds``): a candidate with an open CVS 速報, a 口座振替 request without a result, a
分割納付 plan or an 執行停止 gets no 督促状; the first reason in ``HOLD_ORDER`` is kept.

The statement (``statements``): 本税 = the unpaid balance on the 発行日; 延滞金 = ``late_fee`` of the
期別 (its 本税 and the partial payments of the ledger's 納付履歴) up to the 指定期限 (発行日 +
``dunning.pay_by_days``, next business day when closed); 督促手数料 = ``dunning.fee`` (0 = none);
合計 = the three. 督促状番号 = 賦課年度 (4) + 通知書番号 (11) + 期別 (2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from jobs.common.bizcal import BusinessCalendar
from jobs.common.config import Config, ConfigError

from .late_fee import LateFeeRules, late_fee_frame

KEY = ["levy_year", "notice_number", "installment_no"]
#: hold reasons in priority order, with their Japanese labels (control totals, messages); the
#: values are those of sql/arrears/dunning_held.sql and held_installments.sql ('plan', 'suspension')
HOLD_ORDER = ("cvs_provisional", "debit_pending", "plan", "suspension")
HOLD_LABELS = {"cvs_provisional": "コンビニ速報", "debit_pending": "口座振替結果待ち",
               "plan": "分割納付", "suspension": "執行停止"}


@dataclass(frozen=True)
class DunningRules:
    days_after_due: int
    pay_by_days: int
    fee: int
    pdf_max_notices: int

    @classmethod
    def from_config(cls, cfg: Config) -> DunningRules:
        r = cls(days_after_due=int(cfg.get("dunning.days_after_due")), pay_by_days=int(cfg.get("dunning.pay_by_days")),
                fee=int(cfg.get("dunning.fee")), pdf_max_notices=int(cfg.get("dunning.pdf_max_notices")))
        if r.days_after_due < 1 or r.pay_by_days < 1 or r.fee < 0 or r.pdf_max_notices < 1:
            raise ConfigError(f"dunning.* の値が不正です: {r}")
        return r


def dunning_day(due: dt.date, rules: DunningRules, cal: BusinessCalendar) -> dt.date:
    """The business day the 督促状 of 納期限 ``due`` is issued."""
    day = cal.roll_backward(due + dt.timedelta(days=rules.days_after_due))
    return day if day > due else cal.roll_forward(due + dt.timedelta(days=1))


def ripe_due_dates(due_dates: list[dt.date], business_date: dt.date, rules: DunningRules,
                   cal: BusinessCalendar) -> list[dt.date]:
    """The 納期限 among ``due_dates`` whose 督促 day is ``business_date`` or earlier."""
    return sorted(d for d in due_dates if dunning_day(d, rules, cal) <= business_date)


def pay_by(issue_date: dt.date, rules: DunningRules, cal: BusinessCalendar) -> dt.date:
    """指定期限 of a 督促状 issued on ``issue_date``."""
    return cal.roll_forward(issue_date + dt.timedelta(days=rules.pay_by_days))


def apply_holds(candidates: pl.DataFrame, holds: pl.DataFrame) -> pl.DataFrame:
    """``candidates`` with ``hold_reason`` / ``hold_id`` (null when not held): one row each."""
    if holds.height == 0:
        return candidates.with_columns(pl.lit(None, dtype=pl.String).alias("hold_reason"),
                                       pl.lit(None, dtype=pl.String).alias("hold_id"))
    rank = {r: i for i, r in enumerate(HOLD_ORDER)}
    h = (holds.select(pl.col("levy_year").cast(pl.Int64), pl.col("notice_number").cast(pl.String),
                      pl.col("installment_no").cast(pl.Int64), pl.col("hold_reason").cast(pl.String),
                      pl.col("hold_id").cast(pl.String))
         .filter(pl.col("hold_reason").is_not_null())
         .with_columns(pl.col("hold_reason").replace_strict(rank, default=len(rank), return_dtype=pl.Int64)
                       .alias("_rank"))
         .sort(*KEY, "_rank", "hold_id").unique(KEY, keep="first", maintain_order=True).drop("_rank"))
    c = candidates.with_columns(pl.col("levy_year").cast(pl.Int64), pl.col("installment_no").cast(pl.Int64))
    return c.join(h, on=KEY, how="left", maintain_order="left")


def statements(targets: pl.DataFrame, payments: pl.DataFrame, *, issue_date: dt.date, pay_by_date: dt.date,
               rules: DunningRules, late_fee_rules: LateFeeRules) -> pl.DataFrame:
    """The amounts of each target's 督促状: ``targets`` (KEY, levy_amount, balance, due_date, …)
    gets issue_date, pay_by, late_fee_date, tax_amount, late_fee_amount, dunning_fee_amount,
    total_amount and dunning_no."""
    if targets.height == 0:
        return targets.with_columns(
            pl.lit(issue_date).alias("issue_date"), pl.lit(pay_by_date).alias("pay_by"),
            pl.lit(pay_by_date).alias("late_fee_date"), pl.lit(0, dtype=pl.Int64).alias("tax_amount"),
            pl.lit(0, dtype=pl.Int64).alias("late_fee_amount"), pl.lit(0, dtype=pl.Int64).alias("dunning_fee_amount"),
            pl.lit(0, dtype=pl.Int64).alias("total_amount"), pl.lit(None, dtype=pl.String).alias("dunning_no"))
    t = targets.with_columns(pl.col("levy_year").cast(pl.Int64), pl.col("installment_no").cast(pl.Int64))
    fee = late_fee_frame(t.select(*KEY, pl.col("levy_amount").alias("base_amount"), "due_date"), late_fee_rules,
                         as_of=pay_by_date, payments=payments.with_columns(
                             pl.col("levy_year").cast(pl.Int64), pl.col("installment_no").cast(pl.Int64))
                         if payments.height else None)
    return t.with_columns(
        pl.lit(issue_date).alias("issue_date"), pl.lit(pay_by_date).alias("pay_by"),
        pl.lit(pay_by_date).alias("late_fee_date"), pl.col("balance").cast(pl.Int64).alias("tax_amount"),
        fee.alias("late_fee_amount"), pl.lit(rules.fee, dtype=pl.Int64).alias("dunning_fee_amount"),
    ).with_columns(
        (pl.col("tax_amount") + pl.col("late_fee_amount") + pl.col("dunning_fee_amount")).alias("total_amount"),
        pl.concat_str([pl.col("levy_year").cast(pl.String).str.zfill(4), pl.col("notice_number"),
                       pl.col("installment_no").cast(pl.String).str.zfill(2)]).alias("dunning_no"),
    )
