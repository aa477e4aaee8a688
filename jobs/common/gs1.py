"""GS1-128 コンビニ収納 barcode (標準料金代理収納, 44 digits, 1段表示) — FORMATS.md §3.1.

    pos  len  field
    1    2    AI "91"
    3    6    請求書発行企業コード (company_code)
    9    21   自由使用欄 (free_field; shorter values are right-padded with "0")
    30   1    再発行区分 (reissue; 0 = original)
    31   6    支払期限日 YYMMDD, "999999" = no due date
    37   1    印紙フラグ (stamp_flag; 0 for taxes)
    38   6    支払金額 (amount, yen, zero-filled)
    44   1    チェックデジット: modulus 10, weights 3/1 (3 on the rightmost data digit)

``build`` and ``parse`` refuse amounts above the configured ceiling
(``cvs.barcode.max_amount`` in config, 300,000 円 by default) as well as above 999,999.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

AI = "91"
LENGTH = 44
NO_DUE_DATE = "999999"
FIELD_MAX_AMOUNT = 999_999
FREE_FIELD_LENGTH = 21


class BarcodeError(ValueError):
    """The barcode data is invalid. The message is Japanese, for operators."""


@dataclass(frozen=True)
class CvsBarcode:
    company_code: str
    free_field: str
    due_date: dt.date | None
    amount: int
    reissue: int = 0
    stamp_flag: int = 0

    @property
    def digits(self) -> str:
        """The 44 digits (builds; raises BarcodeError on bad content)."""
        return build(self, max_amount=FIELD_MAX_AMOUNT)


def check_digit(data: str) -> int:
    """Modulus-10 check digit of the 43 data digits, weights 3,1,3,... from the right."""
    if not data.isascii() or not data.isdigit():
        raise BarcodeError(f"数字以外の文字があります: {data!r}")
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(data)))
    return (10 - total % 10) % 10


def build(barcode: CvsBarcode, *, max_amount: int | None = None) -> str:
    """The 44-digit string for ``barcode``. ``max_amount=None`` → ``cvs.barcode.max_amount``."""
    company = _digits(barcode.company_code, 6, "請求書発行企業コード")
    if len(barcode.free_field) > FREE_FIELD_LENGTH:
        raise BarcodeError(f"自由使用欄は{FREE_FIELD_LENGTH}桁以内です: {len(barcode.free_field)}桁")
    free = _digits(barcode.free_field.ljust(FREE_FIELD_LENGTH, "0"), FREE_FIELD_LENGTH, "自由使用欄")
    reissue = _single_digit(barcode.reissue, "再発行区分")
    stamp = _flag(barcode.stamp_flag)
    due = NO_DUE_DATE if barcode.due_date is None else _yymmdd(barcode.due_date)
    amount = _amount(barcode.amount, _ceiling(max_amount))
    data = f"{AI}{company}{free}{reissue}{due}{stamp}{amount:06d}"
    return data + str(check_digit(data))


def parse(code: str, *, max_amount: int | None = None) -> CvsBarcode:
    """Parse and verify 44 digits (spaces are ignored, so the printed form works too)."""
    text = "".join(str(code).split())
    if len(text) != LENGTH:
        raise BarcodeError(f"バーコードは{LENGTH}桁です: {len(text)}桁")
    if not text.isascii() or not text.isdigit():
        raise BarcodeError("バーコードに数字以外の文字があります")
    if text[:2] != AI:
        raise BarcodeError(f"AI が {AI} ではありません: {text[:2]}")
    expected = check_digit(text[:43])
    if int(text[43]) != expected:
        raise BarcodeError(f"チェックデジットが違います: {text[43]} (正しくは {expected})")
    amount = _amount(int(text[37:43]), _ceiling(max_amount))
    return CvsBarcode(
        company_code=text[2:8],
        free_field=text[8:29],
        reissue=int(text[29]),
        due_date=None if text[30:36] == NO_DUE_DATE else _parse_yymmdd(text[30:36]),
        stamp_flag=_flag(int(text[36])),
        amount=amount,
    )


def human_readable(code: str) -> str:
    """The printed form under the bars: "91 912345 012...901 010331 0 123000 3"."""
    t = "".join(str(code).split())
    return " ".join((t[:2], t[2:8], t[8:29], t[29], t[30:36], t[36], t[37:43], t[43:]))


# --- helpers ----------------------------------------------------------------------------------


def _ceiling(max_amount: int | None) -> int:
    if max_amount is not None:
        return min(int(max_amount), FIELD_MAX_AMOUNT)
    from . import config  # lazy: keeps the pure functions importable without config/

    return min(int(config.load().get("cvs.barcode.max_amount")), FIELD_MAX_AMOUNT)


def _amount(amount: int, ceiling: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise BarcodeError(f"支払金額は整数で指定してください: {amount!r}")
    if amount < 0:
        raise BarcodeError(f"支払金額が負です: {amount:,}円")
    if amount > FIELD_MAX_AMOUNT:
        raise BarcodeError(f"支払金額がバーコードの上限 {FIELD_MAX_AMOUNT:,}円 を超えています: {amount:,}円")
    if amount > ceiling:
        raise BarcodeError(f"支払金額がコンビニ収納の上限 {ceiling:,}円 を超えています: {amount:,}円")
    return amount


def _digits(value: str, length: int, label: str) -> str:
    s = str(value)
    if len(s) != length:
        raise BarcodeError(f"{label}は{length}桁です: {len(s)}桁")
    if not s.isascii() or not s.isdigit():
        raise BarcodeError(f"{label}に数字以外の文字があります")
    return s


def _single_digit(value: int, label: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise BarcodeError(f"{label}は0〜9です: {value!r}")
    return str(value)


def _flag(value: int) -> int:
    if value not in (0, 1) or isinstance(value, bool):
        raise BarcodeError(f"印紙フラグは0か1です: {value!r}")
    return int(value)


def _yymmdd(d: dt.date) -> str:
    if not 2000 <= d.year <= 2099:
        raise BarcodeError(f"支払期限日は2000〜2099年の日付です: {d.isoformat()}")
    return d.strftime("%y%m%d")


def _parse_yymmdd(s: str) -> dt.date:
    try:
        return dt.date(2000 + int(s[:2]), int(s[2:4]), int(s[4:6]))
    except ValueError as exc:
        raise BarcodeError(f"支払期限日が日付ではありません: {s}") from exc
