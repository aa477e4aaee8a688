"""個人番号 (my_number): check digit, validation and keyed digests.

The 12th digit of a 個人番号 is a check digit fixed by 行政手続における特定の個人を識別するための
番号の利用等に関する法律施行規則 第5条 (番号法施行令 第8条 が委任する算式)::

    P_n = the n-th digit of the first 11 digits, counted from the right (n = 1 is the 11th digit)
    Q_n = n + 1 (1 <= n <= 6),  n - 5 (7 <= n <= 11)
    r   = (sum of P_n * Q_n for n = 1..11) mod 11
    check digit = 0 if r <= 1 else 11 - r

Read left to right, the weights of the 11 digits are 6 5 4 3 2 7 6 5 4 3 2.

A 個人番号 is a secret: nothing here prints, logs or puts a number in an exception message.
Errors name the position or the kind of fault only.
"""

from __future__ import annotations

import hmac

import numpy as np
import polars as pl

__all__ = ["WEIGHTS", "check_digit", "is_valid", "valid_mask", "hmac_digest", "check_digits_array"]

# weight of each of the 11 digits, leftmost first (Q_11 .. Q_1)
WEIGHTS = np.array([6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2], dtype=np.int64)
_ZERO = ord("0")


def check_digit(first11: str) -> int:
    """The check digit of the first 11 digits of a 個人番号."""
    if not isinstance(first11, str) or len(first11) != 11 or not first11.isascii() or not first11.isdigit():
        raise ValueError("a 個人番号 check digit needs exactly 11 ASCII digits")
    r = sum(int(c) * int(w) for c, w in zip(first11, WEIGHTS)) % 11
    return 0 if r <= 1 else 11 - r


def is_valid(s: str) -> bool:
    """True when ``s`` is 12 ASCII digits whose last digit is the check digit of the first 11."""
    if not isinstance(s, str) or len(s) != 12 or not s.isascii() or not s.isdigit():
        return False
    return check_digit(s[:11]) == int(s[11])


def check_digits_array(first11: np.ndarray) -> np.ndarray:
    """Vectorised check digits: ``first11`` is an (n, 11) integer array of digits 0–9."""
    r = (np.asarray(first11, dtype=np.int64) @ WEIGHTS) % 11
    return np.where(r <= 1, 0, 11 - r).astype(np.int64)


def valid_mask(series: pl.Series) -> pl.Series:
    """Boolean Series: which values are valid 個人番号 (nulls and malformed values are False).

    Works on the bytes of all well-sized values at once (numpy), no per-row Python.
    """
    s = series.cast(pl.String)
    n = s.len()
    out = np.zeros(n, dtype=bool)
    sized = (s.str.len_bytes() == 12).fill_null(False).to_numpy()
    idx = np.flatnonzero(sized)
    if idx.size:
        joined = s.gather(idx).str.join("").item()
        raw = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
        if raw.size == 12 * idx.size:  # a multibyte character would change the size; then check per value
            d = raw.reshape(-1, 12).astype(np.int64) - _ZERO
            digits_ok = ((d >= 0) & (d <= 9)).all(axis=1)
            cd = check_digits_array(np.clip(d[:, :11], 0, 9))
            out[idx] = digits_ok & (cd == d[:, 11])
        else:  # pragma: no cover - only non-ASCII input of exactly 12 bytes reaches here
            out[idx] = [is_valid(v) for v in s.gather(idx).to_list()]
    return pl.Series(series.name, out, dtype=pl.Boolean)


def hmac_digest(series: pl.Series, key: bytes) -> pl.Series:
    """Hex HMAC-SHA256 of each value under ``key`` (a pseudonymous join key); nulls stay null.

    The intake keeps this digest in place of the 個人番号 so that records can be matched across
    files without storing the number. The key lives under ``var/secrets/``.
    """
    if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
        raise ValueError("the 個人番号 HMAC key must be at least 16 bytes")
    key = bytes(key)
    values = series.cast(pl.String).to_list()
    digest = hmac.digest
    out = [None if v is None else digest(key, v.encode("utf-8"), "sha256").hex() for v in values]
    return pl.Series(series.name, out, dtype=pl.String)
