"""cp932 text fields (氏名, 住所 of the 国保資格 file) through the compiled scan (native.cp932_column,
_kbscan.c kb_cp932_scan / kb_cp932_fill) against the numpy reference decoder (fields.decode_text):
the same frames, rejects (reasons naming the first offending byte), totals and refusals, on random
and mutated records — valid text of every kind cp932 has (JIS X 0208 kanji and kana, 全角空白, NEC and
IBM extensions, 外字 in the user-defined area, half-width kana), bytes Python's codec refuses,
control bytes, a double-byte character cut at the field's end, and UTF-8 text (mojibake)."""

from __future__ import annotations

import os
from unittest import mock

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from test_fixedwidth_native import assert_same

from jobs.common import fixedwidth as fw
from jobs.common.fixedwidth import fields, native
from jobs.common.fixedwidth.reader import mask_secrets

pytestmark = pytest.mark.skipif(native.lib() is None, reason="no C compiler: the native scan is not built")

QUAL = fw.load_layout("nhi_qualification")
DATA = QUAL.record_type("data")
NAME, ADDRESS = DATA.field("name_kanji"), DATA.field("address_kanji")


def outcome(layout, data: bytes, how: str):
    """What a read gives (the compiled scan or the reference decoders), comparable."""
    try:
        res = fw.read(layout, data, reference=how == "reference")
    except fw.FileRefused as e:
        return ("refused", str(e), e.reason, e.record_no, e.field, e.byte_offset)
    t = res.totals
    assert t["read"] == t["accepted"] + t["rejected"]
    for r in res.rejects.iter_rows(named=True):
        raw = data[r["byte_offset"]: r["byte_offset"] + layout.record_length]
        assert mask_secrets(layout.data_type, raw) == r["raw"]  # 個人番号 masked in the rejects
    return ("read", dict(res.frames), res.rejects, t, res.warnings)


def _put(rec: bytearray, rt, name: str, value: bytes) -> None:
    f = rt.field(name)
    assert len(value) <= f.length, name
    rec[f.offset:f.offset + len(value)] = value


def _record(rt, values: dict[str, bytes]) -> bytes:
    rec = bytearray(b" " * QUAL.record_length)
    for k, v in values.items():
        _put(rec, rt, k, v)
    return bytes(rec) + b"\r\n"


HEADER = _record(QUAL.record_type("header"), {"record_kind": b"1", "municipality_code": b"111007",
                                              "creation_date": b"20260601", "fiscal_year": b"2026",
                                              "base_date": b"20260601"})


def data_record(i: int, name: bytes, address: bytes) -> bytes:
    return _record(DATA, {
        "record_kind": b"2", "municipality_code": b"111007", "person_id": b"%010d" % (7000000 + i),
        "household_id": b"%010d" % (9000000 + i), "householder_flag": b"1", "nominal_householder_flag": b"0",
        "relation": b"01", "name_kanji": name, "name_kana": "ﾐﾔｻﾞｷ ﾀﾀﾞｼ".encode("cp932"), "birth_date": b"19641210",
        "sex": b"1", "acquired_date": b"20160202", "acquired_reason": b"02", "specified_same_household": b"0",
        "former_dependent": b"0", "ltc_exempt": b"0", "postal_code": b"3393032", "address_kanji": address})


