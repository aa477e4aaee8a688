"""The writer's compiled record assembly (the C one, native.assemble in _kbscan.c, and the numba
fallback, jobs/common/fixedwidth/assemble.py; writer._encode_lines) writes the bytes of the reference field encoders (fields.encode_field, one field at a time) on
random rows of the 1,800-byte 納税通知書 print record: multi-byte cp932 text, zero and negative
(zoned) amounts, the largest values of every width, blanks, constant columns (the template line),
and text with few distinct values (encoded once per value)."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.common import fixedwidth as fw
from jobs.common.fixedwidth import native, writer
from jobs.common.fixedwidth.fields import encode_field

LAYOUT = fw.load_layout("tax_notice_print")
RT = LAYOUT.data_type
COLUMNS = [f for f in RT.columns if f.name != "record_kind"]
# ASCII, half-width kana, kanji, full-width forms: 1 and 2 bytes in cp932
TEXT = st.text(alphabet="ABCxyz 019-ｱｲｳｶﾞﾟ山田太郎花子東京都千代田区丸の内１－２３　髙﨑", max_size=40)
SBCS = st.text(alphabet="ABCXYZ 0189-().*ｱｲｳｶﾞﾟ", max_size=30)  # the half-width fields (口座名義人カナ, 口座番号)


def reference(df: pl.DataFrame) -> bytes:
    """The record block as the reference encoders make it, field by field, with CRLF."""
    n = df.height
    blocks = [encode_field(f, df.get_column(f.name) if f.name in df.columns else None, n, LAYOUT, False)
              for f in RT.fields]
    lines = np.concatenate(blocks + [np.tile(np.frombuffer(b"\r\n", np.uint8), (n, 1))], axis=1)
    return lines.tobytes()


def value(f, draw, rng: np.random.Generator):
    """One drawn value of field f (None: blank where the field allows it)."""
    if f.blank and draw(st.integers(0, 4)) == 0:  # required fields are never drawn blank
        return None
    w = f.length
    if f.type == "numeric":
        return draw(st.one_of(st.just(0), st.just(10 ** w - 1), st.integers(0, 10 ** w - 1)))
    if f.type == "zoned":
        return draw(st.one_of(st.just(0), st.just(-(10 ** w - 1)), st.just(10 ** w - 1),
                              st.integers(-(10 ** w - 1), 10 ** w - 1)))
    if f.type == "date":
        return draw(st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)))
    if f.type == "digits":
        if f.values is not None:
            return draw(st.sampled_from(list(f.values)))
        return draw(st.text(alphabet="0123456789", min_size=1, max_size=w))
    cs = LAYOUT.charset_of(f)
    alphabet = TEXT if cs.kind == "cp932" else SBCS.filter(lambda t: all(c in cs.chars for c in t))
    text = draw(alphabet.filter(lambda t: len(t.encode("cp932")) <= w))
    return text or None if f.blank else text or "Ａ"


DTYPES = {"numeric": pl.Int64, "zoned": pl.Int64, "date": pl.Date, "digits": pl.String, "text": pl.String}


def frame(draw, rows: int, rng: np.random.Generator) -> pl.DataFrame:
    """rows random rows; each column is drawn per row, or one value for every row (a constant
    column), or a few values repeated (the once-per-distinct-value path)."""
    cols = {}
    for f in COLUMNS:
        how = draw(st.sampled_from(["rows", "constant", "few"]))
        if how == "rows" and rows <= 40:
            vals = [value(f, draw, rng) for _ in range(rows)]
        elif how == "constant":
            vals = [value(f, draw, rng)] * rows
        else:
            pool = [value(f, draw, rng) for _ in range(draw(st.integers(1, 4)))]
            vals = [pool[i] for i in rng.integers(0, len(pool), rows)]
        cols[f.name] = pl.Series(f.name, vals, dtype=DTYPES[f.type])
    return pl.DataFrame(cols)


HEADER = {"municipality_code": "111007", "fiscal_year": "2026", "creation_date": dt.date(2026, 6, 1),
          "issue_date": dt.date(2026, 6, 15), "issuer_name": "市長"}
SLOW = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=20, **SLOW)
@given(st.data(), st.sampled_from([1, 2, 3, 17, 40, 300]), st.integers(0, 2**32 - 1))
def test_property_assembled_records_equal_the_reference_encoders(data, rows, seed):
    df = frame(data.draw, rows, np.random.default_rng(seed))
    ref = reference(df)
    block = fw.encode_records(LAYOUT, RT, df)
    assert block.shape == (rows, 1800)
    assert block.tobytes() == b"".join(ref[i * 1802:i * 1802 + 1800] for i in range(rows))
    whole = fw.write(LAYOUT, {"header": fw.one_row(HEADER), "data": df})
    assert whole[1802:-1802] == ref  # between the header and the trailer: the data lines


@settings(max_examples=3, **SLOW)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_streaming_writer_equals_the_whole_file_writer(tmp_path_factory, data, seed):
    """FileWriter (chunks written as lines) and write() give the same file, at a size where the
    once-per-distinct-value text path runs (3,000 records, chunks of 1,200)."""
    df = frame(data.draw, 3000, np.random.default_rng(seed))
    whole = fw.write(LAYOUT, {"header": fw.one_row(HEADER), "data": df})
    path = tmp_path_factory.mktemp("print") / "print.dat"
    with fw.FileWriter(LAYOUT, path) as w:
        w.begin_group(HEADER)
        for start in range(0, df.height, 1200):
            w.write(df.slice(start, 1200))
        w.end_group({"municipality_code": "111007", "fiscal_year": "2026"})
    assert path.read_bytes() == whole
    assert whole[1802:-1802] == reference(df)


@settings(max_examples=3, **SLOW)
@given(st.data(), st.lists(st.integers(1, 2600), min_size=1, max_size=5), st.integers(0, 2**32 - 1))
def test_streaming_writer_reusing_its_buffers_equals_the_whole_file_writer(tmp_path_factory, data, sizes, seed):
    """Chunks of changing sizes (below and above FileWriter.BUFFER_MIN_ROWS, a buffer grown and
    reused, written in the background while the next is encoded) give the bytes of write()."""
    df = frame(data.draw, 3000, np.random.default_rng(seed))
    whole = fw.write(LAYOUT, {"header": fw.one_row(HEADER), "data": df})
    path = tmp_path_factory.mktemp("print") / "print.dat"
    with fw.FileWriter(LAYOUT, path) as w:
        w.begin_group(HEADER)
        start, k = 0, 0
        while start < df.height:
            step = sizes[k % len(sizes)]
            w.write(df.slice(start, step))
            start, k = start + step, k + 1
        w.end_group({"municipality_code": "111007", "fiscal_year": "2026"})
    assert path.read_bytes() == whole


@settings(max_examples=3, **SLOW)
@given(st.data(), st.sampled_from([1, 2, 4, 5]))
def test_a_failed_background_write_leaves_no_file(tmp_path_factory, data, fail_at):
    """A write that fails in the background thread is raised (at the next block or at close), and
    neither the file nor its temporary sibling remains (writes: header, three blocks, trailer)."""
    df = frame(data.draw, 3000, np.random.default_rng(fail_at))
    tmp_path = tmp_path_factory.mktemp("fail")
    path = tmp_path / "print.dat"
    calls = {"n": 0}

    class Boom:
        def __init__(self, fh):
            self.fh = fh

        def write(self, b):
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise OSError(28, "No space left on device")
            return self.fh.write(b)

        def __getattr__(self, name):
            return getattr(self.fh, name)

    with pytest.raises(OSError, match="No space left"):
        with fw.FileWriter(LAYOUT, path) as w:
            w.fh = Boom(w.fh)
            w.begin_group(HEADER)
            for start in range(0, df.height, 1100):
                w.write(df.slice(start, 1100))
            w.end_group({"municipality_code": "111007", "fiscal_year": "2026"})
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=2, **SLOW)
@given(st.data(), st.integers(0, 2**32 - 1))
def test_an_error_names_the_row_of_the_whole_column_also_for_few_distinct_values(data, seed):
    """Text encoded once per distinct value still reports the row of the column (not of the
    distinct values) when a value cannot be written."""
    df = frame(data.draw, 2000, np.random.default_rng(seed))
    names = ["山田"] * 2000
    names[1234] = "☃"
    df = df.with_columns(pl.Series("addressee_name", names))
    with pytest.raises(fw.EncodeError, match=r"addressee_name .*row 1235"):
        fw.encode_records(LAYOUT, RT, df)


@pytest.mark.skipif(native.lib() is None, reason="no C compiler: the native assembly is not built")
@settings(max_examples=6, **SLOW)
@given(st.data(), st.sampled_from([1, 2, 5, 64, 65, 300]), st.integers(0, 2**32 - 1), st.booleans())
def test_property_c_assembly_equals_the_numba_assembly(data, rows, seed, many_threads):
    """The C assembly (the default when the library is built) and the numba kernel (the fallback)
    write the same lines, also when the rows are split over threads (a few rows per thread)."""
    numba_assemble = writer._numba_assemble

    df = frame(data.draw, rows, np.random.default_rng(seed))
    assert writer._assembler() is native.assemble
    with mock.patch.object(native, "MIN_ASSEMBLE_ROWS_PER_THREAD", 3 if many_threads else 8192), \
            mock.patch.dict("os.environ", {"KOKUHO_FW_THREADS": "4"}):
        c = fw.encode_records(LAYOUT, RT, df)
    with mock.patch.object(writer, "_assembler", lambda: numba_assemble):
        nb = fw.encode_records(LAYOUT, RT, df)
    assert c.tobytes() == nb.tobytes()
    ref = reference(df)
    assert c.tobytes() == b"".join(ref[i * 1802:i * 1802 + 1800] for i in range(rows))


def test_without_the_library_the_writer_uses_numba():
    numba_assemble = writer._numba_assemble

    with mock.patch.object(native, "lib", lambda: None):
        assert writer._assembler() is numba_assemble
