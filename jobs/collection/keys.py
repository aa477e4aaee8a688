"""The matching key (賦課年度 + 通知書番号 + 期別) from each channel's identifiers.

- 自由使用欄 of the CVS barcode: ``notices.cvs.free_field`` (the same spec the notices print
  with, ``reports.print_data.free_field_spec``);
- 口座振替 顧客番号 (20 digits): 賦課年度 4 + 通知書番号 11 + 期別 2 + 請求連番 3 [project design].
"""

from __future__ import annotations

import polars as pl

from jobs.common.config import Config

CUSTOMER_NUMBER_LENGTH = 20


def free_field_exprs(cfg: Config, free: pl.Expr) -> dict[str, pl.Expr]:
    """Each item of the 21-digit free field as a string expression (null when not digits)."""
    from reports.print_data import free_field_spec

    out, pos = {}, 0
    digits = pl.when(free.str.contains(r"^[0-9]{21}$")).then(free)
    for item, width in free_field_spec(cfg):
        out[item] = digits.str.slice(pos, width)
        pos += width
    for item in ("tax_code", "fy", "household_id", "installment_no"):
        out.setdefault(item, pl.lit(None, dtype=pl.String))
    return out


def customer_number(levy_year: pl.Expr, notice_number: pl.Expr, installment_no: pl.Expr,
                    sequence: pl.Expr) -> pl.Expr:
    """The Zengin 91 顧客番号 of a debit request."""
    return pl.concat_str([
        levy_year.cast(pl.String).str.zfill(4), notice_number,
        installment_no.cast(pl.String).str.zfill(2), sequence.cast(pl.String).str.zfill(3)])


def parse_customer_number(num: pl.Expr) -> dict[str, pl.Expr]:
    ok = num.str.contains(r"^[0-9]{20}$")
    v = pl.when(ok).then(num)
    return {
        "levy_year": v.str.slice(0, 4).cast(pl.Int32, strict=False),
        "notice_number": v.str.slice(4, 11),
        "installment_no": v.str.slice(15, 2).cast(pl.Int32, strict=False),
        "sequence": v.str.slice(17, 3).cast(pl.Int32, strict=False),
    }
