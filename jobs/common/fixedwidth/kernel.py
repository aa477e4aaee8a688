"""One-pass compiled scan of fixed-width records (numba), for the common field types.

The numpy decoders in fields.py are the reference implementation; this kernel does the same
work for digits, numeric, half-width text, yyyymmdd/yymmdd dates, fillers and shift codes in a
single pass over the records (both cores), which is what makes intake fast. Tests check that
both give identical frames and faults.

Per record it validates every field, notes the first faulty field, converts numbers and dates,
and measures each text field (trimmed length, UTF-8 length); a second pass writes the UTF-8
text straight into Arrow buffers, so no Python string is ever made per record.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
from numba import njit, prange

from .plan import (  # noqa: F401  (the plan and column builders used to live here)
    Plan,
    _bitmap,
    _to_polars,
    digits_column,
    int_column,
)

K_FILLER, K_DIGITS, K_NUMERIC, K_SBCS, K_DATE8, K_DATE6, K_SHIFT = 0, 1, 2, 3, 4, 5, 6

# fault codes, same numbering as fields.FAULTS
F_NONDIGIT, F_BLANK, F_VALUE, F_CHARSET, F_DATE, F_SHIFT = 1, 2, 3, 4, 5, 7


@njit(cache=True, inline="always")
def _days_from_civil(y, m, d):
    # Howard Hinnant's algorithm: days since 1970-01-01
    y2 = y - 1 if m <= 2 else y
    era = (y2 if y2 >= 0 else y2 - 399) // 400
    yoe = y2 - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, inline="always")
def _month_days(y, m):
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or (y % 400 == 0)
        return 29 if leap else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


@njit(cache=True, parallel=True)
def scan(recs, kind, off, length, blank_ok, cs_id, slot, cs_ok, pad, shift_bytes, pivot, val_ok, dig_base,
         ints, valid, tlen, fault, ffield, filler_bad, dig_out):
    n = recs.shape[0]
    nf = kind.shape[0]
    for i in prange(n):
        fault[i] = 0
        ffield[i] = -1
        filler_bad[i] = 0
        for j in range(nf):
            k = kind[j]
            o = off[j]
            ln = length[j]
            code = 0
            if k == K_FILLER:
                for p in range(o, o + ln):
                    if recs[i, p] != 32:
                        filler_bad[i] = 1
                        break
                continue
            if k == K_SHIFT:
                for p in range(ln):
                    if recs[i, o + p] != shift_bytes[j, p]:
                        code = F_SHIFT
                        break
            elif k == K_SBCS:
                c = cs_id[j]
                last = -1
                ulen = 0
                for p in range(ln):
                    b = recs[i, o + p]
                    if not cs_ok[c, b]:
                        code = F_CHARSET
                    if b != pad[j]:
                        last = p
                for p in range(last + 1):
                    ulen += 3 if recs[i, o + p] >= 0x80 else 1
                s = slot[j]
                if code != 0:
                    valid[j, i] = False
                    tlen[s, i] = 0
                elif last < 0:
                    valid[j, i] = False
                    tlen[s, i] = 0
                    if not blank_ok[j]:
                        code = F_BLANK
                else:
                    valid[j, i] = True
                    tlen[s, i] = ulen
            else:  # digits, numeric, dates
                allblank = True
                alldigit = True
                v = 0
                db = dig_base[j]
                if db >= 0:  # digits fields become string columns without a second pass over the records
                    db += i * ln - o
                    for p in range(o, o + ln):
                        dig_out[db + p] = recs[i, p]
                for p in range(o, o + ln):
                    b = recs[i, p]
                    if b != 32:
                        allblank = False
                    if b < 48 or b > 57:
                        alldigit = False
                    else:
                        v = v * 10 + (b - 48)
                ok = alldigit
                if allblank:
                    ok = False
                    if not blank_ok[j]:
                        code = F_BLANK
                elif not alldigit:
                    code = F_NONDIGIT
                elif val_ok.shape[1] > 1 and ln <= 4 and k == K_DIGITS and val_ok[j, 0] == 2 and not val_ok[j, v + 1]:
                    code = F_VALUE
                elif k == K_DATE8 or k == K_DATE6:
                    if v == 0 and blank_ok[j]:
                        ok = False
                    else:
                        if k == K_DATE8:
                            y = v // 10000
                        else:
                            yy = v // 10000
                            y = 2000 + yy if yy < pivot[j] else 1900 + yy
                        m = (v // 100) % 100
                        d = v % 100
                        if y < 1 or m < 1 or m > 12 or d < 1 or d > _month_days(y, m):
                            ok = False
                            code = F_DATE
                        else:
                            v = _days_from_civil(y, m, d)
                valid[j, i] = ok
                if slot[j] >= 0:
                    ints[slot[j], i] = v if ok else 0
            if code != 0 and fault[i] == 0:
                fault[i] = code
                ffield[i] = j


@njit(cache=True, parallel=True)
def fill_utf8(recs, o, ln, pad, offsets, out):
    n = recs.shape[0]
    for i in prange(n):
        q = offsets[i]
        end = offsets[i + 1]
        p = 0
        while q < end and p < ln:
            b = recs[i, o + p]
            if b < 0x80:
                out[q] = b
                q += 1
            elif b < 0xC0:
                out[q] = 0xEF
                out[q + 1] = 0xBD
                out[q + 2] = b
                q += 3
            else:
                out[q] = 0xEF
                out[q + 1] = 0xBE
                out[q + 2] = b - 0x40
                q += 3
            p += 1


def string_column(recs: np.ndarray, o: int, ln: int, pad: int, lens: np.ndarray, valid: np.ndarray) -> pl.Series:
    n = len(recs)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    if len(out):
        fill_utf8(recs, o, ln, pad, offsets, out)
    bm, nulls = _bitmap(valid)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out), bm, nulls)
    return _to_polars(arr)


# --- writer: unsigned numeric fields straight into the record block --------------------------

@njit(cache=True, parallel=True)
def write_numbers(out, offs, widths, vals, nulls):
    """vals/nulls: (n, k); every field j of every row i written right-justified zero-filled at
    offs[j] (or spaces when null). Rows go in blocks so the output stays in cache."""
    n, k = vals.shape
    block = 256
    nb = (n + block - 1) // block
    for b in prange(nb):
        lo = b * block
        hi = min(n, lo + block)
        for j in range(k):
            o = offs[j]
            w = widths[j]
            for i in range(lo, hi):
                if nulls[i, j]:
                    for p in range(w):
                        out[i, o + p] = 32
                else:
                    v = vals[i, j]
                    p = w - 1
                    while v > 0 and p >= 0:
                        q = v // 10
                        out[i, o + p] = 48 + (v - q * 10)
                        v = q
                        p -= 1
                    while p >= 0:  # leading zeros need no division
                        out[i, o + p] = 48
                        p -= 1
