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


def _bitmap(valid: np.ndarray):
    if valid.all():
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), int((~valid).sum())


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


def _to_polars(arr: pa.Array) -> pl.Series:
    # Polars keeps strings as views; handing it a string_view array avoids a slow conversion
    return pl.Series(values=arr.cast(pa.string_view()))


def digits_column(data: np.ndarray, n: int, ln: int, valid: np.ndarray) -> pl.Series:
    """`data`: the n·ln bytes of one digits field, row after row (filled by the scan)."""
    out = data
    offsets = np.arange(n + 1, dtype=np.int64) * ln
    bm, nulls = _bitmap(valid)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out), bm, nulls)
    return _to_polars(arr)


# --- plan: which fields of a record type the kernel handles ----------------------------------

class Plan:
    """Kernel arrays for one record type; fields the kernel does not handle are listed in `rest`."""

    def __init__(self, layout, rt, ebcdic: bool):
        from .layout import Layout  # noqa: F401

        names = [n for n, c in layout.charsets.items() if c.kind == "sbcs"]
        self.cs_index = {n: i for i, n in enumerate(names)}
        self.cs_ok = np.zeros((max(1, len(names)), 256), dtype=np.bool_)
        for n, i in self.cs_index.items():
            self.cs_ok[i] = layout.charsets[n].byte_ok
        nf = len(rt.fields)
        self.kind = np.full(nf, -1, dtype=np.int8)
        self.off = np.array([f.offset for f in rt.fields], dtype=np.int64)
        self.length = np.array([f.length for f in rt.fields], dtype=np.int64)
        self.blank_ok = np.array([f.blank for f in rt.fields], dtype=np.bool_)
        self.cs_id = np.zeros(nf, dtype=np.int64)
        self.slot = np.full(nf, -1, dtype=np.int64)
        self.pad = np.full(nf, 32, dtype=np.uint8)
        self.pivot = np.array([f.century_pivot for f in rt.fields], dtype=np.int64)
        self.shift_bytes = np.zeros((nf, max([f.length for f in rt.fields if f.type == "shift"] or [1])), dtype=np.uint8)
        self.rest = []
        # allowed values of short digits fields, checked in the scan: row j = [2 if checked, ok(v) ...]
        short = [f for f in rt.fields if f.type == "digits" and f.values is not None and f.length <= 4]
        self.val_ok = np.zeros((nf, 1 + 10 ** max([f.length for f in short] or [0])), dtype=np.uint8)
        self.dig_base = np.full(nf, -1, dtype=np.int64)  # offset (in units of n) of each digits field in dig_out
        dig_units = 0
        self.checked_values = set()
        n_int = n_txt = 0
        for j, f in enumerate(rt.fields):
            k = -1
            if f.type == "filler":
                k = K_FILLER
            elif f.type == "shift" and not ebcdic:
                k = K_SHIFT
                self.shift_bytes[j, : f.length] = np.frombuffer(bytes.fromhex(f.value_hex), dtype=np.uint8)
            elif f.type == "digits":
                k = K_DIGITS
                self.dig_base[j], dig_units = dig_units, dig_units + f.length
                if f.values is not None and f.length <= 4:
                    self.val_ok[j, 0] = 2
                    for v in f.values:
                        self.val_ok[j, 1 + int(v)] = 1
                    self.checked_values.add(j)
            elif f.type == "numeric":
                k, self.slot[j], n_int = K_NUMERIC, n_int, n_int + 1
            elif f.type == "date" and f.format in ("yyyymmdd", "yymmdd"):
                k = K_DATE8 if f.format == "yyyymmdd" else K_DATE6
                self.slot[j], n_int = n_int, n_int + 1
            elif f.type == "text":
                cs = layout.charset_of(f)
                pad = (cs.pad or f.pad).encode("cp932")
                if cs.kind == "sbcs" and len(pad) == 1:
                    k, self.slot[j], n_txt = K_SBCS, n_txt, n_txt + 1
                    self.cs_id[j] = self.cs_index[cs.name]
                    self.pad[j] = pad[0]
            if k < 0:
                self.rest.append(j)  # decoded by the numpy reference decoders
            self.kind[j] = k
        self.n_int, self.n_txt = n_int, n_txt
        keep = np.array([self.kind[j] >= 0 for j in range(nf)], dtype=np.bool_)
        self.index = np.flatnonzero(keep)  # kernel field j' -> record field index
        for name in ("kind", "off", "length", "blank_ok", "cs_id", "slot", "pad", "pivot"):
            setattr(self, name, np.ascontiguousarray(getattr(self, name)[keep]))
        self.shift_bytes = np.ascontiguousarray(self.shift_bytes[keep])
        self.val_ok = np.ascontiguousarray(self.val_ok[keep])
        self.dig_base = np.ascontiguousarray(self.dig_base[keep])
        self.dig_units = dig_units

    def run(self, recs: np.ndarray):
        n = len(recs)
        m = len(self.kind)
        ints = np.zeros((self.n_int, n), dtype=np.int64)
        valid = np.zeros((m, n), dtype=np.bool_)
        tlen = np.zeros((self.n_txt, n), dtype=np.int64)
        fault = np.zeros(n, dtype=np.uint8)
        ffield = np.zeros(n, dtype=np.int16)
        filler_bad = np.zeros(n, dtype=np.uint8)
        dig_out = np.empty(n * self.dig_units, dtype=np.uint8)
        dig_base = np.where(self.dig_base >= 0, self.dig_base * n, -1)
        if n and m:
            scan(recs, self.kind, self.off, self.length, self.blank_ok, self.cs_id, self.slot, self.cs_ok,
                 self.pad, self.shift_bytes, self.pivot, self.val_ok, dig_base, ints, valid, tlen, fault, ffield,
                 filler_bad, dig_out)
        # kernel field numbers -> record field numbers
        ffield = np.where(fault != 0, self.index[np.maximum(ffield, 0)] if m else -1, -1).astype(np.int16)
        return ints, valid, tlen, fault, ffield, filler_bad, dig_out, dig_base


def int_column(name: str, values: np.ndarray, valid: np.ndarray, dtype=pl.Int64) -> pl.Series:
    bm, nulls = _bitmap(valid)
    if dtype == pl.Date:
        arr = pa.Array.from_buffers(pa.date32(), len(values), [bm, pa.py_buffer(values.astype(np.int32))], nulls)
    else:
        arr = pa.Array.from_buffers(pa.int64(), len(values), [bm, pa.py_buffer(np.ascontiguousarray(values))], nulls)
    return pl.Series(name, arr)


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