def qualification_file(fields_: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(data_record(i, n, a) for i, (n, a) in enumerate(fields_))
    trailer = _record(QUAL.record_type("trailer"), {"record_kind": b"8", "municipality_code": b"111007",
                                                    "total_count": b"%09d" % len(fields_),
                                                    "nominal_count": b"%09d" % 0, "specified_count": b"%09d" % 0})
    return HEADER + body + trailer


# --- what goes into a field ---------------------------------------------------------------------
KANJI = "宮崎正森陸埼玉県架空市南区緑町丁目番号西新髙﨑德纊褜鍈銈蓜俉炻昱棈鋹曻彅丨仡仼伀"
KANA = "あいうえおがぱゃっーアイウエオヴヵヶ・"
SYMBOLS = "　０１２３４５６７８９ＡＢＣ－（）①②⑳Ⅰ㈱№㍻∵≒￢ｱｲｳﾞﾟ｡"
ALPHABET = KANJI + KANA + SYMBOLS + " ABC-1/"
assert ALPHABET.encode("cp932")
GAIJI = [bytes([lead, trail]) for lead in (0xF0, 0xF4, 0xF9) for trail in (0x40, 0x7E, 0x80, 0xFC)]
BAD_PAIRS = [b"\x81\x20", b"\x85\x40", b"\xeb\x40", b"\xef\x9f", b"\x81\x7f", b"\xfc\x4b", b"\xfc\xfc", b"\xa0",
             b"\x80", b"\xfd", b"\xfe", b"\xff"]
CONTROL = [b"\x00", b"\x09", b"\x0a", b"\x0d", b"\x1b", b"\x1f", b"\x7f"]

text_chunk = st.text(alphabet=ALPHABET, max_size=12).map(lambda s: s.encode("cp932"))
utf8_chunk = st.text(alphabet=KANJI + KANA + "　", min_size=1, max_size=8).map(lambda s: s.encode("utf-8"))
chunk = st.one_of(text_chunk, text_chunk, text_chunk, utf8_chunk, st.sampled_from(GAIJI), st.sampled_from(BAD_PAIRS),
                  st.sampled_from(CONTROL), st.binary(max_size=4))


def field_bytes(length: int):
    """A field's bytes: chunks of text and faults, cut at the field length (possibly inside a
    double-byte character), padded with spaces or 全角空白."""
    def build(parts, pad_kind):
        raw = b"".join(parts)[:length]
        pad = b" " * (length - len(raw))
        if pad_kind == 1:
            pad = "　".encode("cp932") * ((length - len(raw)) // 2) + b" " * ((length - len(raw)) % 2)
        return raw + pad
    return st.builds(build, st.lists(chunk, max_size=6), st.sampled_from([0, 0, 1]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(field_bytes(NAME.length), field_bytes(ADDRESS.length)), min_size=1, max_size=30),
       st.booleans())
def test_property_cp932_fields_native_match_reference_on_random_records(rows, many_threads):
    data = qualification_file(rows)
    with mock.patch.object(native, "MIN_ROWS_PER_THREAD", 3 if many_threads else native.MIN_ROWS_PER_THREAD), \
            mock.patch.dict(os.environ, {"KOKUHO_FW_THREADS": "4"}):
        got = outcome(QUAL, data, "native")
    assert_same(got, outcome(QUAL, data, "reference"))


VALID_ROWS = [("宮崎　正".encode("cp932"), "埼玉県架空市南区緑町２丁目２４番１６号　レジデンス緑町７０１".encode("cp932")),
              ("森　陸".encode("cp932"), "髙﨑①ｱｲｳﾞ".encode("cp932") + GAIJI[0])]
VALID_FILE = qualification_file(VALID_ROWS)
NASTY = [0x00, 0x0A, 0x20, 0x40, 0x7E, 0x7F, 0x80, 0x81, 0x9F, 0xA0, 0xA1, 0xDF, 0xE0, 0xE3, 0xEA, 0xEF, 0xF0, 0xFC, 0xFD,
         0xFF]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID_FILE) - 1), st.sampled_from(NASTY) | st.integers(0, 255)),
                max_size=6))
def test_property_cp932_native_matches_reference_on_mutated_file(mutations):
    data = bytearray(VALID_FILE)
    for pos, byte in mutations:
        data[pos] = byte
    data = bytes(data)
    assert_same(outcome(QUAL, data, "native"), outcome(QUAL, data, "reference"))


def test_valid_text_of_every_kind_reads_the_same_and_is_accepted():
    res = fw.read(QUAL, VALID_FILE)
    assert res.totals["rejected"] == 0
    assert res.frames["data"]["name_kanji"].to_list() == ["宮崎　正", "森　陸"]
    assert res.frames["data"]["address_kanji"][1] == "髙﨑①ｱｲｳﾞ\ue000"
    assert_same(outcome(QUAL, VALID_FILE, "native"), outcome(QUAL, VALID_FILE, "reference"))


