"""Fixed-width writer: Polars frames -> bytes exactly per layout.

`write()` builds a whole file in memory; `FileWriter` streams a large file in chunks to a
temporary name and renames it into place on success (never a half-written file under the
final name). Both fill trailer bindings (counts and sums) from the data they write.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from .. import paths
from .fields import EncodeError, _rows_error, _utf8_buffers, encode_field
from .layout import Binding, Layout, RecordType


@functools.lru_cache(maxsize=4)
def cp932_to_ebcdic_lut() -> np.ndarray:
    import ebcdic  # noqa: F401

    lut = np.full(256, 0x6F, dtype=np.uint8)  # '?' in CCSID 290 for the unmappable
    for b in range(256):
        try:
            e = bytes([b]).decode("cp932").encode("cp290")
        except (UnicodeDecodeError, UnicodeEncodeError):
            continue
        if len(e) == 1:
            lut[b] = e[0]
    return lut


ROW_MARK = "__row__"  # keeps a one-row frame alive when every field takes its default


def one_row(values: dict | None = None) -> pl.DataFrame:
    values = dict(values or {})
    return pl.DataFrame({ROW_MARK: [0], **{k: [v] for k, v in values.items()}})


def _as_frame(rows) -> pl.DataFrame:
    if rows is None:
        return pl.DataFrame()
    if isinstance(rows, pl.DataFrame):
        return rows
    if isinstance(rows, dict):
        return one_row(rows)
    return pl.DataFrame(rows)


def encode_records(layout: Layout, rt: RecordType, df: pl.DataFrame) -> np.ndarray:
    """Encode the rows of one record type into an (n, record_length) uint8 block."""
    out = _encode_lines(layout, rt, df, b"")
    if layout.encoding == "ebcdic_kana":
        raw_cols = np.zeros(out.shape[1], dtype=bool)
        for f in rt.fields:
            if f.type in ("zoned", "packed", "shift"):
                raw_cols[f.offset:f.offset + f.length] = True
        conv = cp932_to_ebcdic_lut()[out]
        out = np.where(raw_cols[None, :], out, conv)
    return out


def _lines(layout: Layout, rt: RecordType, df: pl.DataFrame, le: bytes, out: np.ndarray | None = None) -> np.ndarray:
    """The rows of one record type as (n, record_length + len(le)) bytes, line end included
    (written into ``out`` when given: an array of at least n rows of that width, every byte of
    whose first n rows is overwritten; not for EBCDIC layouts)."""
    if layout.encoding == "ebcdic_kana":
        return _with_line_end(encode_records(layout, rt, df), le)
    return _encode_lines(layout, rt, df, le, out)


def _encode_lines(layout: Layout, rt: RecordType, df: pl.DataFrame, le: bytes, buf: np.ndarray | None = None) -> np.ndarray:
    """Every field of every row, then one compiled pass (assemble.py) writing them into the lines:
    numbers as integers, every other field as a (rows, width) block of its bytes (one row when
    the field is the same in every record: defaults, fillers, shift codes). ``buf``: where the
    lines go (its first n rows), else a new array."""
    n = df.height
    known = {f.name for f in rt.fields} | {"record_no", ROW_MARK}
    unknown = [c for c in df.columns if c not in known]
    if unknown:
        raise EncodeError(f"layout {layout.id}, {rt.label}: columns {unknown} are not fields of this record")
    ebcdic = layout.encoding == "ebcdic_kana"
    length = rt.fields[-1].end
    where = f"layout {layout.id}, {rt.label}"
    given = set(df.columns)
    numbers = [f for f in rt.fields if _number_like(f) and f.name in given]
    blocks: list[tuple[int, np.ndarray]] = []  # (offset, (n or 1, width) bytes)
    for f in rt.fields:
        if f.name in given and (_number_like(f) or f.type == "digits"):
            continue
        if _number_like(f) and not f.blank:
            raise EncodeError(f"{where}: field {f.name} {f.label}: no value given and no default")
        try:
            if f.name not in given:  # the same bytes in every record
                blocks.append((f.offset, encode_field(f, None, 1, layout, ebcdic)))
            elif n > 1 and f.blank and df.get_column(f.name).null_count() == n:
                # blank in every record (口座 items of a city without 口座振替, 変更事由 of a 当初 notice):
                # one row's bytes, laid in the template (each row is encoded on its own)
                blocks.append((f.offset, _encode_column(f, df.get_column(f.name).head(1), 1, layout, ebcdic)))
            elif n:
                blocks.append((f.offset, _encode_column(f, df.get_column(f.name), n, layout, ebcdic)))
            else:
                encode_field(f, df.get_column(f.name), 0, layout, ebcdic)
        except EncodeError as e:
            raise EncodeError(f"{where}: {e}") from None
    if buf is not None and buf.ndim == 2 and buf.shape[0] >= n and buf.shape[1] == length + len(le) \
            and buf.dtype == np.uint8 and buf.flags.c_contiguous:
        out = buf[:n]
    else:
        out = np.empty((n, length + len(le)), dtype=np.uint8)
    if not n:
        return out
    blocks += _encode_digits(layout, rt, df, [f for f in rt.fields if f.type == "digits" and f.name in given])
    _assemble(out, blocks, numbers, _encode_numbers(layout, rt, df, numbers), le, length)
    return out


#: distinct values at most this share of the rows: a text column is encoded once per value
_UNIQUE_SHARE = 0.25


def _encode_column(f, s: pl.Series, n: int, layout: Layout, ebcdic: bool) -> np.ndarray:
    """One given non-number, non-digits field. Text with few distinct values (names, 方書, fixed
    wording) is encoded once per distinct value and gathered; the bytes are the same as encoding
    every row (each row is encoded on its own), and an error is reported from the whole column
    (its row numbers). With the C library built, a cp932 text column goes to its encoder first
    (kb_cp932_encode, cheaper than finding the distinct values)."""
    if f.type == "text" and n and _native_cp932(f, layout):
        block = _cp932_spaced(f, s, layout)
        if block is not None:
            return block
    if f.type == "text" and n >= 1024:
        s = s.cast(pl.String)
        uniq = s.drop_nulls().unique()
        if len(uniq) <= _UNIQUE_SHARE * n:
            has_null = s.null_count() > 0
            values = pl.concat([uniq, pl.Series([None], dtype=pl.String)]) if has_null else uniq
            try:
                ub = encode_field(f, values, len(values), layout, ebcdic)
            except EncodeError:
                pass  # the whole column below names the rows
            else:
                codes = s.cast(pl.Enum(uniq.to_list())).to_physical().fill_null(len(uniq))
                return ub[codes.to_numpy()]
    if f.type == "text" and n:
        block = _cp932_spaced(f, s, layout)
        if block is not None:
            return block
    return encode_field(f, s, n, layout, ebcdic)


#: characters that are one byte in cp932 (ASCII, half-width katakana); every other character it
#: can encode is two bytes
_CP932_DOUBLE = r"[^\x00-\x7F\x{FF61}-\x{FF9F}]"


def _native_cp932(f, layout: Layout) -> bool:
    """Whether _cp932_spaced takes this field to the compiled encoder (the library is built)."""
    from . import native

    return (layout.charset_of(f).kind == "cp932" and f.pad == " " and f.values is None and not f.normalize
            and native.lib() is not None)


def _cp932_spaced(f, s: pl.Series, layout: Layout) -> np.ndarray | None:
    """A cp932 text column padded with spaces, the common case, without the scatter of the
    reference encoder: each value padded in Polars to the field's width in cp932 bytes, one encode
    of the whole column with a newline after every value, and the newlines checked where they must
    be (so a row of another length cannot shift the others); then the block is a reshape. With the
    C library built, kb_cp932_encode writes the block straight from the Arrow buffers instead (a
    table made from Python's cp932 codec; the Polars way stays the fallback). None
    when the column needs the reference encoder (nulls or values not allowed, other pads or
    charsets, normalizing, control characters, too long, not encodable): it gives the error."""
    if layout.charset_of(f).kind != "cp932" or f.pad != " " or f.values is not None or f.normalize:
        return None
    s = s.cast(pl.String)
    if s.null_count() and not f.blank:
        return None
    from . import native

    if native.lib() is not None and len(s):  # the compiled encoder (kb_cp932_encode): the same bytes
        offsets, data = _utf8_buffers(s)
        block = native.cp932_encode(offsets, data, s.is_null().to_numpy() if s.null_count() else None, f.length)
        if block is not None:
            return block
    w, n = f.length, len(s)
    v = s.fill_null("")
    size = v.str.len_chars() + v.str.count_matches(_CP932_DOUBLE)
    if int(size.max() or 0) > w or bool(v.str.contains(r"[\x00-\x1f\x7f]").any()):
        return None
    padded = pl.select(pl.concat_str([pl.lit(v), pl.lit(" " * w).str.slice(0, w - pl.lit(size)), pl.lit("\n")]))
    try:
        buf = np.frombuffer(padded.to_series().str.join("").item().encode("cp932"), dtype=np.uint8)
    except UnicodeEncodeError:
        return None
    if len(buf) != n * (w + 1):
        return None
    lines = buf.reshape(n, w + 1)
    if (lines[:, w] != 0x0A).any():
        return None
    return lines[:, :w]


#: "00".."99": the two ASCII digits of r at 2r, 2r+1 (the assembly's digit pairs)
PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode("ascii"), dtype=np.uint8).copy()


def _assembler():
    """The record assembly: the C one (native.py, _kbscan.c) when the library is built, else the
    numba kernel (assemble.py; KOKUHO_FW_NATIVE=0 or no C compiler). Same bytes; the C one reads
    the columns where they are and spares the process loading numba (about a second)."""
    from . import native

    return native.assemble if native.lib() is not None else _numba_assemble


def _numba_assemble(out, template, blocks, boff, values, nulls, noff, nwid, pairs) -> None:
    """The numba kernel's arguments: the blocks concatenated, the numbers and null masks stacked."""
    from .assemble import assemble

    n = len(out)
    i64 = np.int64
    base = np.cumsum([0] + [b.size for b in blocks])[:-1]
    data = np.concatenate([b.reshape(-1) for b in blocks]) if blocks else np.zeros(1, dtype=np.uint8)
    null_rows = [z for z in nulls if z is not None]
    nidx, k = [], 0
    for z in nulls:  # row of the stacked masks, -1: no nulls
        nidx.append(-1 if z is None else k)
        k += z is not None
    vals = np.stack(values) if values else np.zeros((0, n), dtype=i64)
    zs = np.stack(null_rows) if null_rows else np.zeros((0, n), dtype=np.bool_)
    widths = [b.shape[1] for b in blocks]
    assemble(out, template, data, np.array(base, dtype=i64), np.array(widths, dtype=i64), np.array(boff, dtype=i64),
             np.array(widths, dtype=i64), vals, zs, np.array(nidx, dtype=i64), np.array(noff, dtype=i64),
             np.array(nwid, dtype=i64), pairs)


def _assemble(out: np.ndarray, blocks, numbers, encoded, le: bytes, length: int) -> None:
    n = len(out)
    template = np.full(length + len(le), 32, dtype=np.uint8)
    template[length:] = np.frombuffer(le, dtype=np.uint8)
    parts, boff = [], []
    for off, b in blocks:
        rows, w = b.shape
        if rows == 1 and n > 1:  # the same in every record
            template[off:off + w] = b[0]
            continue
        parts.append(np.ascontiguousarray(b, dtype=np.uint8))
        boff.append(off)
    varying, values, null_rows = [], [], []
    for f, (v, z, vmin, vmax) in zip(numbers, encoded):
        if n > 1 and z is not None and z[0] and z.all():
            continue  # blank in every record: the template's spaces
        if n > 1 and z is None and vmin == vmax:
            template[f.offset:f.offset + f.length] = np.frombuffer(f"{vmin:0{f.length}d}".encode("ascii"), np.uint8)
            continue
        varying.append(f)
        values.append(np.ascontiguousarray(v, dtype=np.int64))
        null_rows.append(None if z is None else np.ascontiguousarray(z, dtype=np.bool_))
    _assembler()(out, template, parts, boff, values, null_rows, [f.offset for f in varying],
                 [f.length for f in varying], PAIRS)


def _number_like(f) -> bool:
    """Fields written as zero-filled unsigned numbers: numeric, and YYYYMMDD / YYMMDD dates."""
    return f.type == "numeric" or (f.type == "date" and f.format in ("yyyymmdd", "yymmdd"))


def _number_expr(f) -> pl.Expr:
    c = pl.col(f.name)
    if f.type == "date":
        d = c.cast(pl.Date)
        year = d.dt.year().cast(pl.Int64)
        if f.format == "yymmdd":
            year = year % 100
        return year * 10_000 + d.dt.month().cast(pl.Int64) * 100 + d.dt.day().cast(pl.Int64)
    return c.cast(pl.Int64)


def _arrow_values(s: pl.Series, dtype) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-width column's values (as they are in its Arrow data buffer, garbage where null) and
    its nulls, read from its Arrow buffers without a Polars query."""
    arr = s.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n, o = len(arr), arr.offset
    validity, data = arr.buffers()[:2]
    values = np.frombuffer(data, dtype=dtype)[o:o + n]
    if validity is None:
        return values, np.zeros(n, dtype=np.bool_)
    nulls = ~np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=o + n, bitorder="little")[o:].astype(np.bool_)
    return values, nulls


def _int64_with_nulls(s: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """An Int64 column with nulls as (values, zeros where null; nulls): what ``fill_null(0).to_numpy()``
    and ``is_null().to_numpy()`` give, without a Polars query each."""
    values, nulls = _arrow_values(s, np.int64)
    return np.where(nulls, np.int64(0), values), nulls


def date_numbers(s: pl.Series, number) -> tuple[np.ndarray, np.ndarray] | None:
    """``number(years, months, days)`` (int64 arrays → int64 array) of each value of a Date column, 0
    where null, and its nulls: computed once per day of the column's range (a million 期 fall on a few
    dozen 納期限) and gathered, reading the column's Arrow buffers; the proleptic Gregorian calendar of
    both numpy and Polars. None when the range is wider than 400,000 days: the caller uses Polars'
    ``dt.year()`` / ``dt.month()`` / ``dt.day()``."""
    days, nulls = _arrow_values(s, np.int32)
    n = len(days)
    if nulls.all():
        return np.zeros(n, dtype=np.int64), nulls
    days = days.astype(np.int64)
    if nulls.any():
        days = np.where(nulls, days[~nulls][0], days)
    lo, hi = int(days.min()), int(days.max())
    if hi - lo >= 400_000:
        return None
    span = np.arange(lo, hi + 1, dtype=np.int64).astype("datetime64[D]")
    months = span.astype("datetime64[M]")
    table = number(months.astype("datetime64[Y]").astype(np.int64) + 1970, months.astype(np.int64) % 12 + 1,
                   (span - months).astype(np.int64) + 1)
    values = table[days - lo]
    return (np.where(nulls, np.int64(0), values) if nulls.any() else values), nulls


def _yyyymmdd(s: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """A Date column as YYYYMMDD integers (0 where null) and its nulls: the numbers of
    ``_number_expr`` (year * 10,000 + month * 100 + day)."""
    got = date_numbers(s, lambda y, m, d: y * 10_000 + m * 100 + d)
    if got is not None:
        return got
    v = s.dt.year().cast(pl.Int64) * 10_000 + s.dt.month().cast(pl.Int64) * 100 + s.dt.day().cast(pl.Int64)
    return v.fill_null(0).to_numpy(), s.is_null().to_numpy()


def _encode_numbers(layout: Layout, rt: RecordType, df: pl.DataFrame, given) -> list:
    """The unsigned numeric fields (and YYYYMMDD/YYMMDD dates) given as columns: one Polars
    select for the values (null handling only for columns that have nulls), checks in numpy
    (min/max first, the rows only on a failure). Per field: (values, nulls or None, min, max)."""
    if not given:
        return []
    n = df.height
    cols = [df.get_column(f.name) for f in given]
    has_null = [s.null_count() > 0 for s in cols]
    # Int64 numbers are taken from their column as they are (no select): the values, zeros where null
    direct = [(f.type == "numeric" and s.dtype == pl.Int64) or (f.type == "date" and f.format == "yyyymmdd"
                                                                and s.dtype == pl.Date) for f, s in zip(given, cols)]
    exprs = [(_number_expr(f).fill_null(0) if z else _number_expr(f)).alias(f"v{j}")
             for j, (f, z, d) in enumerate(zip(given, has_null, direct)) if not d]
    exprs += [pl.col(f.name).is_null().alias(f"z{j}") for j, (f, z, d) in enumerate(zip(given, has_null, direct))
              if z and not d]
    exprs += [pl.col(f.name).cast(pl.Date).dt.year().fill_null(2000).alias(f"y{j}")
              for j, f in enumerate(given) if f.type == "date" and f.format == "yymmdd"]
    sel = df.select(exprs) if exprs else None
    where = f"layout {layout.id}, {rt.label}"
    out = []
    for j, f in enumerate(given):
        if direct[j] and f.type == "date":
            v, nulls = _yyyymmdd(cols[j])
            nulls = nulls if has_null[j] else None
        elif direct[j]:
            s = cols[j]
            if not has_null[j]:
                v, nulls = s.to_numpy(), None
            elif s.null_count() == n:  # blank in every record
                v, nulls = np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.bool_)
            else:
                v, nulls = _int64_with_nulls(s)
        else:
            v = sel.get_column(f"v{j}").to_numpy()
            nulls = sel.get_column(f"z{j}").to_numpy() if has_null[j] else None
        if nulls is not None and not f.blank:
            raise EncodeError(f"{where}: {_rows_error(f, nulls, 'blank not allowed')}")
        if f.type == "date" and f.format == "yymmdd":
            years = sel[f"y{j}"].to_numpy()
            lo, hi = 2000 - (100 - f.century_pivot), 2000 + f.century_pivot
            bad = (years < lo) | (years >= hi)
            if nulls is not None:
                bad &= ~nulls
            if bad.any():
                raise EncodeError(f"{where}: {_rows_error(f, bad, f'year outside the 2-digit window {lo}–{hi - 1}', df[f.name])}")
        vmin, vmax = int(v.min()), int(v.max())
        if vmin < 0 or vmax >= 10 ** f.length:
            bad = (v < 0) | (v >= 10 ** f.length)
            raise EncodeError(f"{where}: {_rows_error(f, bad, f'does not fit {f.length} unsigned digits', df[f.name])}")
        out.append((v, nulls, vmin, vmax))
    return out


def _encode_digits(layout: Layout, rt: RecordType, df: pl.DataFrame, fields) -> list[tuple[int, np.ndarray]]:
    """All digits fields (codes kept as strings, leading zeros and all) in one Polars select:
    zero-filled to their width, checked in numpy (min/max first), copied from the Arrow buffers.
    With the C library built, String columns are zero-filled and checked in one pass from their
    Arrow string views instead (native.digits_block); a column it refuses goes the Polars way, which
    names the rows."""
    if not fields:
        return []
    from . import native

    blocks = []
    if native.lib() is not None:  # the compiled copy from the Arrow string views (kb_digits_view)
        rest = []
        for f in fields:
            s = df.get_column(f.name)
            block = None
            if s.dtype == pl.String and (f.blank or not s.null_count()):
                block = native.digits_block(s, f.length)
            if block is not None and f.values is not None:
                allowed = np.array([v.encode("ascii") for v in f.values], dtype=f"S{f.length}")
                bad = ~np.isin(block.view(f"S{f.length}").ravel(), allowed)
                if s.null_count():
                    bad &= ~s.is_null().to_numpy()
                if bad.any():
                    block = None  # the Polars way below names the rows
            if block is None:
                rest.append(f)
            else:
                blocks.append((f.offset, block))
        fields = rest
        if not fields:
            return blocks
    exprs = []
    for j, f in enumerate(fields):
        c = pl.col(f.name).cast(pl.String)
        exprs += [c.fill_null("0" * f.length).str.zfill(f.length).alias(f"d{j}"), c.is_null().alias(f"z{j}")]
    sel = df.select(exprs)
    for j, f in enumerate(fields):
        where = f"layout {layout.id}, {rt.label}"
        w = f.length
        filled, z = sel[f"d{j}"], sel[f"z{j}"]
        has_null = bool(z.any())
        nulls = z.to_numpy() if has_null else None
        if has_null and not f.blank:
            raise EncodeError(f"{where}: {_rows_error(f, nulls, 'blank not allowed')}")
        lens = filled.str.len_bytes()
        if lens.min() != w or lens.max() != w:
            lens = lens.to_numpy()
            raise EncodeError(f"{where}: {_rows_error(f, lens != w, f'longer than {w} digits', df[f.name])}")
        offsets, data = _utf8_buffers(filled)  # a read-only view: copied below only to blank nulls
        block = data[offsets[0]: offsets[0] + df.height * w].reshape(df.height, w)
        if block.min() < 48 or block.max() > 57:
            nondigit = ((block - np.uint8(48)) > 9).any(axis=1)
            raise EncodeError(f"{where}: {_rows_error(f, nondigit, 'not digits', df[f.name])}")
        if f.values is not None:
            allowed = np.array([v.encode("ascii") for v in f.values], dtype=f"S{w}")
            bad = ~np.isin(block.view(f"S{w}").ravel(), allowed)
            if nulls is not None:
                bad &= ~nulls
            if bad.any():
                raise EncodeError(f"{where}: {_rows_error(f, bad, f'value not in {list(f.values)}', df[f.name])}")
        if nulls is not None:
            block = block.copy()
            block[nulls] = 32
        blocks.append((f.offset, block))
    return blocks


def _cond(df: pl.DataFrame, cond, negate: bool) -> pl.Series:
    m = pl.Series([True] * df.height)
    for k, vals in (cond or {}).items():
        hit = df[k].cast(pl.String).is_in(list(vals)).fill_null(False)
        m = m & (~hit if negate else hit)
    return m


def binding_value(b: Binding, data: pl.DataFrame) -> int:
    if b.kind == "constant":
        return int(b.constant)
    if data.height == 0:
        return 0
    every = not b.where and not b.where_not  # every record counts: no mask to build
    m = None if every else _cond(data, b.where, False) & _cond(data, b.where_not, True)
    if b.kind == "count":
        return data.height if every else int(m.sum())
    if b.kind == "sum":
        return int((data[b.of] if every else data[b.of].filter(m)).sum() or 0)
    raise ValueError(b.kind)


def _inherit(rt: RecordType, row: pl.DataFrame, header: pl.DataFrame | None) -> pl.DataFrame:
    """A trailer takes the values of same-named header fields it was not given (市町村コード …),
    except the record kind code and fields with a single allowed value."""
    if header is None or header.height == 0:
        return row
    names = {f.name for f in rt.fields if f.is_column and not (f.values is not None and len(f.values) == 1)}
    take = [c for c in header.columns if c in names and c not in row.columns]
    if not take:
        return row
    return row.with_columns([pl.lit(header[c][0], dtype=header.schema[c]).alias(c) for c in take])


def _fill(rt: RecordType, row: pl.DataFrame, data: pl.DataFrame) -> pl.DataFrame:
    if row.height == 0:
        row = one_row()
    vals = {b.field: binding_value(b, data) for b in rt.bindings if b.kind != "records"}
    return row.with_columns([pl.lit(v, dtype=pl.Int64).alias(k) for k, v in vals.items()])


def _line_end(layout: Layout, line_end: str | None) -> bytes:
    le = line_end or (layout.write_line_end if layout.line_end == "either" else layout.line_end)
    return b"\r\n" if le == "crlf" else b""


def _with_line_end(blocks: np.ndarray, le: bytes) -> np.ndarray:
    if not le:
        return blocks
    n, w = blocks.shape
    out = np.empty((n, w + len(le)), dtype=np.uint8)
    out[:, :w] = blocks
    out[:, w:] = np.frombuffer(le, dtype=np.uint8)
    return out


def _lead_in_bytes(layout: Layout, lead_in: dict | None, n_records: int) -> bytes:
    if layout.lead_in is None:
        return b""
    row = dict(lead_in or {})
    for b in layout.lead_in.bindings:
        if b.kind == "records":
            row[b.field] = n_records
    return encode_records(layout, layout.lead_in, one_row(row)).tobytes()


def write(layout: Layout, frames: dict[str, pl.DataFrame | dict | list], *, fill_bindings: bool = True,
          line_end: str | None = None, lead_in: dict | None = None) -> bytes:
    """Whole-file writer. With a `record_no` column in every frame, records are written in that
    order (several groups possible); otherwise one group: header, data, trailer, end."""
    frames = {k: _as_frame(v) for k, v in frames.items()}
    le = _line_end(layout, line_end)
    st = layout.structure
    ordered = bool(frames) and all("record_no" in df.columns for df in frames.values() if df.height)
    if ordered and st.has_header:
        return _write_ordered(layout, frames, fill_bindings, le, lead_in)
    data_rt = layout.data_type
    data = frames.get(data_rt.name, pl.DataFrame())
    parts = []
    header = None
    if st.has_header:
        h_rt = layout.by_role("H")
        header = frames.get(h_rt.name)
        header = header if header is not None and header.height else one_row()
        parts.append(_lines(layout, h_rt, header, le))
    parts.append(_lines(layout, data_rt, data, le))
    if st.has_trailer:
        t_rt = layout.by_role("T")
        t = frames.get(t_rt.name)
        t = _inherit(t_rt, t if t is not None and t.height else one_row(), header)
        if fill_bindings:
            t = _fill(t_rt, t, data)
        parts.append(_lines(layout, t_rt, t, le))
    if st.has_end:
        e_rt = layout.by_role("E")
        e = frames.get(e_rt.name)
        parts.append(_lines(layout, e_rt, e if e is not None and e.height else one_row(), le))
    parts = [p for p in parts if len(p)]
    records = sum(len(p) for p in parts)
    return _lead_in_bytes(layout, lead_in, records) + b"".join(p.reshape(-1) for p in parts)


def _write_ordered(layout, frames, fill_bindings, le, lead_in) -> bytes:
    order_parts, block_parts, role_parts = [], [], []
    for rt in layout.record_types:
        df = frames.get(rt.name)
        if df is None or df.height == 0:
            continue
        df = df.sort("record_no")
        frames[rt.name] = df
    if fill_bindings:
        # assign data rows to groups by record number, then fill each trailer
        d_rt = layout.data_type
        data = frames.get(d_rt.name, pl.DataFrame({"record_no": []}))
        h_rt, t_rt = layout.by_role("H"), layout.by_role("T")
        heads = frames[h_rt.name]["record_no"].to_numpy()
        trails = frames[t_rt.name] if t_rt.name in frames else None
        if trails is not None and trails.height:
            filled = []
            for i, row in enumerate(trails.iter_slices(1)):
                tno = row["record_no"][0]
                h = heads[heads < tno].max() if (heads < tno).any() else -1
                row = _inherit(t_rt, row, frames[h_rt.name].filter(pl.col("record_no") == h))
                grp = data.filter((pl.col("record_no") > h) & (pl.col("record_no") < tno)) if data.height else data
                filled.append(_fill(t_rt, row, grp))
            frames[t_rt.name] = pl.concat(filled, how="diagonal_relaxed")
    for rt in layout.record_types:
        df = frames.get(rt.name)
        if df is None or df.height == 0:
            continue
        order_parts.append(df["record_no"].to_numpy())
        block_parts.append(_lines(layout, rt, df, le))
        role_parts.append(np.full(df.height, ord(rt.role)))
    order = np.concatenate(order_parts)
    blocks = np.concatenate(block_parts)[np.argsort(order, kind="stable")]
    return _lead_in_bytes(layout, lead_in, len(blocks)) + blocks.tobytes()


class FileWriter:
    """Streaming writer for large files, atomic: writes a hidden temporary sibling of `path`
    (``paths.temp_path``) and renames it into place on a clean exit (``paths.commit_file``); on an exception the temporary file is removed and nothing appears.

        with FileWriter(layout, path) as w:
            w.begin_group({"consignor_code": "1234567890", ...})
            for chunk in chunks:
                w.write(chunk)
            w.end_group()          # trailer bindings filled from what was written

    Writing overlaps encoding: a block's lines go to the file in a background thread (the write
    system call releases the GIL; for a large file it costs about as much as encoding) while the
    next block is encoded; blocks are written in order, one at a time, and a failed write is raised
    by the next call. Large blocks are encoded into two buffers used in turn (no fresh pages for
    every block). ``close`` waits for the last write before the fsync and the rename.
    """

    #: blocks of at least this many records are encoded into the reused buffers and written in the
    #: background; smaller ones (headers, trailers) are written the same way but into fresh arrays
    BUFFER_MIN_ROWS = 1_024

    def __init__(self, layout: Layout, path: str | Path, *, line_end: str | None = None, lead_in: dict | None = None):
        self.layout = layout
        self.path = Path(path)
        self.tmp = paths.temp_path(self.path)
        self.le = _line_end(layout, line_end)
        self.lead_in = lead_in
        self.fh = None
        self.records = 0
        self.data_records = 0
        self._acc: dict[str, int] = {}
        self._in_group = False
        self._groups = 0
        self._pool = None  # the background write (concurrent.futures, one worker)
        self._pending = None  # the write in flight
        self._bufs: dict[tuple[str, int], list] = {}  # (record type, line width): [two arrays, next one]

    def __enter__(self) -> "FileWriter":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.tmp, "wb")
        if self.layout.lead_in is not None:
            self.fh.write(b"\0" * self.layout.lead_in.fields[-1].end)  # patched at close
        return self

    def _buffer(self, rt: RecordType, n: int) -> np.ndarray | None:
        """The next of the record type's two line buffers, grown to n rows (None: a fresh array)."""
        if n < self.BUFFER_MIN_ROWS or self.layout.encoding == "ebcdic_kana":
            return None
        width = rt.fields[-1].end + len(self.le)
        slot = self._bufs.setdefault((rt.name, width), [None, None, 0])
        k = slot[2]
        slot[2] = 1 - k
        if slot[k] is None or slot[k].shape[0] < n:
            slot[k] = np.empty((n, width), dtype=np.uint8)
        return slot[k]

    def _wait(self) -> None:
        """Wait for the write in flight (its error, if any, is raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _emit(self, rt: RecordType, df: pl.DataFrame) -> None:
        if df.height == 0:
            return
        # the buffer encoded into was last written two blocks ago: that write is done (waited below)
        lines = _lines(self.layout, rt, df, self.le, self._buffer(rt, df.height))
        self._wait()
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fw-write")
        self._pending = self._pool.submit(self.fh.write, lines.reshape(-1))
        self.records += df.height

    def _stop(self) -> None:
        """Wait for the write in flight and end the background thread (raises a failed write)."""
        try:
            self._wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            self._bufs = {}

    def begin_group(self, header: dict | pl.DataFrame | None = None) -> None:
        if self._in_group:
            raise EncodeError("begin_group called twice without end_group")
        h_rt = self.layout.by_role("H")
        if h_rt is None:
            raise EncodeError(f"layout {self.layout.id} has no header record")
        if self._groups and not self.layout.structure.multi_group:
            raise EncodeError(f"layout {self.layout.id} allows one group only")
        self._header = _as_frame(header) if header is not None else one_row()
        self._emit(h_rt, self._header)
        self._in_group = True
        self._acc = {}

    def write(self, data: pl.DataFrame) -> None:
        if self.layout.structure.has_header and not self._in_group:
            raise EncodeError("write() outside a group: call begin_group first")
        d_rt = self.layout.data_type
        self._emit(d_rt, data)
        self.data_records += data.height
        t_rt = self.layout.by_role("T")
        if t_rt is not None:
            for b in t_rt.bindings:
                if b.kind in ("count", "sum"):
                    self._acc[b.field] = self._acc.get(b.field, 0) + binding_value(b, data)

    def end_group(self, trailer: dict | None = None) -> None:
        if not self._in_group:
            raise EncodeError("end_group without begin_group")
        t_rt = self.layout.by_role("T")
        row = dict(trailer or {})
        for b in t_rt.bindings:
            if b.kind == "constant":
                row[b.field] = b.constant
            elif b.kind in ("count", "sum"):
                row[b.field] = self._acc.get(b.field, 0)
        self._emit(t_rt, _inherit(t_rt, one_row(row), self._header))
        self._in_group = False
        self._groups += 1

    def close(self, end: dict | None = None) -> None:
        if self._in_group:
            raise EncodeError("file closed inside a group: call end_group first")
        e_rt = self.layout.by_role("E")
        if e_rt is not None:
            self._emit(e_rt, one_row(end))
        self._stop()
        if self.layout.lead_in is not None:
            self.fh.seek(0)
            self.fh.write(_lead_in_bytes(self.layout, self.lead_in, self.records))
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        paths.commit_file(self.tmp, self.path)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.close()
            except BaseException:
                if not self.fh.closed:
                    self.fh.close()
                self.tmp.unlink(missing_ok=True)
                raise
        else:
            try:
                self._stop()
            except Exception:  # noqa: BLE001  (the first error is the one raised)
                pass
            self.fh.close()
            self.tmp.unlink(missing_ok=True)
