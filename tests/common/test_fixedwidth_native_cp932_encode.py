"""The writer's compiled cp932 text encoder (native.cp932_encode, _kbscan.c kb_cp932_encode, used by
writer._cp932_spaced) against Python's codec and the reference encoder (fields.encode_field): the
same bytes for every value it writes (ASCII, half-width kana, JIS X 0208 kanji and kana, 全角空白,
NEC and IBM extensions, 外字 in the user-defined area, the single bytes 0x80 / 0xA0 / 0xFD-0xFF of
Python's cp932), nulls as spaces, values exactly the field's width; and None (the reference then
names the error) for a character cp932 lacks, a character beyond the BMP, a control character or a
value too long, in any row."""

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
from jobs.common.fixedwidth.fields import EncodeError, _utf8_buffers, encode_field

pytestmark = pytest.mark.skipif(native.lib() is None, reason="no C compiler: the native library is not built")

LAYOUT = fw.load_layout("tax_notice_print")
ADDRESS = LAYOUT.data_type.field("address")  # 80 bytes, cp932, blank not allowed
BUILDING = LAYOUT.data_type.field("address_building")  # 60 bytes, blank allowed

GOOD = ("ABCxyz 019-.()ｱｲｳｶﾞﾟ山田太郎花子東京都千代田区丸の内１－２３　髙﨑①Ⅻ㈱～∥－￢"
        "\ue000\ue757\x80\uf8f0\uf8f1\uf8f3")  # 外字 (user-defined area), Python's single bytes
BAD = "☃\U0001F600\x00\x1f\x7f\n\u00e9"  # not cp932, beyond the BMP, control characters


def expected(values: list[str | None], w: int) -> np.ndarray | None:
    rows = []
    for v in values:
        if v is None:
            rows.append(b" " * w)
            continue
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in v):
            return None
        try:
            b = v.encode("cp932")
        except UnicodeEncodeError:
            return None
        if len(b) > w:
            return None
        rows.append(b.ljust(w, b" "))
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(values), w)


def run(values: list[str | None], w: int) -> np.ndarray | None:
    s = pl.Series("t", values, dtype=pl.String)
    offsets, data = _utf8_buffers(s)
    return native.cp932_encode(offsets, data, s.is_null().to_numpy() if s.null_count() else None, w)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.none() | st.text(alphabet=GOOD, max_size=45), min_size=1, max_size=40),
       st.integers(1, 90), st.booleans())
def test_property_encoder_equals_pythons_codec(values, w, many_threads):
    with mock.patch.object(native, "MIN_COPY_ROWS_PER_THREAD", 3 if many_threads else 65_536), \
            mock.patch.dict(os.environ, {"KOKUHO_FW_THREADS": "4"}):
        got = run(values, w)
    want = expected(values, w)
    if want is None:
        assert got is None
    else:
        assert got is not None and got.tobytes() == want.tobytes()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | st.text(alphabet=GOOD + BAD, max_size=20), min_size=1, max_size=20))
def test_property_a_row_it_cannot_write_gives_none(values):
    want = expected(values, 40)
    got = run(values, 40)
    assert (got is None) == (want is None)
    if want is not None:
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("value", ["", "山" * 40, "A" * 80, "山" * 39 + "A", "ｱ" * 80, "①" * 40, "\ue000" * 40])
def test_edge_lengths_match_the_reference_encoder(value):
    """Empty, exactly the width in one- and two-byte characters, 外字: the reference's bytes."""
    s = pl.Series("address", [value, None, value] if BUILDING.blank else [value])
    ref = encode_field(BUILDING, s, len(s), LAYOUT, False) if len(value.encode("cp932")) <= 60 else None
    got = run(s.to_list(), 60)
    if ref is None:
        assert got is None
    else:
        assert got.tobytes() == ref.tobytes()
    s80 = pl.Series("address", [value] * 3)
    assert run(s80.to_list(), 80).tobytes() == encode_field(ADDRESS, s80, 3, LAYOUT, False).tobytes()


def test_one_byte_over_the_width_and_a_cut_double_byte_character_are_refused():
    assert run(["A" * 81], 80) is None
    assert run(["A" * 79 + "山"], 80) is None  # the second byte would not fit
    assert run(["A" * 78 + "山"], 80).tobytes() == ("A" * 78 + "山").encode("cp932")


def test_encode_table_is_pythons_codec():
    enc = native.cp932_encode_table()
    for c in list(range(0x20, 0x7F)) + [0x80, 0xA5, 0x3000, 0x5C71, 0xE000, 0xE757, 0xF8F0, 0xFF61, 0xFF9F, 0x9AD9]:
        try:
            b = chr(c).encode("cp932")
        except UnicodeEncodeError:
            assert enc[c] == -1
            continue
        assert enc[c] == (b[0] if len(b) == 1 else b[0] * 256 + b[1])
    assert (enc[:0x20] == -1).all() and enc[0x7F] == -1 and (enc[0xD800:0xE000] == -1).all()


@pytest.mark.parametrize("bad, match", [("☃", "cannot be written in cp932"), ("A\x01", "control character"),
                                        ("山" * 41, "longer than 80 bytes")])
def test_the_writer_still_reports_the_reference_error(bad, match):
    """A column the compiled encoder refuses goes to the reference encoder, which names the row."""
    s = pl.Series("address", ["東京都"] * 1500 + [bad] + ["大阪府" + str(i) for i in range(1500)])
    with pytest.raises(EncodeError, match=match):
        writer._encode_column(ADDRESS, s, len(s), LAYOUT, False)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.none() | st.text(alphabet=GOOD, max_size=30), min_size=1, max_size=30), st.integers(0, 2**32 - 1))
def test_property_writer_text_column_equals_the_reference_encoder(pool, seed):
    """writer._encode_column on a column of many distinct values (the path of kb_cp932_encode) and
    encode_field give the same block."""
    rng = np.random.default_rng(seed)
    vals = [None if p is None else p + str(i) for i, p in enumerate(pool[k] for k in rng.integers(0, len(pool), 1200))]
    s = pl.Series("address_building", vals, dtype=pl.String)
    try:
        ref = encode_field(BUILDING, s, len(s), LAYOUT, False)
    except EncodeError:
        with pytest.raises(EncodeError):
            writer._encode_column(BUILDING, s, len(s), LAYOUT, False)
        return
    assert writer._encode_column(BUILDING, s, len(s), LAYOUT, False).tobytes() == ref.tobytes()