@pytest.mark.parametrize("name, fault", [
    (b"\x81", 9),  # a lead byte cut at the end of the field (the next byte is the 氏名's own end)
    (b"\x85\x40", 9),  # an unassigned double-byte code
    ("宮崎\t正".encode("cp932"), 8),
    ("宮崎　正".encode("utf-8"), 11),
    (b"", 2),
])
def test_each_fault_gives_the_reference_reason(name, fault):
    raw = name + b" " * (NAME.length - len(name)) if name != b"\x81" else b" " * (NAME.length - 1) + b"\x81"
    data = qualification_file([(raw, VALID_ROWS[0][1])])
    native_ = fw.read(QUAL, data)
    assert native_.totals["rejected"] == 1
    assert native_.rejects["reason"][0].startswith(fields.FAULTS[fault])
    assert_same(outcome(QUAL, data, "native"), outcome(QUAL, data, "reference"))


def test_utf8_rule_candidates_only_reach_python_when_a_strict_decoder_could_accept():
    """The scan hands fields.utf8_text only rows it cannot rule out; the rule stays the Python one."""
    cp = "埼玉県".encode("cp932") * 4  # level-1 kanji: no 3-byte UTF-8 pattern
    utf = "埼玉県".encode("utf-8") * 4
    block = np.frombuffer(cp.ljust(NAME.length) + utf.ljust(NAME.length), dtype=np.uint8).reshape(2, NAME.length)
    text = np.zeros((2, QUAL.record_length), dtype=np.uint8) + 0x20
    text[:, NAME.offset:NAME.offset + NAME.length] = block
    calls = []
    real = fields.utf8_text
    with mock.patch.object(fields, "utf8_text", lambda raw: calls.append(raw) or real(raw)):
        s, fault = native.cp932_column(NAME, text)
    assert fault.tolist() == [0, 11] and len(calls) == 1
    ref_s, ref_fault = fields.decode_text(NAME, block, QUAL.charset_of(NAME))
    assert s.equals(ref_s) and (fault == ref_fault).all()


def test_cp932_tables_are_pythons_codec():
    single, pair = native.cp932_tables()
    for b in range(256):
        try:
            assert single[b] == ord(bytes([b]).decode("cp932"))
        except UnicodeDecodeError:
            assert single[b] == -1
    for lead in (0x81, 0x85, 0x87, 0x88, 0x9F, 0xE0, 0xEA, 0xEB, 0xED, 0xEF, 0xF0, 0xF9, 0xFA, 0xFC):
        for t in range(256):
            try:
                assert pair[lead * 256 + t] == ord(bytes([lead, t]).decode("cp932"))
            except UnicodeDecodeError:
                assert pair[lead * 256 + t] == -1
    assert pair[0x8140] == 0x3000 and pair[0xF040] == 0xE000 and pair[0x889F] == ord("亜") and pair[0x81AD] == -1


def test_full_width_pad_and_other_cp932_fields_layouts():
    """A 全角空白 pad is stripped as the reference strips it; a field with allowed values stays with the
    reference decoder (same result either way)."""
    lay = fw.parse_layout({"id": "cp", "encoding": "cp932", "record_length": 30, "structure": "D*", "charset": "cp932",
                           "on_bad_record": "reject", "record_types": {"data": {"role": "D", "fields": [
                               {"name": "a", "label": "甲", "start": 1, "length": 10, "type": "text", "pad": "　"},
                               {"name": "b", "label": "乙", "start": 11, "length": 10, "type": "text", "blank": True},
                               {"name": "c", "label": "丙", "start": 21, "length": 10, "type": "text",
                                "values": ["東京", "大阪"]}]}}})
    recs = [("東京　　　".encode("cp932") + " 　".encode("cp932") + b"       " + "大阪".encode("cp932") + b" " * 6),
            ("　　　　　".encode("cp932") + b" " * 10 + "名古屋".encode("cp932") + b" " * 4),
            ("ｱ　　　 ".encode("cp932") + b" " * 2 + "\x81".encode("latin-1") + b" " * 9 + "東京".encode("cp932") + b" " * 6)]
    data = b"".join(r.ljust(30)[:30] for r in recs)
    assert native.cp932_fits(lay.data_type.field("a"), 3) and not native.cp932_fits(lay.data_type.field("c"), 3)
    assert_same(outcome(lay, data, "native"), outcome(lay, data, "reference"))
    assert fw.read(lay, data).frames["data"]["a"][0] == "東京"


