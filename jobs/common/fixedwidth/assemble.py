"""The writer's compiled record assembly (numba; the C one in _kbscan.c, native.assemble, is used
instead when the library is built, and does the same): every field of a record type into the output
lines in one pass over row blocks, so each line is written while it is in cache.

The field encoders (fields.py, writer.py) produce each field as a contiguous (n, width) block of
bytes, or as integers for the zero-filled numbers; copying those blocks into a wide record with
numpy is one strided pass per field over the whole output (for the 1,800-byte print record, some
170 passes over 360 MB at 200,000 records), which is what made the writer slow. Here the blocks
are concatenated into one flat buffer and copied row block by row block, and the numbers are
written as digits straight into the line (two digits per division). Fields that are the same in
every record (fillers, defaults, a constant column, a component not levied) are laid out once in
a template line, which also holds the line end.
"""

from __future__ import annotations

from numba import njit, prange

from .writer import PAIRS  # noqa: F401  ("00".."99", also the C assembly's)


@njit(cache=True, parallel=True, error_model="numpy")
def assemble(out, template, data, base, stride, boff, bwid, vals, nulls, nidx, noff, nwid, pairs):
    """out: (n, len(template)) uint8 lines. Every line starts as ``template`` (the fields that are
    the same in every record, and the line end); then block j: the bytes of row i at
    data[base[j] + i * stride[j]] .. + bwid[j] go to column boff[j]; number j: vals[j, i]
    right-justified zero-filled in nwid[j] digits at noff[j] (spaces where nulls[nidx[j], i]; nidx[j]
    -1: the column has no nulls). The
    caller has checked that every value is non-negative and fits its width."""
    n = out.shape[0]
    m = boff.shape[0]
    k = noff.shape[0]
    rows = 64
    nb = (n + rows - 1) // rows
    for b in prange(nb):
        lo = b * rows
        hi = min(n, lo + rows)
        for i in range(lo, hi):
            out[i, :] = template
        for j in range(m):
            o = boff[j]
            w = bwid[j]
            s = stride[j]
            src = base[j] + lo * s
            for i in range(lo, hi):
                out[i, o:o + w] = data[src:src + w]
                src += s
        for j in range(k):
            o = noff[j]
            w = nwid[j]
            nj = nidx[j]
            for i in range(lo, hi):
                if nj >= 0 and nulls[nj, i]:
                    out[i, o:o + w] = 32
                    continue
                v = vals[j, i]
                p = o + w - 1
                while v >= 10 and p > o:
                    q = v // 100
                    r = 2 * (v - q * 100)
                    out[i, p] = pairs[r + 1]
                    out[i, p - 1] = pairs[r]
                    v = q
                    p -= 2
                if p >= o and v > 0:
                    out[i, p] = 48 + v
                    p -= 1
                while p >= o:
                    out[i, p] = 48
                    p -= 1
