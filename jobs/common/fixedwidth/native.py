"""The ahead-of-time compiled scan (_kbscan.c), loaded with ctypes: the reader's default path.

Why not the numba kernel (kernel.py): loading numba and its cached kernels costs every process
about 1.1 s before the first record is read (issue 14); this library loads in a millisecond. It
does the same checks and conversions as the numba scan (the tests compare the two and the numpy
reference decoders) and writes digits and text straight as Arrow string views, which Polars takes
without the string_view cast the numba path needs.

The library is built by ``make install`` (``python -m jobs.common.fixedwidth.native``) next to this
file as ``_kbscan-<hash of the source>.so``, so a changed source is never run stale; a process that
finds it missing builds it (``cc``, written aside and renamed). Without a C compiler, or with
``KOKUHO_FW_NATIVE=0``, the reader falls back to the numba kernel (same results, slower start).
``KOKUHO_FW_THREADS`` caps the threads of one scan (default: the CPUs this process may use).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "_kbscan.c"
MIN_ROWS_PER_THREAD = 65_536
MAX_BUFFER = 2**31 - 1  # an Arrow string view addresses its buffer with an int32 offset

log = logging.getLogger(__name__)

_P = ctypes.c_void_p
_I = ctypes.c_int64


def source_hash() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]


def library_path() -> Path:
    return HERE / f"_kbscan-{source_hash()}.so"


def build(dest: Path | None = None) -> Path:
    """Compile _kbscan.c into ``dest`` (default: library_path()); old builds next to it are removed."""
    dest = dest or library_path()
    h = source_hash()
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-O3", "-shared", "-fPIC", "-std=c99", "-Wall", "-Werror", f'-DKB_SOURCE_HASH="{h}"', "-o", str(tmp),
           str(SOURCE)]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    for old in dest.parent.glob("_kbscan-*.so"):
        if old != dest:
            old.unlink(missing_ok=True)
    return dest


@functools.lru_cache(maxsize=1)
def lib() -> ctypes.CDLL | None:
    """The loaded library, built first if missing; None (numba fallback) if it cannot be had."""
    if os.environ.get("KOKUHO_FW_NATIVE", "1") == "0":
        return None
    try:
        path = library_path()
        if not path.exists():
            build(path)
        so = ctypes.CDLL(str(path))
    except (OSError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or e
        log.warning("fixed-width native scan unavailable (%s): using the numba kernel", detail)
        return None
    so.kb_source_hash.restype = ctypes.c_char_p
    so.kb_scan.restype = None
    so.kb_scan.argtypes = [_P, _I, _P, _I, _I, _I, _I] + [_P] * 9 + [_I, _P, _P, _I] + [_P] * 3 + [_P] * 8
    so.kb_fill_text.restype = None
    so.kb_fill_text.argtypes = [_P, _I, _P, _I, _I, _I, _I, _P, _P, _P, _P]
    so.kb_assemble.restype = None
    so.kb_assemble.argtypes = [_P, _I, _I, _I, _P, _I, _P, _P, _P, _I, _P, _P, _P, _P, _P]
    so.kb_gs1.restype = None
    so.kb_gs1.argtypes = [_P, _I, _I, _I, _P, _I, _P, _P, _P, _P, _P]
    return so


def threads(n: int, per_thread: int | None = None) -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    cap = int(os.environ.get("KOKUHO_FW_THREADS", "0") or 0) or cpus
    return max(1, min(cap, n // (per_thread or MIN_ROWS_PER_THREAD)))


def _parallel(fn, n: int, per_thread: int | None = None) -> None:
    """fn(lo, hi) over [0, n) in as many threads as threads(n) says (ctypes releases the GIL)."""
    k = threads(n, per_thread)
    if k == 1:
        fn(0, n)
        return
    bounds = [n * t // k for t in range(k + 1)]
    ts = [threading.Thread(target=fn, args=(bounds[t], bounds[t + 1])) for t in range(1, k)]
    for t in ts:
        t.start()
    fn(bounds[0], bounds[1])
    for t in ts:
        t.join()


def _ptr(a: np.ndarray) -> int:
    return a.ctypes.data


#: rows per thread of the writer's per-column copies (cp932 text, digits): one column is cheap, a
#: thread costs more than it saves below this (the file write runs beside them anyway)
MIN_COPY_ROWS_PER_THREAD = 65_536
#: rows per thread of the writer's assembly (a 1,800-byte record: some 15 MB of lines per thread)
MIN_ASSEMBLE_ROWS_PER_THREAD = 8_192


def assemble(out: np.ndarray, template: np.ndarray, blocks: list[np.ndarray], boff: list[int], values: list[np.ndarray],
             nulls: list[np.ndarray | None], noff: list[int], nwid: list[int], pairs: np.ndarray) -> None:
    """The writer's record assembly in C (kb_assemble): the same bytes as the numba kernel
    (``writer._numba_assemble``). ``blocks``: (n, width) uint8 arrays, C-contiguous, going to
    columns ``boff``; ``values``: int64 arrays of n, with their ``nulls`` (bool arrays, or None),
    written as nwid digits at noff. The columns are passed by address, not copied."""
    so = lib()
    n, width = out.shape
    assert out.dtype == np.uint8 and out.flags.c_contiguous and template.shape == (width,)
    for b in blocks:
        assert b.dtype == np.uint8 and b.flags.c_contiguous and b.shape[0] == n
    for v, z in zip(values, nulls):
        assert v.dtype == np.int64 and v.flags.c_contiguous and v.shape == (n,)
        assert z is None or (z.dtype == np.bool_ and z.flags.c_contiguous and z.shape == (n,))
    if n == 0:
        return
    template = np.ascontiguousarray(template, dtype=np.uint8)
    bsrc = np.array([_ptr(b) for b in blocks] or [0], dtype=np.uint64)
    bwid = np.array([b.shape[1] for b in blocks] or [0], dtype=np.int64)
    vsrc = np.array([_ptr(v) for v in values] or [0], dtype=np.uint64)
    zsrc = np.array([0 if z is None else _ptr(z) for z in nulls] or [0], dtype=np.uint64)
    i64 = [np.array(list(a) or [0], dtype=np.int64) for a in (boff, noff, nwid)]
    ptrs = [_ptr(a) for a in (template, bsrc, i64[0], bwid, vsrc, zsrc, i64[1], i64[2], pairs)]
    m, k = len(blocks), len(values)

    def run(lo, hi):
        so.kb_assemble(_ptr(out), width, lo, hi, ptrs[0], m, *ptrs[1:4], k, *ptrs[4:])

    _parallel(run, n, MIN_ASSEMBLE_ROWS_PER_THREAD)


def gs1_digits(template: np.ndarray, fields: list[tuple[np.ndarray, int, int]], n: int,
               valid: np.ndarray | None = None, views: bool = False):
    """(n, 44) ASCII digits of GS1-128 コンビニ barcodes (kb_gs1): the 44-byte ``template`` with each
    (values, position, width) field zero-filled into it and the check digit computed. The caller has
    checked that every value is non-negative and fits its width. ``views=True`` (n * 44 < 2**31):
    (digits, views), the views (n, 16) uint8 describing each row as an Arrow string view over the
    digits, empty where ``valid`` (bool, n) is False."""
    so = lib()
    out = np.empty((n, 44), dtype=np.uint8)
    vw = np.empty((n, 16), dtype=np.uint8) if views else None
    ok = None if valid is None or not views else np.ascontiguousarray(valid, dtype=np.uint8)
    assert not views or n * 44 < 2**31
    template = np.ascontiguousarray(template, dtype=np.uint8)
    assert template.shape == (44,)
    cols = [np.ascontiguousarray(v, dtype=np.int64) for v, _, _ in fields]  # read where they are, not stacked
    assert all(c.shape == (n,) for c in cols)
    vals = np.array([_ptr(c) for c in cols] or [0], dtype=np.uint64)
    pos = np.array([p for _, p, _ in fields] or [0], dtype=np.int64)
    wid = np.array([w for _, _, w in fields] or [0], dtype=np.int64)
    if n:
        _parallel(lambda lo, hi: so.kb_gs1(_ptr(out), n, lo, hi, _ptr(template), len(fields), _ptr(vals), _ptr(pos),
                                           _ptr(wid), 0 if vw is None else _ptr(vw), 0 if ok is None else _ptr(ok)),
                  n, MIN_ASSEMBLE_ROWS_PER_THREAD)
    return (out, vw) if views else out


class Scan:
    """Outputs of one native scan of a record block (field arrays in kernel field order)."""

    __slots__ = ("ints", "valid", "tlen", "fault", "ffield", "filler_bad", "dviews", "dig_data", "dbase", "drows",
                 "vslot", "recs", "rowidx")


def fits(plan, n: int) -> bool:
    """Whether every text field's UTF-8 (3 bytes per half-width katakana at most) fits one Arrow buffer."""
    return all(n * 3 * int(ln) <= MAX_BUFFER for k, ln in zip(plan.kind.tolist(), plan.length.tolist()) if k == 3)