# --- zoned decimals (the 住民税 file's 営業/農業/不動産所得): native.zoned_column against fields.decode_zoned

INCOME = fw.load_layout("resident_tax_income")
ZONED_BYTES = st.sampled_from(list(b"0123456789{ABCDEFGHI}JKLMNOPQR -+/:@Z\x00\x80\xff")) | st.integers(0, 255)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 18), st.booleans(), st.data())
def test_property_zoned_native_matches_reference_decoder(length, blank, data):
    n = data.draw(st.integers(1, 20))
    rows = [data.draw(st.one_of(st.lists(ZONED_BYTES, min_size=length, max_size=length).map(bytes),
                                st.just(b" " * length),
                                st.tuples(st.integers(0, 10 ** (length - 1) - 1 if length > 1 else 0),
                                          st.sampled_from(list(b"0123456789{ABCDEFGHI}JKLMNOPQR")))
                                .map(lambda t: (b"%0*d" % (length - 1, t[0]) if length > 1 else b"") + bytes([t[1]]))))
            for _ in range(n)]
    f = fw.layout.Field(name="z", label="符号付", start=3, length=length, type="zoned", blank=blank)
    block = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(n, length)
    text = np.full((n, length + 4), 0x20, dtype=np.uint8)
    text[:, 2:2 + length] = block
    s, fault = native.zoned_column(f, text)
    ref_s, ref_fault = fields.decode_zoned(f, block, False)
    assert s.dtype == ref_s.dtype and s.equals(ref_s) and s.name == ref_s.name
    assert fault.tolist() == ref_fault.tolist()


def income_record(i: int, business: bytes, farm: bytes, estate: bytes) -> bytes:
    rt = INCOME.record_type("data")
    rec = bytearray(b" " * INCOME.record_length)
    vals = {"record_kind": b"2", "municipality_code": b"111007", "person_id": b"%010d" % (7000000 + i),
            "fiscal_year": b"2026", "change_kind": b"1", "declaration_kind": b"1"}
    for f in rt.fields:
        if f.type == "numeric":
            vals[f.name] = b"%0*d" % (f.length, 1000 * i)
    vals.update(business_income=business, agricultural_income=farm, real_estate_income=estate)
    for k, v in vals.items():
        f = rt.field(k)
        rec[f.offset:f.offset + f.length] = v
    return bytes(rec) + b"\r\n"


