"""The matching key (賦課年度 + 通知書番号 + 期別) from each channel's identifiers.

The keys are defined once in ``jobs.common.matching_keys`` (the 自由使用欄 of the CVS barcode by
``notices.cvs.free_field``, the same spec the notices print with; the 20-digit 口座振替 顧客番号);
the collection code reaches them through this module.
"""

from __future__ import annotations

from jobs.common.matching_keys import (
    CUSTOMER_NUMBER_LENGTH,
    customer_number,
    free_field_exprs,
    ordinary_notice_number,
    parse_customer_number,
)

__all__ = ["CUSTOMER_NUMBER_LENGTH", "customer_number", "free_field_exprs", "ordinary_notice_number",
           "parse_customer_number"]
