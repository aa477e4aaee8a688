"""GS1-128 コンビニ barcode: published vectors, faults, and a build/parse round trip."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.common import gs1

# FORMATS.md §3.1: the two vectors (43 data digits → check digit 3), grouped as printed there.
VECTORS = [
    ("91 912345 0123456789012345678901 010331 0 123000", 3),
    ("91 942386 1789539178539356927301 030731 1 031290", 3),
]


@pytest.mark.parametrize("data, cd", VECTORS)
def test_check_digit_of_published_vectors(data, cd):
    assert gs1.check_digit("".join(data.split())) == cd


def test_parse_published_vector():
    b = gs1.parse("".join(VECTORS[0][0].split()) + "3")
    assert b == gs1.CvsBarcode(
        company_code="912345", free_field="012345678901234567890", reissue=1,
        due_date=dt.date(2001, 3, 31), stamp_flag=0, amount=123000,
    )
    second = gs1.parse("".join(VECTORS[1][0].split()) + "3")
    assert (second.stamp_flag, second.amount, second.due_date) == (1, 31290, dt.date(2003, 7, 31))


def test_build_reproduces_the_vector():
    b = gs1.CvsBarcode("942386", "178953917853935692730", dt.date(2003, 7, 31), 31290, reissue=1, stamp_flag=1)
    code = gs1.build(b)
    assert code == "".join(VECTORS[1][0].split()) + "3"
    assert len(code) == 44
    assert gs1.human_readable(code).split() == ["91", "942386", "178953917853935692730", "1", "030731", "1",
                                                "031290", "3"]


def test_no_due_date_and_short_free_field():
    code = gs1.build(gs1.CvsBarcode("912345", "12345", None, 5000))
    assert code[8:29] == "12345" + "0" * 16  # right-padded with zeros
    assert code[30:36] == "999999"
    assert gs1.parse(code).due_date is None


@pytest.mark.parametrize("code, fragment", [
    ("9191234501234567890123456789010103310123000", "44桁"),                    # 43 digits
    ("91912345012345678901234567890101033101230003X", "44桁"),                  # 45 chars
    ("9191234501234567890123456789010103310123A003", "数字以外"),
    ("9191234501234567890123456789010103310123000" + "4", "チェックデジット"),  # correct is 3
    ("8191234501234567890123456789010103310123000" + "0", "AI"),
])
def test_parse_faults(code, fragment):
    with pytest.raises(gs1.BarcodeError, match=fragment):
        gs1.parse(code)


def test_invalid_due_date():
    data = "91" + "912345" + "0" * 21 + "0" + "261332" + "0" + "001000"
    with pytest.raises(gs1.BarcodeError, match="支払期限日"):
        gs1.parse(data + str(gs1.check_digit(data)))


def test_amount_ceilings():
    # the configured CVS ceiling (config/common/cvs.yaml: 300,000)
    gs1.build(gs1.CvsBarcode("912345", "1", None, 300_000))
    with pytest.raises(gs1.BarcodeError, match="コンビニ収納の上限 300,000円"):
        gs1.build(gs1.CvsBarcode("912345", "1", None, 300_001))
    # the field's own limit
    with pytest.raises(gs1.BarcodeError, match="999,999"):
        gs1.build(gs1.CvsBarcode("912345", "1", None, 1_000_000), max_amount=999_999)
    with pytest.raises(gs1.BarcodeError, match="負"):
        gs1.build(gs1.CvsBarcode("912345", "1", None, -1))
    # parse applies the ceiling too: a 500,000 barcode is valid only without the CVS ceiling
    code = gs1.build(gs1.CvsBarcode("912345", "1", None, 500_000), max_amount=999_999)
    assert gs1.parse(code, max_amount=999_999).amount == 500_000
    with pytest.raises(gs1.BarcodeError, match="上限"):
        gs1.parse(code)


def test_ceiling_follows_config(monkeypatch):
    from jobs.common import config

    real = config.load()
    patched = config.Config(data=config.deep_merge(real.data, {"cvs": {"barcode": {"max_amount": 100_000}}}),
                            municipality=real.municipality)
    monkeypatch.setattr(config, "load", lambda *a, **k: patched)
    with pytest.raises(gs1.BarcodeError, match="100,000円"):
        gs1.build(gs1.CvsBarcode("912345", "1", None, 100_001))


@pytest.mark.parametrize("kwargs, fragment", [
    ({"company_code": "12345"}, "請求書発行企業コード"),
    ({"company_code": "91234A"}, "請求書発行企業コード"),
    ({"free_field": "1" * 22}, "自由使用欄"),
    ({"free_field": "12-4"}, "自由使用欄"),
    ({"reissue": 10}, "再発行区分"),
    ({"stamp_flag": 2}, "印紙フラグ"),
    ({"due_date": dt.date(1999, 12, 31)}, "支払期限日"),
])
def test_build_faults(kwargs, fragment):
    base = {"company_code": "912345", "free_field": "1", "due_date": None, "amount": 100}
    with pytest.raises(gs1.BarcodeError, match=fragment):
        gs1.build(gs1.CvsBarcode(**{**base, **kwargs}))


barcodes = st.builds(
    gs1.CvsBarcode,
    company_code=st.text("0123456789", min_size=6, max_size=6),
    free_field=st.text("0123456789", min_size=21, max_size=21),
    due_date=st.none() | st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
    amount=st.integers(min_value=0, max_value=300_000),
    reissue=st.integers(min_value=0, max_value=9),
    stamp_flag=st.sampled_from([0, 1]),
)


@given(barcodes)
def test_round_trip(b):
    code = gs1.build(b, max_amount=300_000)
    assert len(code) == 44 and code.isdigit() and code.startswith("91")
    assert gs1.parse(code, max_amount=300_000) == b


@given(barcodes, st.integers(min_value=0, max_value=42), st.integers(min_value=1, max_value=9))
def test_any_single_digit_change_is_detected(b, pos, delta):
    code = gs1.build(b, max_amount=300_000)
    changed = code[:pos] + str((int(code[pos]) + delta) % 10) + code[pos + 1:]
    with pytest.raises(gs1.BarcodeError):
        gs1.parse(changed, max_amount=999_999)
