"""Vectorized field decoders and encoders.

A decoder takes a block of bytes (numpy uint8, one row per record, one column per byte of the
field) and returns a Polars Series plus a per-row fault array (0 = fine, else a reason code).
An encoder takes a Polars Series and returns the block. No per-row Python on the common paths.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pyarrow as pa

from .charsets import Charset, normalize_zengin
from .layout import Field, Layout
from .plan import series

SPACE = 0x20
EBCDIC_SPACE = 0x40

# fault codes -> reason text (Japanese for operators, English after the slash)
FAULTS = {
    1: "数字以外の文字 / non-digit in a numeric field",
    2: "空白不可の項目が空白 / blank where a value is required",
    3: "許可されない値 / value not allowed",
    4: "文字セット外の文字 / character outside the field's character set",
    5: "日付が不正 / impossible date",
    6: "符号が不正 / invalid sign",
    7: "シフトコード不正 / wrong shift sequence",
    8: "制御文字 / control character in a text field",
    9: "全角文字の途中で切れている / broken double-byte character",
    10: "元号コード不正 / unknown era code",
    11: "UTF-8 の文字があります (文字化け) / UTF-8 bytes in a cp932 field (mojibake)",
}

#: fault codes of a character-set violation: the reject names the first offending byte
CHARSET_FAULTS = (4, 8, 9, 11)

#: Unicode ranges Japanese text takes (kana, CJK ideographs, full-width forms): a cp932 field
#: whose bytes are valid UTF-8 decoding to characters in these ranges is UTF-8 text, not cp932
_JAPANESE = ((0x3000, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xFF00, 0xFFEF))


def utf8_text(raw: bytes) -> str | None:
    """The UTF-8 reading of a cp932 field's bytes when it is one (the mojibake rule), else None.

    Rule: the bytes decode as strict UTF-8 (a multi-byte character cut at the field's end is
    allowed), hold at least one multi-byte character, and every non-ASCII character is kana, a
    CJK ideograph or a full-width form. Genuine cp932 text meets this only when every double-byte
    run happens to be aligned 3-byte UTF-8 (a level-2 kanji with lead E3–E9 and a trail 80–BF,
    followed by a character whose lead byte is 80–BF ...): names and addresses in practice never
    do; the corpus and tests/common/test_fixedwidth_malformed.py hold both sides."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end < len(raw) or exc.start < len(raw) - 3 or "unexpected end" not in exc.reason:
            return None
        try:
            text = raw[: exc.start].decode("utf-8")
        except UnicodeDecodeError:
            return None
    wide = [ord(c) for c in text if ord(c) >= 0x80]
    if not wide:
        return None
    return text if all(any(lo <= c <= hi for lo, hi in _JAPANESE) for c in wide) else None


def utf8_rows(block: np.ndarray) -> np.ndarray:
    """Rows of a cp932 block that are UTF-8 text (``utf8_text``). Vectorized prefilter: only rows
    holding a 3-byte UTF-8 pattern (lead E3–EF, two bytes 80–BF) are decoded one by one."""
    n, w = block.shape
    out = np.zeros(n, dtype=bool)
    if w < 3 or n == 0:
        return out
    lead = (block[:, :-2] >= 0xE3) & (block[:, :-2] <= 0xEF)
    cont = (block >= 0x80) & (block <= 0xBF)
    cand = (lead & cont[:, 1:-1] & cont[:, 2:]).any(axis=1)
    for i in np.flatnonzero(cand).tolist():
        out[i] = utf8_text(block[i].tobytes()) is not None
    return out


def first_bad_byte(kind: str, raw: bytes, byte_ok: np.ndarray | None = None, fault: int = 4) -> int | None:
    """0-based position in a text field's bytes of the first byte that breaks its charset."""
    if fault == 11:
        return next((k for k, b in enumerate(raw) if b >= 0x80), None)
    if kind == "sbcs" and byte_ok is not None:
        return next((k for k, b in enumerate(raw) if not byte_ok[b]), None)
    if kind == "jis0208":
        return next((k for k, b in enumerate(raw) if not 0x21 <= b <= 0x7E), None)
    bad = next((k for k, b in enumerate(raw) if b < 0x20 or b == 0x7F), None)
    if bad is not None:
        return bad
    try:
        raw.decode("cp932")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


