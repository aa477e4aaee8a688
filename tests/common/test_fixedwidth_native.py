"""The ahead-of-time compiled scan (jobs/common/fixedwidth/native.py, _kbscan.c) against the numba
kernel and the numpy reference decoders: same frames, rejects (reasons naming file, record and
field), totals and refusals, on random valid and invalid records; and what it costs a process to
load (no numba, no pyarrow.compute)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from jobs.common import fixedwidth as fw
from jobs.common.fixedwidth import native

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = (ROOT / "fixtures" / "zengin_91_result" / "result_multi_crlf.dat").read_bytes()
RES = fw.load_layout("zengin_91_result")

pytestmark = pytest.mark.skipif(native.lib() is None, reason="no C compiler: the native scan is not built")


@contextmanager
def numba_kernel():
    with mock.patch.object(native, "lib", lambda: None):
        yield


def outcome(layout, data: bytes, how: str):
    """What a read gives, comparable across the three paths."""
    try:
        if how == "numba":
            with numba_kernel():
                res = fw.read(layout, data)
        else:
            res = fw.read(layout, data, reference=how == "reference")
    except fw.FileRefused as e:
        return ("refused", str(e), e.reason, e.record_no, e.field, e.byte_offset)
    t = res.totals
    assert t["read"] == t["accepted"] + t["rejected"]
    for r in res.rejects.iter_rows(named=True):
        assert data[r["byte_offset"]: r["byte_offset"] + layout.record_length] == r["raw"]
    return ("read", {k: v for k, v in res.frames.items()}, res.rejects, t, res.warnings)


def assert_same(a, b):
    assert a[0] == b[0], (a, b)
    if a[0] == "refused":
        assert a == b
        return
    assert a[1].keys() == b[1].keys()
    for k in a[1]:
        assert a[1][k].schema == b[1][k].schema, k
        assert a[1][k].equals(b[1][k]), k
    assert a[2].equals(b[2])
    assert a[3] == b[3]
    assert a[4] == b[4]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(GOLDEN) - 1), st.integers(0, 255)), min_size=0, max_size=5))
def test_property_native_scan_matches_numba_and_reference_on_mutated_zengin(mutations):
    data = bytearray(GOLDEN)
    for pos, byte in mutations:
        data[pos] = byte
    data = bytes(data)
    got = outcome(RES, data, "native")
    assert_same(got, outcome(RES, data, "numba"))
    assert_same(got, outcome(RES, data, "reference"))


# A layout with every kind of field the scan handles (and one it leaves to the reference decoders),
# blank allowed and not, allowed values, two charsets and a shift code.
KINDS = fw.parse_layout({"id": "kinds", "encoding": "cp932", "record_length": 80, "structure": "D*",
                         "charset": "halfwidth", "on_bad_record": "reject", "record_types": {"data": {"role": "D", "fields": [
                             {"name": "kind", "label": "区分", "start": 1, "length": 1, "type": "digits", "values": ["1", "2", "9"]},
                             {"name": "code", "label": "コード", "start": 2, "length": 3, "type": "digits", "blank": True,
                              "values": ["001", "010", "999"]},
                             {"name": "no", "label": "番号", "start": 5, "length": 14, "type": "digits", "blank": True},
                             {"name": "amount", "label": "金額", "start": 19, "length": 7, "type": "numeric", "money": True},
                             {"name": "opt", "label": "任意額", "start": 26, "length": 4, "type": "numeric", "blank": True},
                             {"name": "name", "label": "名前", "start": 30, "length": 8, "type": "text"},
                             {"name": "bank", "label": "銀行名", "start": 38, "length": 6, "type": "text", "blank": True,
                              "charset": "zengin"},
                             {"name": "born", "label": "生年月日", "start": 44, "length": 8, "type": "date", "format": "yyyymmdd",
                              "blank": True},
                             {"name": "due", "label": "期限", "start": 52, "length": 6, "type": "date", "format": "yymmdd"},
                             {"name": "pad", "label": "ダミー", "start": 58, "length": 3, "type": "filler"},
                             {"name": "si", "label": "シフト", "start": 61, "length": 2, "type": "shift", "value_hex": "1b28"},
                             {"name": "z", "label": "符号付", "start": 63, "length": 3, "type": "zoned", "blank": True},
                             {"name": "tail", "label": "末尾", "start": 66, "length": 15, "type": "text", "blank": True}]}}})

VALID = (b"1" b"010" b"00000000001234" b"0012345" b"    " b"\xb1\xb2\xb3 AB  " b"\xd0\xbd\xde\xce  "
         b"19991231" b"261231" b"   " b"\x1b(" b"12{" b"\xb6\xc0\xb6\xc5 kana 123  ")
assert len(VALID) == 80
NASTY = [0x20, 0x30, 0x31, 0x39, 0x41, 0x61, 0x7E, 0x7F, 0x80, 0xA0, 0xA1, 0xB1, 0xDF, 0xE0, 0xFF, 0x00, 0x1B, 0x28, 0x0D]


def mutate(muts) -> bytes:
    b = bytearray(VALID)
    for pos, byte in muts:
        b[pos] = byte
    return bytes(b)


record = st.lists(st.tuples(st.integers(0, 79), st.sampled_from(NASTY)), max_size=4).map(mutate)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, min_size=1, max_size=40), st.booleans())
def test_property_native_scan_matches_on_random_records_and_threads(records, many_threads):
    data = b"".join(records)
    with mock.patch.object(native, "MIN_ROWS_PER_THREAD", 3 if many_threads else native.MIN_ROWS_PER_THREAD), \
            mock.patch.dict(os.environ, {"KOKUHO_FW_THREADS": "4"}):
        got = outcome(KINDS, data, "native")
    assert_same(got, outcome(KINDS, data, "numba"))
    assert_same(got, outcome(KINDS, data, "reference"))


def test_random_record_layout_covers_every_scan_kind():
    from jobs.common.fixedwidth.reader import _plan

    assert set(_plan(KINDS, "data").kind.tolist()) == set(range(7))
    res = fw.read(KINDS, VALID * 3)
    assert res.totals["rejected"] == 0 and res.frames["data"]["name"][0] == "ｱｲｳ AB"


def test_long_digits_split_over_several_arrow_buffers():
    """A digits field longer than 12 bytes is kept in buffers of under 2 GiB each; with a tiny limit
    the rows spread over many buffers and the column is still the reference's."""
    lay = fw.parse_layout({"id": "d", "encoding": "cp932", "record_length": 20, "structure": "D*", "record_types": {
        "data": {"role": "D", "fields": [{"name": "v", "label": "番号", "start": 1, "length": 20, "type": "digits",
                                          "blank": True}]}}})
    data = b"".join(str(i).zfill(20).encode() if i % 7 else b" " * 20 for i in range(100))
    with mock.patch.object(native, "MAX_BUFFER", 20 * 6 + 5):
        got = outcome(lay, data, "native")
    assert_same(got, outcome(lay, data, "reference"))
    assert got[1]["data"]["v"][99] == "00000000000000000099" and got[1]["data"]["v"][98] is None