def scan(plan, recs: np.ndarray, rows: np.ndarray | None = None) -> Scan:
    """Scan the records ``recs`` or, with ``rows``, the records ``recs[rows]`` read in place (no
    gathered copy of them: the data records of a file of several groups are not contiguous)."""
    so = lib()
    if recs.ndim != 2 or recs.strides[1] != 1:
        recs = np.ascontiguousarray(recs)
    rowidx = None if rows is None else np.ascontiguousarray(rows, dtype=np.int64)
    n, m = (len(recs) if rowidx is None else len(rowidx)), len(plan.kind)
    out = Scan()
    out.recs, out.rowidx = recs, rowidx
    pidx = 0 if rowidx is None else _ptr(rowidx)
    out.ints = np.empty((plan.n_int, n), dtype=np.int64)
    out.valid = np.empty((m, n), dtype=np.uint8)
    out.tlen = np.empty((plan.n_txt, n), dtype=np.int32)
    out.fault = np.empty(n, dtype=np.uint8)
    out.ffield = np.empty(n, dtype=np.int16)
    out.filler_bad = np.empty(n, dtype=np.uint8)
    # digits fields: one view column each; those longer than 12 bytes also get their bytes copied into
    # dig_data, in buffers of drows rows (each under 2 GiB)
    is_dig = plan.kind == 1
    out.vslot = np.where(is_dig, np.cumsum(is_dig) - 1, -1).astype(np.int64)
    long_dig = is_dig & (plan.length > 12)
    out.drows = np.where(long_dig, MAX_BUFFER // np.maximum(plan.length, 1), 0).astype(np.int64)
    sizes = np.where(long_dig, plan.length * n, 0)
    out.dbase = np.where(long_dig, np.cumsum(sizes) - sizes, -1).astype(np.int64)
    out.dviews = np.empty((int(is_dig.sum()), n, 16), dtype=np.uint8)
    out.dig_data = np.empty(int(sizes.sum()), dtype=np.uint8)
    if n and m:
        rstride = recs.strides[0]
        args = (plan.kind, plan.off, plan.length, plan.blank_ok.view(np.uint8), plan.cs_id, plan.slot,
                plan.cs_ok.view(np.uint8), plan.pad, plan.shift_bytes)
        for a in args:
            assert a.flags.c_contiguous
        ptrs = [_ptr(a) for a in args]
        sw, vw = plan.shift_bytes.shape[1], plan.val_ok.shape[1]

        def run(lo, hi):
            so.kb_scan(_ptr(recs), rstride, pidx, n, lo, hi, m, *ptrs, sw, _ptr(plan.pivot), _ptr(plan.val_ok), vw,
                       _ptr(out.vslot), _ptr(out.dbase), _ptr(out.drows), _ptr(out.ints), _ptr(out.valid),
                       _ptr(out.tlen), _ptr(out.fault), _ptr(out.ffield), _ptr(out.filler_bad), _ptr(out.dviews),
                       _ptr(out.dig_data))

        _parallel(run, n)
    else:  # no field for the scan (every one decoded by the reference decoders)
        out.fault[:], out.ffield[:], out.filler_bad[:] = 0, -1, 0
    # kernel field numbers -> record field numbers
    out.ffield = np.where(out.fault != 0, plan.index[np.maximum(out.ffield, 0)] if m else -1, -1).astype(np.int16)
    return out


def _view_array(n: int, views: np.ndarray, data: list, valid: np.ndarray):
    import pyarrow as pa

    from .plan import _bitmap

    bm, nulls = _bitmap(valid.view(np.bool_))
    return pa.Array.from_buffers(pa.string_view(), n, [bm, pa.py_buffer(views), *data], nulls)


def digits_column(sc: Scan, jj: int, ln: int, name: str):
    """String column of kernel field jj (digits)."""
    from .plan import series

    n = sc.fault.shape[0]
    views = sc.dviews[sc.vslot[jj]]
    data = []
    if ln > 12:
        import pyarrow as pa

        base, rows = int(sc.dbase[jj]), int(sc.drows[jj])
        seg = sc.dig_data[base:base + n * ln]
        data = [pa.py_buffer(seg[s * ln:(s + rows) * ln]) for s in range(0, max(n, 1), rows)]
    return series(name, _view_array(n, views, data, sc.valid[jj]))


def text_column(sc: Scan, plan, jj: int, name: str):
    """UTF-8 string column of kernel field jj (half-width text)."""
    import pyarrow as pa

    from .plan import series

    so = lib()
    n = sc.fault.shape[0]
    lens = sc.tlen[plan.slot[jj]]
    big = np.where(lens > 12, lens, 0).astype(np.int64)
    offs = np.cumsum(big)
    total = int(offs[-1]) if n else 0
    offs -= big
    out = np.empty(total, dtype=np.uint8)
    views = np.empty((n, 16), dtype=np.uint8)
    recs = sc.recs
    pidx = 0 if sc.rowidx is None else _ptr(sc.rowidx)
    o, ln = int(plan.off[jj]), int(plan.length[jj])
    if n:
        _parallel(lambda lo, hi: so.kb_fill_text(_ptr(recs), recs.strides[0], pidx, lo, hi, o, ln, _ptr(lens), _ptr(offs),
                                                 _ptr(views), _ptr(out)), n)
    return series(name, _view_array(n, views, [pa.py_buffer(out)], sc.valid[jj]))


@functools.lru_cache(maxsize=1)
def cp932_tables() -> tuple[np.ndarray, np.ndarray]:
    """Python's cp932 codec as two tables for kb_cp932_scan: the code point of each byte that decodes
    alone (else -1), and of each two-byte sequence a lead byte starts (lead * 256 + trail, else -1)."""
    single = np.full(256, -1, dtype=np.int32)
    pair = np.full(65536, -1, dtype=np.int32)
    for b in range(256):
        try:
            single[b] = ord(bytes([b]).decode("cp932"))
            continue
        except UnicodeDecodeError:
            pass
        for t in range(256):
            try:
                s = bytes([b, t]).decode("cp932")
            except UnicodeDecodeError:
                continue
            if len(s) == 1:
                pair[b * 256 + t] = ord(s)
    return single, pair


@functools.lru_cache(maxsize=1)
def _cp932_lib():
    so = lib()
    if so is None:
        return None
    so.kb_cp932_scan.restype = None
    so.kb_cp932_scan.argtypes = [_P, _I, _I, _I, _I, _I, _P, _P, ctypes.c_int32, _P, _P, _P]
    so.kb_cp932_fill.restype = None
    so.kb_cp932_fill.argtypes = [_P, _I, _I, _I, _I, _I, _P, _P, _P, _P, _P, _P]
    so.kb_cp932_encode.restype = ctypes.c_int64
    so.kb_cp932_encode.argtypes = [_P, _P, _P, _I, _I, _I, _P, _P]
    so.kb_digits_view.restype = ctypes.c_int64
    so.kb_digits_view.argtypes = [_P, _P, _P, _I, _I, _I, _P]
    return so


@functools.lru_cache(maxsize=1)
def cp932_encode_table() -> np.ndarray:
    """Python's cp932 codec as one table for kb_cp932_encode: per BMP code point the byte it encodes
    to, or lead * 256 + trail, or -1 where the codec refuses it; the control characters (below U+0020,
    U+007F), which the writer's fast path leaves to the reference encoder, are -1 too."""
    enc = np.full(65536, -1, dtype=np.int32)
    for c in range(0x20, 65536):
        if c == 0x7F or 0xD800 <= c <= 0xDFFF:
            continue
        try:
            b = chr(c).encode("cp932")
        except UnicodeEncodeError:
            continue
        enc[c] = b[0] if len(b) == 1 else b[0] * 256 + b[1]
    return enc


def cp932_encode(offsets: np.ndarray, data: np.ndarray, nulls: np.ndarray | None, w: int) -> np.ndarray | None:
    """(n, w) cp932 bytes of a String column's Arrow buffers (offsets int64, n + 1 of them; UTF-8
    data), each value left-justified and padded with spaces, a null row (``nulls``) all spaces: the
    bytes of ``value.encode("cp932").ljust(w)``. None when a row cannot be written so (a character
    cp932 lacks, a control character, longer than w bytes): the reference encoder names it."""
    so = _cp932_lib()
    n = len(offsets) - 1
    out = np.empty((n, w), dtype=np.uint8)
    if n == 0:
        return out
    enc = cp932_encode_table()
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    data = np.ascontiguousarray(data, dtype=np.uint8) if len(data) else np.zeros(1, dtype=np.uint8)
    z = None if nulls is None else np.ascontiguousarray(nulls, dtype=np.uint8)
    bad = []

    def run(lo, hi):
        r = so.kb_cp932_encode(_ptr(offsets), _ptr(data), 0 if z is None else _ptr(z), lo, hi, w, _ptr(enc), _ptr(out))
        if r >= 0:
            bad.append(r)

    _parallel(run, n, MIN_COPY_ROWS_PER_THREAD)
    return None if bad else out


def digits_block(s, w: int) -> np.ndarray | None:
    """(n, w) bytes of a String column of digits (a Polars Series), each value zero-filled on the left
    to w (what ``str.zfill(w)`` gives), a null row all spaces, straight from its Arrow string views
    (kb_digits_view). None when a row is not digits or is longer than w: the Polars way names it."""
    import polars as pl

    so = _cp932_lib()
    n = len(s)
    out = np.empty((n, w), dtype=np.uint8)
    if n == 0:
        return out
    arr = s.to_arrow(compat_level=pl.CompatLevel.newest())
    if str(arr.type) != "string_view":
        return None
    bufs = arr.buffers()
    views = np.frombuffer(bufs[1], dtype=np.uint8)[arr.offset * 16:(arr.offset + n) * 16]
    data = [np.frombuffer(b, dtype=np.uint8) if b is not None and b.size else np.zeros(1, np.uint8) for b in bufs[2:]]
    ptrs = np.array([_ptr(d) for d in data] or [0], dtype=np.uint64)
    z = np.ascontiguousarray(s.is_null().to_numpy(), dtype=np.uint8) if s.null_count() else None
    bad = []

    def run(lo, hi):
        r = so.kb_digits_view(_ptr(views), _ptr(ptrs), 0 if z is None else _ptr(z), lo, hi, w, _ptr(out))
        if r >= 0:
            bad.append(r)

    _parallel(run, n, MIN_COPY_ROWS_PER_THREAD)
    return None if bad else out


def cp932_fits(f, n: int) -> bool:
    """Whether the scan decodes this text field (fields.decode_text stays the reference): a cp932 field
    with a one-character pad and no list of allowed values, whose UTF-8 fits one Arrow buffer."""
    return (f.type == "text" and len(f.pad) == 1 and f.values is None and n * 3 * f.length <= MAX_BUFFER
            and _cp932_lib() is not None)


def cp932_column(f, text: np.ndarray, fill: bool = True) -> tuple:
    """(String series, fault per row) of cp932 text field `f` of the records `text` (n x record length):
    what fields.decode_text gives for it, from the compiled scan (the UTF-8 rule, fields.utf8_text, is
    applied in Python to the few rows the scan cannot rule out). ``fill=False``: the faults only (the
    series is None; its strings are not built)."""
    import pyarrow as pa

    from .fields import utf8_text
    from .plan import series

    so = _cp932_lib()
    if text.ndim != 2 or text.strides[1] != 1:
        text = np.ascontiguousarray(text)
    n, o, ln = len(text), f.offset, f.length
    single, pair = cp932_tables()
    fault = np.empty(n, dtype=np.uint8)
    tlen = np.empty(n, dtype=np.int32)
    cand = np.empty(n, dtype=np.uint8)
    rs = text.strides[0]
    pad = ord(f.pad)
    if n:
        _parallel(lambda lo, hi: so.kb_cp932_scan(_ptr(text), rs, lo, hi, o, ln, _ptr(single), _ptr(pair), pad,
                                                  _ptr(fault), _ptr(tlen), _ptr(cand)), n)
    for i in np.flatnonzero(cand).tolist():
        if utf8_text(text[i, o:o + ln].tobytes()) is not None:
            fault[i] = 11
    if not f.blank:
        fault[(fault == 0) & (tlen == 0)] = 2
    if not fill:
        return None, fault
    big = np.where(tlen > 12, tlen, 0).astype(np.int64)
    offs = np.cumsum(big)
    total = int(offs[-1]) if n else 0
    offs -= big
    out = np.empty(total, dtype=np.uint8)
    views = np.empty((n, 16), dtype=np.uint8)
    if n:
        _parallel(lambda lo, hi: so.kb_cp932_fill(_ptr(text), rs, lo, hi, o, ln, _ptr(single), _ptr(pair),
                                                  _ptr(tlen), _ptr(offs), _ptr(views), _ptr(out)), n)
    return series(f.name, _view_array(n, views, [pa.py_buffer(out)], tlen > 0)), fault


@functools.lru_cache(maxsize=1)
def _zoned_lib():
    so = lib()
    if so is None:
        return None
    so.kb_zoned.restype = None
    so.kb_zoned.argtypes = [_P, _I, _I, _I, _I, _I, _I, _P, _P, _P, _P, _P]
    return so


def zoned_fits(f) -> bool:
    """Whether the scan decodes this zoned field (fields.decode_zoned stays the reference): ASCII
    overpunch (a cp932 layout; EBCDIC zoned fields stay with the reference decoder)."""
    return f.type == "zoned" and f.length >= 1 and _zoned_lib() is not None


def zoned_column(f, text: np.ndarray) -> tuple:
    """(Int64 series, fault per row) of zoned field `f` of the records `text`: what
    fields.decode_zoned gives for it (ASCII overpunch), from the compiled scan."""
    from .fields import _ZONED_ASCII_DIGIT, _ZONED_ASCII_SIGN
    from .plan import int_column

    so = _zoned_lib()
    if text.ndim != 2 or text.strides[1] != 1:
        text = np.ascontiguousarray(text)
    n = len(text)
    vals = np.empty(n, dtype=np.int64)
    valid = np.empty(n, dtype=np.uint8)
    fault = np.empty(n, dtype=np.uint8)
    rs = text.strides[0]
    if n:
        _parallel(lambda lo, hi: so.kb_zoned(_ptr(text), rs, lo, hi, f.offset, f.length, int(f.blank),
                                             _ptr(_ZONED_ASCII_DIGIT), _ptr(_ZONED_ASCII_SIGN), _ptr(vals),
                                             _ptr(valid), _ptr(fault)), n)
    return int_column(f.name, vals, valid.view(np.bool_)).alias(f.name), fault


def main(argv: list[str] | None = None) -> int:
    """``python -m jobs.common.fixedwidth.native``: build the library (make install runs this)."""
    try:
        path = build()
    except subprocess.CalledProcessError as e:
        print(f"building {SOURCE.name} failed:\n{e.stderr}", file=sys.stderr)
        return 8
    print(f"built {path.relative_to(HERE.parents[2]) if path.is_relative_to(HERE.parents[2]) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