class EncodeError(ValueError):
    """A value cannot be written into its field (too long, outside the charset, overflow)."""


def _pow10(n: int) -> np.ndarray:
    return (10 ** np.arange(n - 1, -1, -1, dtype=np.int64)).astype(np.int64)


def _null_where_invalid(s: pl.Series, valid: np.ndarray) -> pl.Series:
    return pl.select(pl.when(pl.Series(valid)).then(s).otherwise(None)).to_series().alias(s.name)


def _is_blank(block: np.ndarray, space: int = SPACE) -> np.ndarray:
    return (block == space).all(axis=1)


# ---------------------------------------------------------------------------------------------
# Decoders
# ---------------------------------------------------------------------------------------------

def _digit_check(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = block - np.uint8(48)  # wraps below '0'
    return d, (d <= 9).all(axis=1)


def _fixed_strings(block: np.ndarray, valid: np.ndarray | None) -> pl.Series:
    """Rows of ASCII bytes of equal width -> String series, without Python objects."""
    n, w = block.shape
    data = np.ascontiguousarray(block).reshape(-1)
    offsets = (np.arange(n + 1, dtype=np.int64) * w)
    bitmap = None
    null_count = 0
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int((~valid).sum())
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), bitmap, null_count)
    return series("", arr).cast(pl.String)


def decode_digits(f: Field, block: np.ndarray) -> tuple[pl.Series, np.ndarray]:
    d, ok = _digit_check(block)
    fault = np.where(ok, 0, 1).astype(np.uint8)
    valid = ok
    if f.blank:
        blank = _is_blank(block)
        fault[blank] = 0
        valid = ok & ~blank
    s = _fixed_strings(block, valid if not valid.all() else None)
    if f.values is not None:
        bad = ~s.is_in(list(f.values)).fill_null(True).to_numpy() & valid
        fault[bad & (fault == 0)] = 3
    return s.alias(f.name), fault


