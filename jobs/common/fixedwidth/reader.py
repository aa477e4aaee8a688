"""Fixed-width reader: bytes -> typed Polars frames per record type, rejects, control totals.

Everything is vectorized over a numpy (records x bytes) view of the file: framing, record type
discrimination, structure (header/data/trailer/end order), field validation and decoding, and
the trailer bindings (counts and sums per group). Slicing is by bytes, never by characters.
"""

from __future__ import annotations

import functools
import mmap
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from .fields import (
    CHARSET_FAULTS,
    EBCDIC_SPACE,
    FAULTS,
    SPACE,
    check_filler,
    check_shift,
    decode_field,
    first_bad_byte,
)
from .layout import Layout, RecordType

BOM_UTF8 = b"\xef\xbb\xbf"


class FileRefused(Exception):
    """The whole file is refused: a structural fault. Nothing from it may be used."""

    def __init__(self, source: str, reason: str, record_no: int | None = None, field: str | None = None,
                 label: str | None = None, byte_offset: int | None = None):
        self.source, self.reason, self.record_no, self.field = source, reason, record_no, field
        self.label, self.byte_offset = label, byte_offset
        where = [f"ファイル {source}"]
        if record_no is not None:
            where.append(f"レコード {record_no}")
        if byte_offset is not None:
            where.append(f"バイト位置 {byte_offset}")
        if field is not None:
            where.append(f"項目 {label or ''}({field})")
        super().__init__(" / ".join(where) + f": {reason}")


REJECT_SCHEMA = {
    "record_no": pl.Int64, "byte_offset": pl.Int64, "record_type": pl.String, "field": pl.String,
    "label": pl.String, "reason": pl.String, "raw": pl.Binary,
}


@dataclass
class ReadResult:
    layout_id: str
    source: str
    frames: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    totals: dict
    warnings: list[str] = field(default_factory=list)
    line_end: str = "none"
    lead_in: dict | None = None
    lead_in_length: int = 0  # bytes before the first record
    stride: int = 0  # bytes per record, line end included

    def byte_offset(self, record_no: int) -> int:
        """Byte offset in the file of a record (1-based record number, as in `record_no`)."""
        return self.lead_in_length + (record_no - 1) * self.stride

    @property
    def data(self) -> pl.DataFrame:
        return self.frames["data"] if "data" in self.frames else next(iter(self.frames.values()))


@functools.lru_cache(maxsize=4)
def ebcdic_to_cp932_lut() -> np.ndarray:
    """EBCDIC Japanese katakana (CCSID 290) byte -> cp932 single byte; unmappable -> 0x00 (rejected)."""
    import ebcdic  # noqa: F401  (registers the cp290 codec)

    lut = np.zeros(256, dtype=np.uint8)
    for b in range(256):
        try:
            e = bytes([b]).decode("cp290").encode("cp932")
        except (UnicodeDecodeError, UnicodeEncodeError):
            continue
        if len(e) == 1:
            lut[b] = e[0]
    return lut


