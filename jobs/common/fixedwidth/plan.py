"""Kernel plans: the per-record-type arrays both compiled scans take (the numba kernel in
kernel.py and the ahead-of-time compiled one in _kbscan.c, loaded by native.py), and the Arrow /
Polars column builders they share. Nothing here imports numba, so a process that reads files
through the native scan never loads it.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

K_FILLER, K_DIGITS, K_NUMERIC, K_SBCS, K_DATE8, K_DATE6, K_SHIFT = 0, 1, 2, 3, 4, 5, 6


def _bitmap(valid: np.ndarray):
    if valid.all():
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), int((~valid).sum())


class _ArrowCapsule:
    """An Arrow array handed to Polars through the Arrow PyCapsule interface: zero-copy, and unlike
    pl.Series(pa.Array) it does not import pyarrow.compute (about 0.15 s of CPU per process)."""

    __slots__ = ("arr",)

    def __init__(self, arr: pa.Array):
        self.arr = arr

    def __arrow_c_array__(self, requested_schema=None):
        return self.arr.__arrow_c_array__(requested_schema)


def series(name: str, arr: pa.Array) -> pl.Series:
    return pl.Series(name, _ArrowCapsule(arr))


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
            from .kernel import scan

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
    return series(name, arr)