def test_a_process_reading_a_file_loads_neither_numba_nor_pyarrow_compute(tmp_path):
    code = ("import json, sys\nfrom jobs.common import fixedwidth as fw\n"
            "res = fw.read(fw.load_layout('zengin_91_result'), sys.argv[1])\n"
            "print(json.dumps({'numba': 'numba' in sys.modules, 'pc': 'pyarrow.compute' in sys.modules,"
            " 'n': res.totals['read']}))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "fixtures" / "zengin_91_result" / "result_multi_crlf.dat")],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert got == {"numba": False, "pc": False, "n": got["n"]} and got["n"] > 0


def test_library_is_named_by_its_source_and_the_switch_falls_back(monkeypatch):
    assert native.library_path().name == f"_kbscan-{native.source_hash()}.so"
    assert native.library_path().exists()
    assert native.lib().kb_source_hash().decode() == native.source_hash()
    monkeypatch.setenv("KOKUHO_FW_NATIVE", "0")
    native.lib.cache_clear()
    try:
        assert native.lib() is None
        assert_same(outcome(RES, GOLDEN, "native"), outcome(RES, GOLDEN, "reference"))
    finally:
        monkeypatch.delenv("KOKUHO_FW_NATIVE")
        native.lib.cache_clear()
    assert native.lib() is not None


def test_build_writes_aside_into_the_named_file(tmp_path):
    dest = native.build(tmp_path / f"_kbscan-{native.source_hash()}.so")
    assert dest.exists() and not list(tmp_path.glob(".*.tmp"))


def test_records_of_several_groups_are_scanned_in_place_in_several_threads():
    """The data records of a file of several groups are not contiguous: the scan reads them in place
    through a row index (no gathered copy), split over threads; same outcome as the other paths,
    rejects included."""
    stride = RES.record_length + 2
    rows = [i for i in range(len(GOLDEN) // stride) if GOLDEN[i * stride:i * stride + 1] == b"2"]
    assert rows[-1] - rows[0] + 1 > len(rows)  # the golden file's data records are not one block
    data = bytearray(GOLDEN)
    for k, i in enumerate(rows[::2]):  # every other data record: a byte its bank name may not hold
        data[i * stride + 5] = 0xE0 if k % 2 else 0x7E
    data = bytes(data)
    with mock.patch.object(native, "MIN_ROWS_PER_THREAD", 2), mock.patch.dict(os.environ, {"KOKUHO_FW_THREADS": "3"}):
        got = outcome(RES, data, "native")
    assert got[0] == "read" and got[3]["rejected"] == len(rows[::2]), got
    assert_same(got, outcome(RES, data, "numba"))
    assert_same(got, outcome(RES, data, "reference"))
