"""The matching keys, defined once: how a payment finds its 調定 (賦課年度 + 通知書番号 + 期別).

- 通知書番号 (11 digits): 徴収方法区分 (1 = 普通徴収, 2 = 特別徴収) + 世帯番号 (10 digits). The
  調定 file (``jobs.assessment.levy_file``) carries it; the collection side rebuilds it from the
  CVS barcode (普通徴収 only) and reads it back from the 口座振替 顧客番号.
- 自由使用欄 of the GS1-128 CVS barcode (21 digits): laid out by ``notices.cvs.free_field`` as
  (item, width) pairs over ``FREE_FIELD_ITEMS``; the notices print it (``reports.print_data``),
  the collection side reads it (``free_field_exprs``), the synthetic payments build it
  (``format_free_field``).
- 口座振替 顧客番号 (20 digits, Zengin 91): 賦課年度 4 + 通知書番号 11 + 期別 2 + 請求連番 3.

Only jobs.common is imported here, so the assessment, collection, reports and synth code can all
use it.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from . import gs1
from .config import Config

# --- 通知書番号 ------------------------------------------------------------------------------------

ORDINARY_CODE = "1"  # 徴収方法区分: 普通徴収
WITHHOLDING_CODE = "2"  # 徴収方法区分: 特別徴収
HOUSEHOLD_ID_LENGTH = 10
NOTICE_NUMBER_LENGTH = 1 + HOUSEHOLD_ID_LENGTH


def notice_number(method_code: pl.Expr, household_id: pl.Expr) -> pl.Expr:
    """通知書番号 = 徴収方法区分 (``ORDINARY_CODE`` / ``WITHHOLDING_CODE``) + 世帯番号."""
    return method_code + household_id


def ordinary_notice_number(household_id: pl.Expr) -> pl.Expr:
    """The 通知書番号 of a 普通徴収 installment (a CVS barcode, a counter slip)."""
    return pl.lit(ORDINARY_CODE) + household_id


# --- 自由使用欄 (GS1-128) ---------------------------------------------------------------------------

FREE_FIELD_ITEMS = ("tax_code", "fy", "household_id", "installment_no", "revision")
# items the collection side reads (null when the layout has no such item)
FREE_FIELD_KEY_ITEMS = ("tax_code", "fy", "household_id", "installment_no")


class FreeFieldError(ValueError):
    """``notices.cvs.free_field`` is not a valid layout (Japanese message)."""


def free_field_spec(cfg: Config) -> list[tuple[str, int]]:
    """``notices.cvs.free_field`` as (item, width) pairs; the widths add up to 21."""
    spec = [(str(p["item"]), int(p["width"])) for p in cfg.get("notices.cvs.free_field")]
    unknown = [i for i, _ in spec if i not in FREE_FIELD_ITEMS]
    if unknown:
        raise FreeFieldError(f"notices.cvs.free_field に不明な項目があります: {unknown} (使える項目: {', '.join(FREE_FIELD_ITEMS)})")
    width = sum(w for _, w in spec)
    if width != gs1.FREE_FIELD_LENGTH:
        raise FreeFieldError(f"notices.cvs.free_field の桁数の合計は{gs1.FREE_FIELD_LENGTH}桁です: {width}桁")
    return spec


def format_free_field(spec: list[tuple[str, int]], items: Mapping[str, str | int]) -> str:
    """The 21 digits of one barcode: ``tax_code`` as it is (a code), the other items zero-padded."""
    return "".join(str(items[i]) if i == "tax_code" else f"{int(items[i]):0{w}d}" for i, w in spec)


def parse_free_field(cfg: Config, free_field: str) -> dict[str, str]:
    """The 自由使用欄 of a barcode (21 digits) split into its items."""
    out, pos = {}, 0
    for item, width in free_field_spec(cfg):
        out[item] = free_field[pos:pos + width]
        pos += width
    return out


def free_field_exprs(cfg: Config, free: pl.Expr) -> dict[str, pl.Expr]:
    """Each item of the 21-digit free field as a string expression (null when not digits)."""
    out, pos = {}, 0
    digits = pl.when(free.str.contains(rf"^[0-9]{{{gs1.FREE_FIELD_LENGTH}}}$")).then(free)
    for item, width in free_field_spec(cfg):
        out[item] = digits.str.slice(pos, width)
        pos += width
    for item in FREE_FIELD_KEY_ITEMS:
        out.setdefault(item, pl.lit(None, dtype=pl.String))
    return out


# --- 口座振替 顧客番号 --------------------------------------------------------------------------------

CUSTOMER_NUMBER_FIELDS = (("levy_year", 4), ("notice_number", NOTICE_NUMBER_LENGTH), ("installment_no", 2),
                          ("sequence", 3))
CUSTOMER_NUMBER_LENGTH = sum(w for _, w in CUSTOMER_NUMBER_FIELDS)


def customer_number(levy_year: pl.Expr, notice_number: pl.Expr, installment_no: pl.Expr,
                    sequence: pl.Expr) -> pl.Expr:
    """The Zengin 91 顧客番号 of a debit request."""
    return pl.concat_str([
        levy_year.cast(pl.String).str.zfill(4), notice_number,
        installment_no.cast(pl.String).str.zfill(2), sequence.cast(pl.String).str.zfill(3)])


def customer_number_parts(num: pl.Expr) -> dict[str, pl.Expr]:
    """The items of a 顧客番号 as they stand (strings, unchecked)."""
    out, pos = {}, 0
    for item, width in CUSTOMER_NUMBER_FIELDS:
        out[item] = num.str.slice(pos, width)
        pos += width
    return out


def parse_customer_number(num: pl.Expr) -> dict[str, pl.Expr]:
    """The items of a 顧客番号, null when it is not 20 digits; years and numbers as Int32."""
    ok = num.str.contains(rf"^[0-9]{{{CUSTOMER_NUMBER_LENGTH}}}$")
    parts = customer_number_parts(pl.when(ok).then(num))
    return {
        "levy_year": parts["levy_year"].cast(pl.Int32, strict=False),
        "notice_number": parts["notice_number"],
        "installment_no": parts["installment_no"].cast(pl.Int32, strict=False),
        "sequence": parts["sequence"].cast(pl.Int32, strict=False),
    }