def digits_to_int(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d, ok = _digit_check(block)
    w = block.shape[1]
    vals = d.astype(np.int64) @ _pow10(w) if w else np.zeros(len(block), np.int64)
    return vals, ok


def decode_numeric(f: Field, block: np.ndarray) -> tuple[pl.Series, np.ndarray]:
    vals, ok = digits_to_int(block)
    fault = np.where(ok, 0, 1).astype(np.uint8)
    valid = ok
    if f.blank:
        blank = _is_blank(block)
        fault[blank] = 0
        valid = ok & ~blank
    s = pl.Series(f.name, np.where(valid, vals, 0), dtype=pl.Int64)
    if not valid.all():
        s = _null_where_invalid(s, valid)
    return s, fault


# zoned decimal, ASCII overpunch: '{'..'I' = +0..+9, '}'..'R' = -0..-9
_ZONED_ASCII_DIGIT = np.full(256, 255, dtype=np.uint8)
_ZONED_ASCII_SIGN = np.zeros(256, dtype=np.int8)  # 0 invalid, 1 +, -1 -
for _i, _c in enumerate("{ABCDEFGHI"):
    _ZONED_ASCII_DIGIT[ord(_c)] = _i
    _ZONED_ASCII_SIGN[ord(_c)] = 1
for _i, _c in enumerate("}JKLMNOPQR"):
    _ZONED_ASCII_DIGIT[ord(_c)] = _i
    _ZONED_ASCII_SIGN[ord(_c)] = -1
for _i in range(10):
    _ZONED_ASCII_DIGIT[48 + _i] = _i
    _ZONED_ASCII_SIGN[48 + _i] = 1


def decode_zoned(f: Field, block: np.ndarray, ebcdic: bool) -> tuple[pl.Series, np.ndarray]:
    n, w = block.shape
    if ebcdic:
        zone = block >> 4
        low = block & 0x0F
        ok = ((zone[:, :-1] == 0xF) & (low[:, :-1] <= 9)).all(axis=1)
        last_zone = zone[:, -1]
        sign = np.where(last_zone == 0xD, -1, np.where((last_zone == 0xC) | (last_zone == 0xF), 1, 0))
        last_digit = low[:, -1]
        body = low[:, :-1].astype(np.int64)
        bad_sign = (sign == 0) | (last_digit > 9)
    else:
        d, okb = _digit_check(block[:, :-1])
        ok = okb
        last = block[:, -1]
        last_digit = _ZONED_ASCII_DIGIT[last]
        sign = _ZONED_ASCII_SIGN[last].astype(np.int64)
        body = d.astype(np.int64)
        bad_sign = (sign == 0) | (last_digit > 9)
    mag = (body @ _pow10(w - 1) if w > 1 else np.zeros(n, np.int64)) * 10 + np.where(bad_sign, 0, last_digit)
    vals = mag * np.where(sign == 0, 1, sign)
    fault = np.where(~ok, 1, np.where(bad_sign, 6, 0)).astype(np.uint8)
    valid = fault == 0
    if f.blank:
        blank = _is_blank(block, EBCDIC_SPACE if ebcdic else SPACE)
        fault[blank] = 0
        valid = valid & ~blank
    s = pl.Series(f.name, vals, dtype=pl.Int64)
    if not valid.all():
        s = _null_where_invalid(s, valid)
    return s, fault


def decode_packed(f: Field, block: np.ndarray) -> tuple[pl.Series, np.ndarray]:
    n, w = block.shape
    hi = (block >> 4).astype(np.int64)
    lo = (block & 0x0F).astype(np.int64)
    nibbles = np.empty((n, 2 * w), dtype=np.int64)
    nibbles[:, 0::2] = hi
    nibbles[:, 1::2] = lo
    digits = nibbles[:, :-1]
    sign_n = nibbles[:, -1]
    ok = (digits <= 9).all(axis=1)
    sign = np.where(np.isin(sign_n, (0xD, 0xB)), -1, np.where(np.isin(sign_n, (0xC, 0xF, 0xA, 0xE)), 1, 0))
    vals = (np.where(digits <= 9, digits, 0) @ _pow10(2 * w - 1)) * np.where(sign == 0, 1, sign)
    fault = np.where(~ok, 1, np.where(sign == 0, 6, 0)).astype(np.uint8)
    valid = fault == 0
    s = pl.Series(f.name, vals, dtype=pl.Int64)
    if not valid.all():
        s = _null_where_invalid(s, valid)
    return s, fault


_EPOCH = np.datetime64("1970-01-01", "D")


def _ymd_to_date(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized civil date check; returns (datetime64[D], ok)."""
    ok = (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31) & (y >= 1)
    mm = np.where(ok, m, 1)
    dd = np.where(ok, d, 1)
    months = ((y - 1970) * 12 + (mm - 1)).astype("timedelta64[M]") + np.datetime64("1970-01", "M")
    days = months.astype("datetime64[D]") + (dd - 1).astype("timedelta64[D]")
    ok &= days.astype("datetime64[M]") == months
    return days, ok


def decode_date(f: Field, block: np.ndarray, layout: Layout) -> tuple[pl.Series, np.ndarray]:
    n, w = block.shape
    blank = _is_blank(block)
    vals, okd = digits_to_int(block)
    zero = okd & (vals == 0)
    fmt = f.format
    fault = np.zeros(n, dtype=np.uint8)
    if fmt == "mmdd":
        m, d = vals // 100, vals % 100
        _, ok = _ymd_to_date(np.full(n, 2000), m, d)  # a leap year admits 02-29
        ok &= okd
        fault[~ok] = np.where(okd[~ok], 5, 1)
        valid = ok
        if f.blank:
            fault[blank | zero] = 0
            valid = ok & ~(blank | zero)
        s = _fixed_strings(block, valid if not valid.all() else None)
        return s.alias(f.name), fault
    if fmt == "yyyymmdd":
        y, m, d = vals // 10000, vals // 100 % 100, vals % 100
        days, ok = _ymd_to_date(y, m, d)
    elif fmt == "yymmdd":
        yy = vals // 10000
        y = np.where(yy < f.century_pivot, 2000 + yy, 1900 + yy)
        days, ok = _ymd_to_date(y, vals // 100 % 100, vals % 100)
    elif fmt == "wareki":
        codes = block[:, 0]
        rest = vals % 1_000_000
        eras = layout.eras
        base = np.zeros(n, dtype=np.int64)
        start = np.full(n, np.datetime64("9999-12-31"), dtype="datetime64[D]")
        end = np.full(n, np.datetime64("9999-12-31"), dtype="datetime64[D]")
        known = np.zeros(n, dtype=bool)
        for i, (code, _name, st) in enumerate(eras):
            sel = codes == ord(code)
            known |= sel
            base[sel] = st.year - 1
            start[sel] = np.datetime64(st, "D")
            if i + 1 < len(eras):
                end[sel] = np.datetime64(eras[i + 1][2], "D")
        yy = rest // 10000
        days, ok = _ymd_to_date(base + yy, rest // 100 % 100, rest % 100)
        ok &= known & (yy >= 1) & (days >= start) & (days < end)
        fault[okd & ~known] = 10
    else:  # pragma: no cover - layout loader refuses other formats
        raise ValueError(fmt)
    ok &= okd
    fault[(fault == 0) & ~ok] = np.where(okd[(fault == 0) & ~ok], 5, 1)
    valid = ok
    if f.blank:
        fault[blank | zero] = 0
        valid = ok & ~(blank | zero)
    s = pl.Series(f.name, np.where(valid, days, _EPOCH).astype("datetime64[D]"))
    s = s.cast(pl.Date)
    if not valid.all():
        s = _null_where_invalid(s, valid)
    return s.alias(f.name), fault


def _strip_to_null(s: pl.Series, pad: str, name: str) -> pl.Series:
    s = s.str.strip_chars_end(pad)
    return pl.select(pl.when(s.str.len_bytes() > 0).then(s).otherwise(None)).to_series().alias(name)


def _decode_rows(block: np.ndarray, codec: str, fault: np.ndarray, fault_code: int) -> list[str]:
    """Decode each row of a multibyte block: one decode call for all rows joined by newlines
    (0x0A never occurs inside a double-byte character); on an error, row by row, marking the
    undecodable rows with `fault_code`."""
    n, w = block.shape
    buf = np.full((n, w + 1), 0x0A, dtype=np.uint8)
    buf[:, :w] = block
    try:
        return buf.tobytes().decode(codec).split("\n")[:n]
    except UnicodeDecodeError:
        values = []
        for i in range(n):
            try:
                values.append(block[i].tobytes().decode(codec))
            except UnicodeDecodeError:
                values.append("")
                fault[i] = fault[i] or fault_code
        return values


def decode_text(f: Field, block: np.ndarray, cs: Charset) -> tuple[pl.Series, np.ndarray]:
    n, w = block.shape
    fault = np.zeros(n, dtype=np.uint8)
    if cs.kind == "sbcs":
        ok = cs.byte_ok[block].all(axis=1)
        fault[~ok] = 4
        clean = np.where(ok[:, None], block, np.uint8(SPACE)) if not ok.all() else block
        hi = clean >= 0x80
        if not hi.any():
            s = _fixed_strings(clean, None)
        else:
            # single-byte kana: 1 byte in, 3 bytes of UTF-8 out; let the codec expand, then slice
            text = np.ascontiguousarray(clean).tobytes().decode("cp932")
            utf8 = text.encode("utf-8")
            row_len = (1 + 2 * hi.astype(np.int64)).sum(axis=1)
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(row_len, out=offsets[1:])
            arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(utf8))
            s = series("", arr).cast(pl.String)
        s = _strip_to_null(s, cs.pad or f.pad, f.name)
    elif cs.kind == "cp932":
        ctrl = (block < 0x20).any(axis=1) | (block == 0x7F).any(axis=1)
        fault[ctrl] = 8
        clean = np.where(ctrl[:, None], np.uint8(SPACE), block)
        values = _decode_rows(clean, "cp932", fault, 9)
        fault[utf8_rows(clean) & (fault == 0)] = 11
        s = _strip_to_null(pl.Series(f.name, values, dtype=pl.String), f.pad, f.name)
    elif cs.kind == "jis0208":
        pair_ok = ((block >= 0x21) & (block <= 0x7E)).all(axis=1) & (w % 2 == 0)
        fault[~pair_ok] = 4
        clean = np.where(pair_ok[:, None], block, np.uint8(0x21))  # 0x2121 = ideographic space
        euc = clean | np.uint8(0x80)
        values = _decode_rows(euc, "euc_jp", fault, 4)
        s = _strip_to_null(pl.Series(f.name, values, dtype=pl.String), cs.pad or "　", f.name)
    else:  # pragma: no cover
        raise ValueError(cs.kind)
    if not f.blank:
        nulls = s.is_null().to_numpy()
        fault[nulls & (fault == 0)] = 2
    if f.values is not None:
        bad = ~s.is_in(list(f.values)).fill_null(True).to_numpy()
        fault[bad & (fault == 0)] = 3
    return s, fault


def check_filler(block: np.ndarray, space: int) -> np.ndarray:
    return ~_is_blank(block, space)


def check_shift(f: Field, block: np.ndarray) -> np.ndarray:
    want = np.frombuffer(bytes.fromhex(f.value_hex), dtype=np.uint8)
    return np.where((block == want).all(axis=1), 0, 7).astype(np.uint8)


def decode_field(f: Field, block: np.ndarray, layout: Layout, ebcdic_raw: np.ndarray | None) -> tuple[pl.Series, np.ndarray]:
    """Decode one column field. `block` is in cp932-compatible bytes; `ebcdic_raw` is the raw
    block for EBCDIC layouts (zoned and packed read the raw bytes)."""
    t = f.type
    if t == "digits":
        s, fault = decode_digits(f, block)
        if not f.blank:
            fault[_is_blank(block)] = 2
        return s, fault
    if t == "numeric":
        s, fault = decode_numeric(f, block)
        if not f.blank:
            fault[_is_blank(block)] = 2
        return s, fault
    if t == "zoned":
        raw = ebcdic_raw if ebcdic_raw is not None else block
        return decode_zoned(f, raw, ebcdic_raw is not None)
    if t == "packed":
        raw = ebcdic_raw if ebcdic_raw is not None else block
        return decode_packed(f, raw)
    if t == "date":
        s, fault = decode_date(f, block, layout)
        if not f.blank:
            fault[_is_blank(block)] = 2
        return s, fault
    if t == "text":
        return decode_text(f, block, layout.charset_of(f))
    raise ValueError(f"{f.name}: type {t} is not a column")


# ---------------------------------------------------------------------------------------------
# Encoders
# ---------------------------------------------------------------------------------------------

def _rows_error(f: Field, mask: np.ndarray, why: str, s: pl.Series | None = None, secret: bool = False) -> EncodeError:
    rows = np.flatnonzero(mask)
    sample = ""
    if s is not None and not (secret or f.secret):
        sample = f" (value {s[int(rows[0])]!r})"
    return EncodeError(f"field {f.name} {f.label}: {why} in {len(rows)} row(s), first row {int(rows[0]) + 1}{sample}")


def _utf8_buffers(s: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, data) of a String series' UTF-8 bytes, without making Python strings."""
    arr = s.to_arrow().cast(pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    _validity, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return offsets, data


def _block_from_fixed_str(f: Field, s: pl.Series, w: int) -> np.ndarray:
    """Rows of exactly w ASCII characters -> (n, w) block, straight from the Arrow buffer."""
    n = len(s)
    if n == 0:
        return np.zeros((0, w), dtype=np.uint8)
    offsets, data = _utf8_buffers(s)
    return data[offsets[0]: offsets[0] + n * w].reshape(n, w).copy()


def encode_digits(f: Field, s: pl.Series) -> np.ndarray:
    w = f.length
    s = s.cast(pl.String)
    nulls = s.is_null().to_numpy()
    if nulls.any() and not f.blank:
        raise _rows_error(f, nulls, "blank not allowed")
    filled = s.fill_null("0" * w).str.zfill(w)
    lens = filled.str.len_bytes().to_numpy()
    if (lens != w).any():
        raise _rows_error(f, lens != w, f"longer than {w} digits", s)
    block = _block_from_fixed_str(f, filled, w)
    nondigit = ((block - np.uint8(48)) > 9).any(axis=1)
    if nondigit.any():
        raise _rows_error(f, nondigit, "not digits", s)
    if f.values is not None:
        bad = ~filled.is_in(list(f.values)).fill_null(True).to_numpy() & ~nulls
        if bad.any():
            raise _rows_error(f, bad, f"value not in {list(f.values)}", s)
    block[nulls] = SPACE
    return block


def _int_block(vals: np.ndarray, w: int) -> np.ndarray:
    out = np.empty((len(vals), w), dtype=np.uint8)
    v = vals.copy()
    for k in range(w - 1, -1, -1):
        out[:, k] = 48 + (v % 10)
        v //= 10
    return out


def encode_numeric(f: Field, s: pl.Series) -> np.ndarray:
    w = f.length
    nulls = s.is_null().to_numpy()
    if nulls.any() and not f.blank:
        raise _rows_error(f, nulls, "blank not allowed")
    vals = s.cast(pl.Int64).fill_null(0).to_numpy()
    bad = (vals < 0) | (vals >= 10 ** w)
    if bad.any():
        raise _rows_error(f, bad, f"does not fit {w} unsigned digits", s)
    out = _int_block(vals, w)
    out[nulls] = SPACE
    return out


_OVERPUNCH_POS = np.frombuffer(b"{ABCDEFGHI", dtype=np.uint8)
_OVERPUNCH_NEG = np.frombuffer(b"}JKLMNOPQR", dtype=np.uint8)


def encode_zoned(f: Field, s: pl.Series, ebcdic: bool) -> np.ndarray:
    w = f.length
    nulls = s.is_null().to_numpy()
    if nulls.any() and not f.blank:
        raise _rows_error(f, nulls, "blank not allowed")
    vals = s.cast(pl.Int64).fill_null(0).to_numpy()
    mag = np.abs(vals)
    if (mag >= 10 ** w).any():
        raise _rows_error(f, mag >= 10 ** w, f"does not fit {w} digits", s)
    out = _int_block(mag, w)
    last = (mag % 10).astype(np.uint8)
    neg = vals < 0
    if ebcdic:
        out = out - np.uint8(48) + np.uint8(0xF0)
        out[:, -1] = np.where(neg, 0xD0, 0xC0 if f.positive == "overpunch" else 0xF0) + last
        out[nulls] = EBCDIC_SPACE
    else:
        pos_last = _OVERPUNCH_POS[last] if f.positive == "overpunch" else 48 + last
        out[:, -1] = np.where(neg, _OVERPUNCH_NEG[last], pos_last)
        out[nulls] = SPACE
    return out


def encode_packed(f: Field, s: pl.Series) -> np.ndarray:
    w = f.length
    nd = 2 * w - 1
    nulls = s.is_null().to_numpy()
    if nulls.any():
        raise _rows_error(f, nulls, "packed fields cannot be blank")
    vals = s.cast(pl.Int64).to_numpy()
    mag = np.abs(vals)
    if (mag >= 10 ** nd).any():
        raise _rows_error(f, mag >= 10 ** nd, f"does not fit {nd} packed digits", s)
    digits = _int_block(mag, nd) - np.uint8(48)
    sign = np.where(vals < 0, 0xD, 0xF if f.unsigned else 0xC).astype(np.uint8)
    nib = np.concatenate([digits, sign[:, None]], axis=1)
    return (nib[:, 0::2] << 4) | nib[:, 1::2]


def encode_date(f: Field, s: pl.Series, layout: Layout) -> np.ndarray:
    w = f.length
    nulls = s.is_null().to_numpy()
    if nulls.any() and not f.blank:
        raise _rows_error(f, nulls, "blank not allowed")
    if f.format == "mmdd":
        return encode_digits(f, s.cast(pl.String))
    d = s.cast(pl.Date)
    if f.format == "yyyymmdd":
        txt = d.dt.strftime("%Y%m%d")
    elif f.format == "yymmdd":
        years = d.dt.year().to_numpy()
        lo, hi = (2000 - (100 - f.century_pivot)), 2000 + f.century_pivot
        bad = ~nulls & ((years < lo) | (years >= hi))
        if bad.any():
            raise _rows_error(f, bad, f"year outside the 2-digit window {lo}–{hi - 1}", s)
        txt = d.dt.strftime("%y%m%d")
    else:  # wareki
        days = d.fill_null(dt.date(2000, 1, 1)).to_numpy().astype("datetime64[D]")
        code = np.zeros(len(s), dtype=np.int64)
        year = d.dt.year().fill_null(2000).to_numpy().astype(np.int64)
        eyear = np.zeros(len(s), dtype=np.int64)
        found = np.zeros(len(s), dtype=bool)
        for c, _name, st in layout.eras:
            sel = days >= np.datetime64(st, "D")
            code[sel] = int(c)
            eyear[sel] = year[sel] - st.year + 1
            found |= sel
        if (~found & ~nulls).any():
            raise _rows_error(f, ~found & ~nulls, "date before the first era", s)
        if (eyear > 99).any():
            raise _rows_error(f, eyear > 99, "era year above 99", s)
        txt = pl.Series(code * 1_000_000 + eyear * 10_000 + d.dt.month().fill_null(1).to_numpy() * 100
                        + d.dt.day().fill_null(1).to_numpy()).cast(pl.String).str.zfill(7)
    txt = pl.select(pl.when(pl.Series(nulls)).then(pl.lit(" " * w)).otherwise(txt)).to_series()
    return _block_from_fixed_str(f, txt, w)


def encode_text(f: Field, s: pl.Series, cs: Charset) -> np.ndarray:
    n, w = len(s), f.length
    s = s.cast(pl.String)
    nulls = s.is_null().to_numpy()
    if nulls.any() and not f.blank:
        raise _rows_error(f, nulls, "blank not allowed")
    values = s.fill_null("")
    if f.normalize == "zengin":
        uniq = values.unique()
        values = values.replace_strict(uniq, [normalize_zengin(v) for v in uniq.to_list()], return_dtype=pl.String) if n else values
    if f.values is not None:
        bad = ~values.is_in(list(f.values)).fill_null(True).to_numpy() & ~nulls
        if bad.any():
            raise _rows_error(f, bad, f"value not in {list(f.values)}", s)
    if cs.kind == "sbcs":
        chars_ok = values.str.contains(r"^[" + _class(cs.chars) + r"]*$").to_numpy()
        if not chars_ok.all():
            row = int(np.flatnonzero(~chars_ok)[0])
            bad_chars = sorted({c for c in values[row] if c not in cs.chars})
            raise _rows_error(f, ~chars_ok, f"characters {bad_chars} outside charset {cs.name}", values)
        lens = values.str.len_chars().to_numpy()
        if (lens > w).any():
            raise _rows_error(f, lens > w, f"longer than {w} characters", values)
        padded = values.str.pad_end(w, cs.pad or " ")
        if n == 0:
            return np.zeros((0, w), dtype=np.uint8)
        offsets, data = _utf8_buffers(padded)
        data = data[offsets[0]: offsets[-1]]
        return _utf8_kana_to_cp932(data).reshape(n, w)
    return _encode_multibyte(f, values, cs, n, w)


def _encode_multibyte(f: Field, values: pl.Series, cs: Charset, n: int, w: int) -> np.ndarray:
    """cp932 or JIS X 0208 text: one encode call for the whole column, rows split at the
    newline separators (0x0A never occurs inside a double-byte character of either code),
    then scattered left-justified into a pad-filled block."""
    out_pad = (cs.pad if cs.kind == "jis0208" else f.pad).encode("cp932" if cs.kind == "cp932" else "euc_jp")
    if cs.kind == "jis0208":
        out_pad = bytes(b & 0x7F for b in out_pad)
    if n == 0:
        return np.zeros((0, w), dtype=np.uint8)
    ctrl = values.str.contains(r"[\x00-\x1f\x7f]").to_numpy()
    if ctrl.any():
        raise _rows_error(f, ctrl, "control character", values)
    codec = "cp932" if cs.kind == "cp932" else "euc_jp"
    text = values.str.join("\n").item()  # one Python string for the whole column
    try:
        buf = np.frombuffer(text.encode(codec), dtype=np.uint8)
    except UnicodeEncodeError:
        for i, v in enumerate(values.to_list()):
            try:
                v.encode(codec)
            except UnicodeEncodeError as ex:
                what = "cp932" if cs.kind == "cp932" else "JIS X 0208"
                raise EncodeError(f"field {f.name} {f.label}: character {v[ex.start]!r} (U+{ord(v[ex.start]):04X}) "
                                  f"at row {i + 1} cannot be written in {what}") from None
        raise
    nl = np.flatnonzero(buf == 0x0A)
    starts = np.concatenate([[0], nl + 1])
    ends = np.concatenate([nl, [len(buf)]])
    lens = ends - starts
    if (lens > w).any():
        raise _rows_error(f, lens > w, f"longer than {w} bytes", values)
    keep = buf != 0x0A
    body = buf[keep]
    if cs.kind == "jis0208":
        bad_rows = np.zeros(n, dtype=bool)
        row_of_byte = np.repeat(np.arange(n), lens)
        bad_rows[row_of_byte[body < 0xA1]] = True
        if bad_rows.any():
            raise _rows_error(f, bad_rows, "character outside JIS X 0208 (half-width kana or JIS X 0212)", values)
        body = body & np.uint8(0x7F)
    rows = np.repeat(np.arange(n), lens)
    cols = np.arange(len(body)) - np.repeat(np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    if len(out_pad) == 1 or (lens % 2 == 0).all() and w % 2 == 0:
        # the pad pattern, tiled from byte 0, stays on character boundaries after any even-length value
        pattern = np.frombuffer(out_pad, dtype=np.uint8)
        out = np.tile(pattern, (n, w // len(pattern) + 1))[:, :w].copy()
    else:  # a double-byte pad after an odd-length value: pad characters, then a space for the odd byte
        out = np.empty((n, w), dtype=np.uint8)
        for i, ln in enumerate(lens.tolist()):
            k = (w - ln) // len(out_pad)
            out[i, ln:] = np.frombuffer(out_pad * k + b" " * (w - ln - k * len(out_pad)), dtype=np.uint8)
    out[rows, cols] = body
    return out


def _utf8_kana_to_cp932(data: np.ndarray) -> np.ndarray:
    """UTF-8 of ASCII and half-width katakana (U+FF61–U+FF9F, EF BD A1–EF BE 9F) -> the cp932
    single bytes (A1–DF). The caller has checked the characters against an sbcs charset."""
    lead = np.flatnonzero(data == 0xEF)
    if len(lead) == 0:
        return data.copy()
    out = data.copy()
    third = data[lead + 2]
    out[lead] = np.where(data[lead + 1] == 0xBD, third, third + np.uint8(0x40))
    keep = np.ones(len(data), dtype=bool)
    keep[lead + 1] = False
    keep[lead + 2] = False
    return out[keep]


def _class(chars: frozenset[str]) -> str:
    import re

    return "".join(re.escape(c) for c in sorted(chars))


def encode_field(f: Field, s: pl.Series | None, n: int, layout: Layout, ebcdic: bool) -> np.ndarray:
    """Encode one field into an (n, length) block of cp932-compatible bytes (raw EBCDIC for
    zoned/packed when the layout is EBCDIC)."""
    w = f.length
    if f.type == "filler":
        return np.full((n, w), SPACE, dtype=np.uint8)
    if f.type == "shift":
        return np.tile(np.frombuffer(bytes.fromhex(f.value_hex), dtype=np.uint8), (n, 1))
    if s is None:
        if f.values is not None and len(f.values) == 1:
            s = pl.Series(f.name, [f.values[0]] * n, dtype=pl.String)
        elif f.blank or (f.type == "text" and f.blank):
            s = pl.Series(f.name, [None] * n, dtype=pl.String if f.type in ("text", "digits") else pl.Int64)
        else:
            raise EncodeError(f"field {f.name} {f.label}: no value given and no default")
    if f.type == "digits":
        return encode_digits(f, s)
    if f.type == "numeric":
        return encode_numeric(f, s)
    if f.type == "zoned":
        return encode_zoned(f, s, ebcdic)
    if f.type == "packed":
        return encode_packed(f, s)
    if f.type == "date":
        return encode_date(f, s, layout)
    if f.type == "text":
        return encode_text(f, s, layout.charset_of(f))
    raise ValueError(f.type)