def income_file(rows: list[tuple[bytes, bytes, bytes]], stated_business: int) -> bytes:
    def rec(rt_name, vals):
        rt = INCOME.record_type(rt_name)
        r = bytearray(b" " * INCOME.record_length)
        for k, v in vals.items():
            f = rt.field(k)
            r[f.offset:f.offset + len(v)] = v
        return bytes(r) + b"\r\n"
    n = len(rows)
    total = sum(1000 * i for i in range(n))
    head = rec("header", {"record_kind": b"1", "municipality_code": b"111007", "creation_date": b"20260601",
                          "fiscal_year": b"2026", "change_kind": b"1"})
    sign = b"}JKLMNOPQR"[abs(stated_business) % 10:][:1] if stated_business < 0 else b"%d" % (stated_business % 10)
    tail = rec("trailer", {"record_kind": b"8", "municipality_code": b"111007", "total_count": b"%09d" % n,
                           "undeclared_count": b"%09d" % 0, "total_income_total": b"%013d" % total,
                           "aggregate_income_total": b"%013d" % total, "salary_revenue_total": b"%013d" % total,
                           "pension_revenue_total": b"%013d" % total,
                           "business_income_total": b"%012d" % (abs(stated_business) // 10) + sign})
    return head + b"".join(income_record(i, *r) for i, r in enumerate(rows)) + tail


zoned11 = st.one_of(
    st.tuples(st.integers(0, 10 ** 10 - 1), st.sampled_from(list(b"0123456789}JKLMNOPQR")))
    .map(lambda t: b"%010d" % t[0] + bytes([t[1]])),
    st.lists(ZONED_BYTES, min_size=11, max_size=11).map(bytes), st.just(b" " * 11))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(zoned11, zoned11, zoned11), min_size=1, max_size=20), st.booleans(), st.booleans())
def test_property_income_file_native_matches_reference(rows, state_true_sum, many_threads):
    """The whole 住民税 file: frames, rejects, totals, and the trailer's 営業所得合計 (a refusal names the sum
    the records give, so a value read differently would show)."""
    stated = 0
    if state_true_sum:
        ref = fields.decode_zoned(INCOME.record_type("data").field("business_income"),
                                  np.frombuffer(b"".join(r[0] for r in rows), dtype=np.uint8).reshape(-1, 11), False)[0]
        stated = int(ref.fill_null(0).sum())
    data = income_file(rows, stated)
    with mock.patch.object(native, "MIN_ROWS_PER_THREAD", 3 if many_threads else native.MIN_ROWS_PER_THREAD), \
            mock.patch.dict(os.environ, {"KOKUHO_FW_THREADS": "4"}):
        got = outcome(INCOME, data, "native")
    assert_same(got, outcome(INCOME, data, "reference"))


def test_valid_income_file_reads_signed_zoned_amounts():
    rows = [(b"%010d" % 1234 + b"5", b"%010d" % 12 + b"J", b" " * 11), (b"%010d" % 0 + b"}", b"%010d" % 7 + b"0",
                                                                        b"%010d" % 3 + b"R")]
    data = income_file(rows, 12345)
    res = fw.read(INCOME, data)
    assert res.totals["rejected"] == 1  # 不動産所得 blank: not allowed (fault 1, as the reference says)
    got = fw.read(INCOME, income_file(rows[1:], 0)).frames["data"]
    assert got.select("business_income", "agricultural_income", "real_estate_income").row(0) == (0, 70, -39)
    assert_same(outcome(INCOME, data, "native"), outcome(INCOME, data, "reference"))


# --- read(columns=…): the text fields not wanted are checked but not built --------------------------
SKIPPED = {"name_kanji", "name_kana", "address_kanji"}


def outcome_columns(layout, data: bytes, columns, reference: bool = False):
    """``outcome`` of a read with ``columns``; its data frame must be the full read's without the
    text fields not named."""
    try:
        res = fw.read(layout, data, columns=columns, reference=reference)
    except fw.FileRefused as e:
        return ("refused", str(e), e.reason, e.record_no, e.field, e.byte_offset)
    return ("read", dict(res.frames), res.rejects, res.totals, res.warnings)


def _without_skipped(full):
    if full[0] != "read":
        return full
    frames = dict(full[1])
    frames["data"] = frames["data"].drop(sorted(SKIPPED))
    return (full[0], frames, *full[2:])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(field_bytes(NAME.length), field_bytes(ADDRESS.length)), min_size=1, max_size=20),
       st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(NASTY) | st.integers(0, 255)), max_size=4),
       st.booleans())
def test_property_read_columns_checks_every_field_and_leaves_out_the_unwanted_text(rows, mutations, many_threads):
    data = bytearray(qualification_file(rows))
    for pos, byte in mutations:
        data[pos % len(data)] = byte
    data = bytes(data)
    wanted = [f.name for f in DATA.fields if f.name not in SKIPPED]
    with mock.patch.object(native, "MIN_ROWS_PER_THREAD", 3 if many_threads else native.MIN_ROWS_PER_THREAD), \
            mock.patch.dict(os.environ, {"KOKUHO_FW_THREADS": "4"}):
        full = outcome(QUAL, data, "native")
        got = outcome_columns(QUAL, data, wanted)
    assert_same(got, _without_skipped(full))
    assert_same(outcome_columns(QUAL, data, wanted, reference=True), _without_skipped(full))
    if got[0] == "read":
        assert SKIPPED.isdisjoint(got[1]["data"].columns)
        # a named text field is built as before
        named = outcome_columns(QUAL, data, [*wanted, "name_kanji"])
        assert named[1]["data"]["name_kanji"].equals(full[1]["data"]["name_kanji"])
