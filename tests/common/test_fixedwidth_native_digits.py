"""The writer's compiled digits copy (native.digits_block, _kbscan.c kb_digits_view, used by
writer._encode_digits) against the Polars way (str.zfill) and the reference encoder: the same bytes
for values short and long (inline and out-of-line Arrow string views), empty, exactly the width,
nulls as spaces, sliced columns (an Arrow offset), the 44-digit barcodes; None (the Polars way then
names the rows) for a value too long or not ASCII digits (signs, spaces, full-width digits)."""

from __future__ import annotations

import os
from unittest import mock

import hypothesis.strategies as st
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings

from jobs.common import fixedwidth as fw
from jobs.common.fixedwidth import native, writer
from jobs.common.fixedwidth.fields import EncodeError, encode_field

pytestmark = pytest.mark.skipif(native.lib() is None, reason="no C compiler: the native library is not built")

LAYOUT = fw.load_layout("tax_notice_print")
RT = LAYOUT.data_type


def expected(values, w):
    rows = []
    for v in values:
        if v is None:
            rows.append(b" " * w)
            continue
        if len(v) > w or not all("0" <= c <= "9" for c in v):
            return None
        rows.append(v.rjust(w, "0").encode("ascii"))
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(values), w)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 50).flatmap(lambda w: st.tuples(
    st.just(w), st.lists(st.none() | st.text(alphabet="0123456789", max_size=w)
                         | st.sampled_from(["", "0" * w, "9" * w]), min_size=1, max_size=40))),
    st.integers(0, 5), st.booleans())
def test_property_digits_copy_equals_zfill(case, cut, many_threads):
    w, values = case
    s = pl.Series("d", ["1"] * cut + values, dtype=pl.String).slice(cut)  # an Arrow offset
    with mock.patch.object(native, "MIN_COPY_ROWS_PER_THREAD", 3 if many_threads else 65_536), \
            mock.patch.dict(os.environ, {"KOKUHO_FW_THREADS": "4"}):
        got = native.digits_block(s, w)
    want = expected(values, w)
    assert got is not None and got.tobytes() == want.tobytes()
    zfill = s.fill_null("").str.zfill(w).to_list()
    assert [g.tobytes().decode() for g, v in zip(got, values) if v is not None] == \
        [z for z, v in zip(zfill, values) if v is not None]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20), st.lists(st.none() | st.text(alphabet="0123456789+- １a", max_size=24), min_size=1,
                                     max_size=20))
def test_property_a_row_it_cannot_copy_gives_none(w, values):
    got = native.digits_block(pl.Series("d", values, dtype=pl.String), w)
    want = expected(values, w)
    assert (got is None) == (want is None)
    if want is not None:
        assert got.tobytes() == want.tobytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_writer_digits_equal_the_reference_encoder(data):
    """writer._encode_digits (the compiled copy) and encode_field give the same block for every digits
    field of the print record, barcodes and coded values included, or both refuse."""
    fields = [f for f in RT.fields if f.type == "digits" and f.name != "record_kind"]
    cols = {}
    for f in fields:
        if f.values is not None:
            pool = list(f.values) + ([None] if f.blank else []) + data.draw(st.lists(st.sampled_from(["9", "x"]),
                                                                                      max_size=1))
        else:
            pool = data.draw(st.lists(st.text(alphabet="0123456789", max_size=f.length), min_size=1, max_size=4))
            pool += [None] if f.blank else []
        cols[f.name] = [data.draw(st.sampled_from(pool)) for _ in range(30)]
    df = pl.DataFrame(cols, schema={k: pl.String for k in cols})
    try:
        ref = {f.offset: encode_field(f, df.get_column(f.name), df.height, LAYOUT, False) for f in fields}
    except EncodeError:
        with pytest.raises(EncodeError):
            writer._encode_digits(LAYOUT, RT, df, fields)
        return
    got = dict(writer._encode_digits(LAYOUT, RT, df, fields))
    assert set(got) == set(ref)
    for off, block in ref.items():
        assert got[off].tobytes() == block.tobytes()


def test_errors_are_still_named_by_the_polars_way():
    f = RT.field("household_id")
    for bad, match in (("12345678901", "longer than 10 digits"), ("12a", "not digits"), (None, "blank not allowed")):
        df = pl.DataFrame({"household_id": ["1"] * 5 + [bad]}, schema={"household_id": pl.String})
        with pytest.raises(EncodeError, match=match):
            writer._encode_digits(LAYOUT, RT, df, [f])
    kind = RT.field("notice_kind")
    df = pl.DataFrame({"notice_kind": ["1", "2", "3"]})
    with pytest.raises(EncodeError, match="value not in"):
        writer._encode_digits(LAYOUT, RT, df, [kind])


def _numbers_by_polars(df: pl.DataFrame, fields) -> list:
    """What _encode_numbers gave from one Polars select (before Int64 and dates were read from
    their Arrow buffers): values with zeros where null, and the nulls."""
    out = []
    for f in fields:
        e = writer._number_expr(f)
        sel = df.select(e.fill_null(0).alias("v"), pl.col(f.name).is_null().alias("z"))
        out.append((sel["v"].to_numpy(), sel["z"].to_numpy()))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(0, 4))
def test_property_numbers_from_arrow_buffers_equal_the_polars_select(data, cut):
    """Int64 numbers (no nulls, some, all) and YYYYMMDD dates (any year Polars has, nulls) read from
    their Arrow buffers give the values, nulls, minimum and maximum of the Polars select, also on a
    slice (an Arrow offset)."""
    fields = [RT.field("annual_tax"), RT.field("ordinary_1_amount"), RT.field("previous_annual_tax"),
              RT.field("ordinary_1_due_date"), RT.field("issue_date")]
    rows = data.draw(st.integers(1, 30))
    ints = st.integers(0, 10 ** 9 - 1)
    dates = st.dates(__import__("datetime").date(1, 1, 1), __import__("datetime").date(9999, 12, 31))
    cols = {
        "annual_tax": data.draw(st.lists(ints, min_size=rows + cut, max_size=rows + cut)),
        "ordinary_1_amount": data.draw(st.lists(st.none() | ints, min_size=rows + cut, max_size=rows + cut)),
        "previous_annual_tax": [None] * (rows + cut),
        "ordinary_1_due_date": data.draw(st.lists(st.none() | dates, min_size=rows + cut, max_size=rows + cut)),
        "issue_date": data.draw(st.lists(dates, min_size=rows + cut, max_size=rows + cut)),
    }
    df = pl.DataFrame(cols, schema={"annual_tax": pl.Int64, "ordinary_1_amount": pl.Int64, "previous_annual_tax": pl.Int64,
                                    "ordinary_1_due_date": pl.Date, "issue_date": pl.Date}).slice(cut)
    fields = [f for f in fields if f.blank or f.name in ("annual_tax", "issue_date")]
    try:
        got = writer._encode_numbers(LAYOUT, RT, df, fields)
    except EncodeError as e:
        assert "does not fit" in str(e) or "blank not allowed" in str(e)
        return
    for f, (v, z, vmin, vmax), (rv, rz) in zip(fields, got, _numbers_by_polars(df, fields)):
        assert np.array_equal(v, rv), f.name
        assert np.array_equal(z if z is not None else np.zeros(len(v), bool), rz), f.name
        assert (vmin, vmax) == (int(rv.min()), int(rv.max()))