def _map_file(p: Path) -> np.ndarray:
    """The file's bytes, read-only: mapped (MAP_POPULATE: no copy, no page faults later) where the
    platform allows, else read. Inbox files are landed whole and renamed, never rewritten in place."""
    with open(p, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size and hasattr(mmap, "MAP_POPULATE"):
            try:
                mm = mmap.mmap(fh.fileno(), size, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE, prot=mmap.PROT_READ)
                return np.frombuffer(mm, dtype=np.uint8)
            except OSError:
                pass
        return np.fromfile(fh, dtype=np.uint8)


def _load(data: bytes | bytearray | memoryview | str | Path) -> tuple[np.ndarray, str | None]:
    if isinstance(data, (str, Path)):
        p = Path(data)
        return _map_file(p), p.name
    return np.frombuffer(data, dtype=np.uint8), None


def _first_line_break(buf: np.ndarray, limit: int) -> int | None:
    head = buf[:limit]
    hits = np.flatnonzero((head == 0x0A) | (head == 0x0D))
    return int(hits[0]) if len(hits) else None


def _frame(layout: Layout, buf: np.ndarray, source: str, base: int) -> tuple[np.ndarray, str, int]:
    """Split the record area into a (n, record_length) view; returns (records, line_end, stride)."""
    L = layout.record_length
    size = len(buf)
    if size == 0:
        raise FileRefused(source, "レコードがありません / no records after the lead-in" if base else "空ファイル / empty file")
    crlf_here = size >= L + 2 and buf[L] == 0x0D and buf[L + 1] == 0x0A
    mode = layout.line_end
    if mode == "either":
        mode = "crlf" if crlf_here else "none"
    if mode == "crlf":
        stride = L + 2
        if not crlf_here:
            brk = _first_line_break(buf, L + 2)
            if brk is not None and brk != L:
                raise FileRefused(source, f"レコード長が不正: 改行までが {brk} バイト (規定 {L}) / wrong record length: {brk} bytes before the line end, {L} expected", 1, byte_offset=base)
            if size >= L + 1 and buf[L] == 0x0A:
                raise FileRefused(source, "改行コードが LF のみ (CRLF が必要) / LF-only line end where CRLF is required", 1, byte_offset=base + L)
            if size >= L + 1 and buf[L] == 0x0D:
                raise FileRefused(source, "改行コードが CR のみ (CRLF が必要) / CR-only line end where CRLF is required", 1, byte_offset=base + L)
            if size < L:
                raise FileRefused(source, f"最終レコードが途中で切れている: {size} バイト (規定 {L}) / truncated last record", 1, byte_offset=base)
            raise FileRefused(source, "改行コード (CRLF) がありません / CRLF line end missing", 1, byte_offset=base + L)
        n_full = size // stride
        body = buf[: n_full * stride].reshape(n_full, stride)
        ends_ok = (body[:, L] == 0x0D) & (body[:, L + 1] == 0x0A)
        if not ends_ok.all():
            i = int(np.flatnonzero(~ends_ok)[0])
            rec = buf[i * stride:]
            brk = _first_line_break(rec, stride + 1)
            if brk is not None and brk != L:
                why = f"レコード長が不正: 改行までが {brk} バイト (規定 {L}) / wrong record length: {brk} bytes, {L} expected"
            elif rec[L] == 0x0A:
                why = "改行コードが LF のみ / LF-only line end"
            elif rec[L] == 0x0D:
                why = "改行コードが CR のみ / CR-only line end"
            else:
                why = "改行コード (CRLF) の位置が不正 / CRLF missing at the end of the record"
            raise FileRefused(source, why, i + 1, byte_offset=base + i * stride)
        rest = size - n_full * stride
        if rest:
            raise FileRefused(source, f"最終レコードが途中で切れている: {rest} バイト (規定 {L}+CRLF) / truncated last record", n_full + 1, byte_offset=base + n_full * stride)
        return body[:, :L], "crlf", stride
    # no line ends
    brk = _first_line_break(buf, min(size, 4 * L + 8))
    if layout.line_end == "either" and brk is not None and brk != L and brk < size - 1:
        if brk + 1 < size and buf[brk] == 0x0D and buf[brk + 1] == 0x0A:
            raise FileRefused(source, f"レコード長が不正: 改行までが {brk} バイト (規定 {L}) / wrong record length: {brk} bytes, {L} expected", 1, byte_offset=base)
        kind = "LF" if buf[brk] == 0x0A else "CR"
        raise FileRefused(source, f"改行コードが {kind} のみ (CRLF か改行なしが必要) / {kind}-only line end; CRLF or none required", 1, byte_offset=base + brk)
    if layout.line_end == "either" and size >= L + 1 and buf[L] in (0x0A, 0x0D):
        kind = "LF" if buf[L] == 0x0A else "CR"
        raise FileRefused(source, f"改行コードが {kind} のみ (CRLF か改行なしが必要) / {kind}-only line end; CRLF or none required", 1, byte_offset=base + L)
    if size % L:
        n_full = size // L
        raise FileRefused(source, f"最終レコードが途中で切れている: {size % L} バイト (規定 {L}) / truncated last record (file size {size} is not a multiple of {L})", n_full + 1, byte_offset=base + n_full * L)
    return buf.reshape(size // L, L), "none", L


def _classify(layout: Layout, recs: np.ndarray, text: np.ndarray) -> np.ndarray:
    """Record type index per record (-1 = unknown code)."""
    n = len(recs)
    if layout.discriminator is None:
        return np.zeros(n, dtype=np.int8)
    off, ln = layout.discriminator
    idx = np.full(n, -1, dtype=np.int8)
    if ln == 1:
        lut = np.full(256, -1, dtype=np.int8)
        for i, rt in enumerate(layout.record_types):
            lut[rt.code.encode("cp932")[0]] = i
        return lut[text[:, off]]
    key = text[:, off:off + ln]
    for i, rt in enumerate(layout.record_types):
        want = np.frombuffer(rt.code.encode("cp932"), dtype=np.uint8)
        idx[(key == want).all(axis=1)] = i
    return idx


def _check_structure(layout: Layout, roles: np.ndarray, source: str, base: int, stride: int) -> list[tuple[int, int, int]]:
    """Validate H D* T (E) order; return groups as (header_idx, trailer_idx, end_idx_or_-1).

    Works on runs of equal roles, so a million data records cost one run."""
    st = layout.structure
    n = len(roles)
    change = np.flatnonzero(np.diff(roles)) + 1
    starts = np.concatenate([[0], change])
    run_roles = roles[starts]
    run_lens = np.diff(np.concatenate([starts, [n]]))
    names = {ord("H"): "ヘッダー", ord("D"): "データ", ord("T"): "トレーラ", ord("E"): "エンド"}

    def refuse(i: int, why: str):
        raise FileRefused(source, why, i + 1, byte_offset=base + i * stride)

    if not st.has_header:
        for s, r in zip(starts, run_roles):
            if r == ord("E") and st.has_end and s == n - 1:
                continue
            if r != ord("D"):
                refuse(int(s), f"{names.get(int(r), '?')}レコードは置けません / unexpected record type")
        if st.has_end and (n == 0 or roles[-1] != ord("E")):
            refuse(n - 1, "エンド・レコードがありません / end record missing")
        return []
    groups: list[tuple[int, int, int]] = []
    state = "start"  # start | in_group | after_trailer | after_end
    header_at = -1
    for s, r, ln in zip(starts.tolist(), run_roles.tolist(), run_lens.tolist()):
        r = chr(r)
        if state == "after_end":
            refuse(s, "エンド・レコードの後にレコードがあります / record after the end record")
        if r == "H":
            if ln > 1:
                refuse(s + 1, "ヘッダー・レコードが重複しています / duplicate header record")
            if state == "in_group":
                refuse(s, "トレーラ・レコードがないまま次のヘッダーが現れました (ヘッダー重複) / duplicate header: the previous group has no trailer")
            if state == "after_trailer" and not st.multi_group:
                refuse(s, "ヘッダー・レコードが重複しています (単一ファイル形式) / second header in a single-group file")
            state, header_at = "in_group", s
        elif r == "D":
            if state == "start":
                refuse(s, "ヘッダー・レコードがありません (先頭がデータ) / header record missing: the file starts with a data record")
            if state == "after_trailer":
                refuse(s, "トレーラ・レコードの後にデータ・レコードがあります / data record after the trailer")
        elif r == "T":
            if state == "start":
                refuse(s, "ヘッダー・レコードがありません / header record missing before the trailer")
            if state == "after_trailer" or ln > 1:
                refuse(s + (1 if ln > 1 else 0), "トレーラ・レコードが重複しています / duplicate trailer record")
            groups.append((header_at, s, -1))
            state = "after_trailer"
        elif r == "E":
            if not st.has_end:
                refuse(s, "この形式にエンド・レコードはありません / end record not allowed in this layout")
            if state != "after_trailer":
                refuse(s, "トレーラ・レコードがないままエンド・レコードが現れました / trailer record missing before the end record")
            if ln > 1:
                refuse(s + 1, "エンド・レコードが重複しています / duplicate end record")
            state = "after_end"
    if state == "start":
        refuse(0, "ヘッダー・レコードがありません / header record missing")
    if state == "in_group":
        refuse(n - 1, "トレーラ・レコードがありません / trailer record missing at the end of the file")
    if st.has_end and state != "after_end":
        refuse(n - 1, "エンド・レコードがありません / end record missing")
    return groups


def _plan(layout: Layout, rt_name: str):
    from .plan import Plan

    if rt_name not in layout.plans:
        layout.plans[rt_name] = Plan(layout, layout.record_type(rt_name), layout.encoding == "ebcdic_kana")
    return layout.plans[rt_name]


def _decode_type(layout: Layout, rt: RecordType, text: np.ndarray, raw: np.ndarray | None,
                 keep_secrets: bool, reference: bool = False, rows: np.ndarray | None = None,
                 skip: frozenset[str] = frozenset()) -> tuple[dict[str, pl.Series], np.ndarray, np.ndarray, int]:
    """Decode every field of `text` rows (of `text[rows]` when `rows` is given: the native scan
    reads those in place, the other paths take the gathered copy); returns columns, first-fault
    field index, fault code, count of records with a non-blank filler. The compiled kernel handles
    the common types in one pass; `reference=True` forces the numpy decoders of fields.py for
    every field. The text fields named in `skip` are checked as the others but their strings are not
    built where the check does not need them, and they are left out of the columns."""
    if reference:
        cols, ffield, fault, fw = _decode_reference(layout, rt, text if rows is None else text[rows], raw,
                                                    keep_secrets, range(len(rt.fields)))
        return {k: v for k, v in cols.items() if k not in skip}, ffield, fault, fw
    from . import native
    from .plan import int_column

    plan = _plan(layout, rt.name)
    n = len(text) if rows is None else len(rows)
    sc = native.scan(plan, text, rows) if native.lib() is not None and native.fits(plan, n) else None
    if rows is not None and (sc is None or plan.rest):
        text = text[rows]  # the numba kernel and the reference decoders take the records gathered
    if sc is not None:  # the ahead-of-time compiled scan (native.py)
        ints, valid, fault, ffield, filler_bad = sc.ints, sc.valid.view(np.bool_), sc.fault, sc.ffield, sc.filler_bad
    else:  # the numba kernel (no C compiler, or KOKUHO_FW_NATIVE=0)
        from .kernel import digits_column, string_column

        ints, valid, tlen, fault, ffield, filler_bad, dig_out, dig_base = plan.run(text)
    cols: dict[str, pl.Series] = {}
    for jj, j in enumerate(plan.index.tolist()):
        f = rt.fields[j]
        if f.type in ("filler", "shift") or (f.secret and not keep_secrets):
            continue
        v = valid[jj]
        if sc is not None and f.type == "digits":
            s = native.digits_column(sc, jj, f.length, f.name)
        elif sc is not None and f.type == "text":
            if f.name in skip and (f.values is None or j in plan.checked_values):
                continue  # checked by the scan; the strings are not wanted
            s = native.text_column(sc, plan, jj, f.name)
        elif f.type == "digits":
            base = int(dig_base[jj])
            s = digits_column(dig_out[base:base + n * f.length], n, f.length, v).alias(f.name)
        elif f.type == "numeric":
            s = int_column(f.name, ints[plan.slot[jj]], v)
        elif f.type == "date":
            s = int_column(f.name, ints[plan.slot[jj]], v, pl.Date)
        else:
            s = string_column(text, f.offset, f.length, int(plan.pad[jj]), tlen[plan.slot[jj]], v).alias(f.name)
        if f.values is not None and j not in plan.checked_values:
            bad = ~s.is_in(list(f.values)).fill_null(True).to_numpy() & (fault == 0)
            fault[bad] = 3
            ffield[bad] = j
        cols[f.name] = s
    if plan.rest:
        rcols, rfield, rfault, _ = _decode_reference(layout, rt, text, raw, keep_secrets, plan.rest,
                                                     native_text=sc is not None, skip=skip)
        cols.update(rcols)
        take = (rfault != 0) & ((fault == 0) | (rfield < ffield))
        fault[take] = rfault[take]
        ffield[take] = rfield[take]
    cols = {f.name: cols[f.name] for f in rt.fields if f.name in cols and f.name not in skip}
    return cols, ffield, fault, int(filler_bad.sum())


def _decode_reference(layout: Layout, rt: RecordType, text: np.ndarray, raw: np.ndarray | None,
                      keep_secrets: bool, which, native_text: bool = False, skip: frozenset[str] = frozenset()
                      ) -> tuple[dict[str, pl.Series], np.ndarray, np.ndarray, int]:
    """The numpy decoders of fields.py for fields `which`; with `native_text`, the cp932 text fields and
    ASCII zoned fields the compiled scan takes (native.cp932_fits, native.zoned_fits) are decoded by it
    instead (same values and faults; the strings of the fields in `skip` are then not built)."""
    if native_text:
        from . import native
    n = len(text)
    cols: dict[str, pl.Series] = {}
    first_field = np.full(n, -1, dtype=np.int16)
    first_fault = np.zeros(n, dtype=np.uint8)
    filler_warn = np.zeros(n, dtype=bool)
    space = EBCDIC_SPACE if raw is not None else SPACE
    for j in which:
        f = rt.fields[j]
        sl = slice(f.offset, f.offset + f.length)
        if f.type == "filler":
            filler_warn |= check_filler((raw if raw is not None else text)[:, sl], space)
            continue
        if f.type == "shift":
            fault = check_shift(f, (raw if raw is not None else text)[:, sl])
        elif native_text and f.type == "text" and layout.charset_of(f).kind == "cp932" and native.cp932_fits(f, n):
            s, fault = native.cp932_column(f, text, fill=f.name not in skip)
            if s is not None and (not f.secret or keep_secrets):
                cols[f.name] = s
        elif native_text and raw is None and native.zoned_fits(f):
            s, fault = native.zoned_column(f, text)
            if not f.secret or keep_secrets:
                cols[f.name] = s
        else:
            s, fault = decode_field(f, text[:, sl], layout, raw[:, sl] if raw is not None else None)
            if not f.secret or keep_secrets:
                cols[f.name] = s
        new = (fault != 0) & (first_fault == 0)
        first_field[new] = j
        first_fault[new] = fault[new]
    return cols, first_field, first_fault, int(filler_warn.sum())


def mask_secrets(rt: RecordType | None, raw: bytes) -> bytes:
    """The record's bytes with every secret field (個人番号) replaced by '*'."""
    if rt is None:
        return raw
    b = bytearray(raw)
    for f in rt.fields:
        if f.secret:
            b[f.offset:f.offset + f.length] = b"*" * f.length
    return bytes(b)


def read(layout: Layout, data: bytes | str | Path, *, source: str | None = None, keep_secrets: bool = False,
         reference: bool = False, columns: Collection[str] | None = None) -> ReadResult:
    """Read a whole file. Raises FileRefused on a structural fault; bad records are rejected
    alone (or refuse the file when the layout's on_bad_record is `refuse`).

    ``columns``: the fields of the data records the caller uses. Every field is still checked
    (the same rejects, totals and warnings), but the text fields not named (nor used by a trailer
    binding) are left out of the data frame, and their strings are not built."""
    buf, fname = _load(data)
    source = source or fname or layout.id
    if len(buf) >= 3 and bytes(buf[:3]) == BOM_UTF8:
        raise FileRefused(source, "先頭に BOM (EF BB BF) があります: UTF-8 のファイルは受け付けません / UTF-8 byte order mark at the start of the file", 1, byte_offset=0)
    if len(buf) == 0:
        raise FileRefused(source, "空ファイル / empty file")
    ebcdic = layout.encoding == "ebcdic_kana"
    lut = ebcdic_to_cp932_lut() if ebcdic else None
    warnings: list[str] = []
    base = 0
    lead_in_values = None
    if layout.lead_in is not None:
        ll = layout.lead_in.fields[-1].end
        if len(buf) < ll:
            raise FileRefused(source, f"先頭の管理レコード ({ll} バイト) が途中で切れています / truncated lead-in", 0, byte_offset=0)
        li_raw = buf[:ll].reshape(1, ll)
        li_text = lut[li_raw] if ebcdic else li_raw
        cols, ff, fc, _ = _decode_type(layout, layout.lead_in, li_text, li_raw if ebcdic else None, False)
        if fc[0]:
            f = layout.lead_in.fields[ff[0]]
            raise FileRefused(source, f"管理レコード: {FAULTS[int(fc[0])]}", 0, f.name, f.label, f.offset)
        lead_in_values = {k: v[0] for k, v in cols.items()}
        base = ll
        buf = buf[ll:]
    recs, line_end, stride = _frame(layout, buf, source, base)
    n = len(recs)
    text = lut[recs] if ebcdic else recs
    type_idx = _classify(layout, recs, text)
    roles_by_type = np.array([ord(rt.role) for rt in layout.record_types] + [ord("D")], dtype=np.uint8)
    roles = roles_by_type[type_idx]  # unknown (-1) counts as data for the structure
    unknown = type_idx < 0
    if unknown.any() and layout.on_bad_record == "refuse":
        i = int(np.flatnonzero(unknown)[0])
        raise FileRefused(source, "レコード区分が不正 / unknown record type code", i + 1, byte_offset=base + i * stride)
    groups = _check_structure(layout, roles, source, base, stride)

    skip = _skipped_text(layout, columns)
    frames: dict[str, pl.DataFrame] = {}
    reject_info: list[tuple[np.ndarray, np.ndarray, RecordType]] = []
    ok_all = np.ones(n, dtype=bool)
    ok_all[unknown] = False
    decoded: dict[str, tuple[np.ndarray, dict[str, pl.Series], np.ndarray]] = {}
    filler_warn = 0
    for ti, rt in enumerate(layout.record_types):
        rows = np.flatnonzero(type_idx == ti)
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
            sl = slice(int(rows[0]), int(rows[-1]) + 1)
            t_block, r_block = text[sl], (recs[sl] if ebcdic else None)
            cols, ffield, ffault, fw = _decode_type(layout, rt, t_block, r_block, keep_secrets, reference,
                                                    skip=skip.get(rt.name, frozenset()))
        elif ebcdic:
            cols, ffield, ffault, fw = _decode_type(layout, rt, text[rows], recs[rows], keep_secrets, reference,
                                                    skip=skip.get(rt.name, frozenset()))
        else:  # not contiguous (a file of several groups): picked out in place, not copied
            cols, ffield, ffault, fw = _decode_type(layout, rt, text, None, keep_secrets, reference, rows,
                                                    skip=skip.get(rt.name, frozenset()))
        filler_warn += fw
        bad = ffault != 0
        if bad.any():
            if layout.on_bad_record == "refuse" or rt.role != "D":
                i = int(np.flatnonzero(bad)[0])
                f = rt.fields[ffield[i]]
                raise FileRefused(source, f"{rt.label}: {FAULTS[int(ffault[i])]}", int(rows[i]) + 1, f.name, f.label,
                                  base + int(rows[i]) * stride + f.offset)
            ok_all[rows[bad]] = False
            reject_info.append((rows[bad], ffield[bad], ffault[bad], rt))
        decoded[rt.name] = (rows, cols, ~bad)
        good = ~bad
        df = pl.DataFrame({"record_no": (rows + 1).astype(np.int64, copy=False), **cols})
        frames[rt.name] = df.filter(pl.Series(good)) if bad.any() else df
    if filler_warn:
        warnings.append(f"ダミー項目に空白以外の文字があるレコード {filler_warn} 件 (受付済み) / {filler_warn} record(s) with a non-blank filler (accepted)")

    # rejects: unknown record codes and field faults; raw bytes with secrets masked
    rej_no, rej_field, rej_label, rej_reason, rej_type, rej_raw = [], [], [], [], [], []
    if unknown.any():
        for i in np.flatnonzero(unknown).tolist():
            rej_no.append(i + 1)
            rej_field.append(None)
            rej_label.append(None)
            rej_reason.append("レコード区分が不正 / unknown record type code")
            rej_type.append(None)
            rej_raw.append(mask_secrets(layout.data_type, recs[i].tobytes()))
    for rows, ffield, ffault, rt in reject_info:
        for i, j, c in zip(rows.tolist(), ffield.tolist(), ffault.tolist()):
            f = rt.fields[j]
            rej_no.append(i + 1)
            rej_field.append(f.name)
            rej_label.append(f.label)
            rej_reason.append(_fault_reason(layout, f, c, text[i], base + i * stride))
            rej_type.append(rt.name)
            rej_raw.append(mask_secrets(rt, recs[i].tobytes()))
    rejects = pl.DataFrame({
        "record_no": pl.Series(rej_no, dtype=pl.Int64),
        "byte_offset": pl.Series([base + (r - 1) * stride for r in rej_no], dtype=pl.Int64),
        "record_type": pl.Series(rej_type, dtype=pl.String),
        "field": pl.Series(rej_field, dtype=pl.String),
        "label": pl.Series(rej_label, dtype=pl.String),
        "reason": pl.Series(rej_reason, dtype=pl.String),
        "raw": pl.Series(rej_raw, dtype=pl.Binary),
    }, schema=REJECT_SCHEMA).sort("record_no")

    warnings += _check_bindings(layout, groups, decoded, type_idx, source, base, stride)
    if layout.lead_in is not None:
        _check_lead_in(layout, lead_in_values, n, source)

    rejected = int((~ok_all).sum())
    money = {}
    for rt in layout.record_types:
        for f in rt.fields:
            if f.money and f.name in frames[rt.name].columns:
                money[f"{rt.name}.{f.name}"] = int(frames[rt.name][f.name].sum() or 0)
    _, d_cols, _ = decoded[layout.data_type.name]
    money_all = {f"{layout.data_type.name}.{f.name}": int(d_cols[f.name].sum() or 0)
                 for f in layout.data_type.fields if f.money and f.name in d_cols}
    totals = {
        "money_all": money_all,
        "read": n,
        "accepted": n - rejected,
        "rejected": rejected,
        "by_type": {rt.name: int((type_idx == i).sum()) for i, rt in enumerate(layout.record_types)},
        "money": money,
    }
    if unknown.any():
        totals["by_type"]["unknown"] = int(unknown.sum())
    return ReadResult(layout.id, source, frames, rejects, totals, warnings, line_end, lead_in_values, base, stride)


def _skipped_text(layout: Layout, columns: Collection[str] | None) -> dict[str, frozenset[str]]:
    """Record type → the text fields ``read(columns=…)`` leaves out: the data records' text fields
    not in ``columns`` and not used by a trailer binding (``where``, ``where_not``, summed field)."""
    if columns is None:
        return {}
    keep = set(columns)
    for rt in layout.record_types:
        for b in rt.bindings:
            keep |= set(b.where or {}) | set(b.where_not or {})
            if b.kind == "sum" and b.of:
                keep.add(b.of)
    d = layout.data_type
    return {d.name: frozenset(f.name for f in d.fields if f.type == "text" and f.name not in keep)}


def _fault_reason(layout: Layout, f, code: int, rec: np.ndarray, rec_offset: int) -> str:
    """The reject reason; a character-set fault names its first offending byte (position in the
    field, in the record and in the file, and its value)."""
    reason = FAULTS[code]
    if code not in CHARSET_FAULTS or f.type != "text":
        return reason
    cs = layout.charset_of(f)
    raw = rec[f.offset:f.offset + f.length].tobytes()
    k = first_bad_byte(cs.kind, raw, cs.byte_ok, code)
    if k is None:
        return reason
    return (f"{reason}: 項目内 {k + 1} バイト目 (レコード内 {f.offset + k + 1} バイト目, ファイル内バイト位置 "
            f"{rec_offset + f.offset + k}) = 0x{raw[k]:02X} / field byte {k + 1}, record byte {f.offset + k + 1},"
            f" file offset {rec_offset + f.offset + k}")


def _cond_mask(cols: dict[str, pl.Series], cond: dict[str, tuple[str, ...]] | None, negate: bool, n: int,
               cache: dict | None = None) -> np.ndarray:
    m = np.ones(n, dtype=bool)
    for k, vals in (cond or {}).items():
        key = (k, vals)
        if cache is not None and key in cache:
            hit = cache[key]
        else:
            hit = cols[k].is_in(list(vals)).fill_null(False).to_numpy()
            if cache is not None:
                cache[key] = hit
        m &= ~hit if negate else hit
    return m


def _check_bindings(layout: Layout, groups, decoded, type_idx, source, base, stride) -> list[str]:
    """Check each trailer binding against ALL of its group's data records, accepted and rejected
    (vectorized over groups). A rejected record's other fields are still decoded by the scan, so
    its amount counts; when a rejected record's bound field (or a ``where`` field) cannot be read,
    or a record of unknown type sits in the group, a sum cannot be verified and the file is
    refused — a trailer that cannot be shown to agree is treated like one that disagrees."""
    warnings: list[str] = []
    if not groups:
        return warnings
    d_rt = layout.data_type
    d_rows, d_cols, d_ok = decoded[d_rt.name]
    # unknown records inside a group count as data records for the trailer's count
    data_like = np.flatnonzero((type_idx == layout.record_types.index(d_rt)) | (type_idx < 0))
    heads = np.array([g[0] for g in groups], dtype=np.int64)
    tails = np.array([g[1] for g in groups], dtype=np.int64)
    lo, hi = np.searchsorted(d_rows, heads), np.searchsorted(d_rows, tails)
    all_count = np.searchsorted(data_like, tails) - np.searchsorted(data_like, heads)
    masks: dict = {}  # condition masks shared by the bindings (where / where_not on the same values)
    unknown_rows = np.flatnonzero(type_idx < 0)
    unread_cache: dict[tuple[str, ...], np.ndarray] = {}
    of_values: dict[str, np.ndarray] = {}  # summed fields as numpy, shared by the bindings
    for rt in layout.record_types:
        if not rt.bindings:
            continue
        t_rows, t_cols, _ = decoded[rt.name]
        pos = np.searchsorted(t_rows, tails)
        for b in rt.bindings:
            f = rt.field(b.field)
            if b.kind == "constant":
                actual = np.full(len(groups), b.constant, dtype=np.int64)
                unread = np.zeros(0, dtype=np.int64)
            elif b.kind == "count" and not b.where and not b.where_not:
                actual, unread = all_count, np.zeros(0, dtype=np.int64)
            else:
                m = (_cond_mask(d_cols, b.where, False, len(d_ok), masks)
                     & _cond_mask(d_cols, b.where_not, True, len(d_ok), masks))
                if b.kind != "count" and b.of not in of_values:
                    of_values[b.of] = d_cols[b.of].fill_null(0).to_numpy()
                vals = m.astype(np.int64) if b.kind == "count" else np.where(m, of_values.get(b.of), 0)
                csum = np.concatenate([[0], np.cumsum(vals)])
                actual = csum[hi] - csum[lo]
                used = tuple(sorted({*(b.where or {}), *(b.where_not or {}), *([b.of] if b.kind != "count" else [])}))
                if used not in unread_cache:
                    lost = np.zeros(len(d_ok), dtype=bool)
                    for name in used:
                        if not d_rt.field(name).blank:
                            lost |= d_cols[name].is_null().to_numpy()
                    unread_cache[used] = np.sort(np.concatenate([d_rows[lost & ~d_ok], unknown_rows]))
                unread = unread_cache[used]
            stated_col = t_cols[b.field].to_numpy()
            u_lo, u_hi = np.searchsorted(unread, heads), np.searchsorted(unread, tails)
            for gi in range(len(groups)):
                t = int(tails[gi])
                stated = int(stated_col[pos[gi]])
                if u_hi[gi] > u_lo[gi]:
                    r = int(unread[u_lo[gi]])
                    raise FileRefused(source, f"トレーラの{f.label}を照合できません: レコード {r + 1} の項目が読めません"
                                      f" (トレーラ {stated}, 読めたレコード {int(actual[gi])}) / trailer {f.name} cannot"
                                      f" be verified: record {r + 1} is unreadable in a bound field",
                                      t + 1, f.name, f.label, base + t * stride + f.offset)
                if stated != int(actual[gi]):
                    raise FileRefused(source, f"トレーラの{f.label}が一致しません: トレーラ {stated}, 実際 {int(actual[gi])} (受付・エラーの全レコード)"
                                      f" / trailer {f.name} says {stated}, the file has {int(actual[gi])}"
                                      " (accepted and rejected records)",
                                      t + 1, f.name, f.label, base + t * stride + f.offset)
    return warnings


def _check_lead_in(layout: Layout, values: dict, n: int, source: str) -> None:
    for b in layout.lead_in.bindings:
        if b.kind == "records":
            f = layout.lead_in.field(b.field)
            if values[b.field] != n:
                raise FileRefused(source, f"管理レコードの{f.label}が一致しません: {values[b.field]}, 実際 {n} / lead-in {f.name} says {values[b.field]}, the file has {n} records", 0, f.name, f.label, f.offset)
