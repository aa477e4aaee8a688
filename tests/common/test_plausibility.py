"""jobs/common/plausibility.py: the rules of config/common/plausibility.yaml applied to a read file."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from jobs.common import bizcal, config, plausibility
from jobs.common import fixedwidth as fw
from jobs.common.config import deep_merge

BD = dt.date(2026, 6, 29)
COUNTER = fw.load_layout("counter_payment")


def limits(override: dict | None = None) -> plausibility.Limits:
    cfg = config.load("111007")
    if override:
        cfg = replace(cfg, data=deep_merge(cfg.data, override))
    return plausibility.Limits.of(cfg, BD, bizcal.BusinessCalendar.from_config(cfg))


def counter_file(amounts: list[int], paid: dt.date = dt.date(2026, 6, 1)) -> bytes:
    import polars as pl

    n = len(amounts)
    data = pl.DataFrame({
        "record_kind": ["2"] * n, "municipality_code": ["111007"] * n, "levy_year": ["2026"] * n,
        "target_year": ["2026"] * n, "notice_number": [f"{10000000000 + i:011d}" for i in range(n)],
        "installment_no": [1] * n, "amount": amounts, "late_fee": [0] * n, "dunning_fee": [0] * n,
        "paid_date": [paid] * n, "received_date": [paid] * n, "bank_code": ["0001"] * n,
        "branch_code": ["001"] * n, "payment_kind": ["01"] * n, "slip_serial": [f"{i:010d}" for i in range(n)]})
    head = pl.DataFrame({"record_kind": ["1"], "municipality_code": ["111007"], "creation_date": [BD],
                         "bank_code": ["0001"]})
    trailer = pl.DataFrame({"record_kind": ["8"], "total_count": [0], "amount_total": [0], "late_fee_total": [0],
                            "dunning_fee_total": [0]})
    return fw.write(COUNTER, {"header": head, "data": data, "trailer": trailer})


def test_config_rules_and_the_city():
    lim = limits()
    assert lim.rules["counter_amount"]["max"] == 10_000_000 and lim.rules["counter_amount"]["min"] == 1
    assert (lim.code6, lim.code5) == ("111007", "11100") and "1110070001" in lim.consignors
    assert lim.business_fy == 2026 and lim.fy_first_day(2026) == dt.date(2026, 4, 1)


def test_a_record_above_the_limit_is_moved_to_the_rejects():
    data = counter_file([10_000, 10_000_001, 20_000])
    res = plausibility.apply(COUNTER, fw.read(COUNTER, data, source="C.dat"), limits(), data)
    assert res.frames["data"]["amount"].to_list() == [10_000, 20_000]
    rej = res.rejects.row(0, named=True)
    assert (rej["record_no"], rej["field"], rej["record_type"]) == (3, "amount", "data")
    assert "10,000,000円" in rej["reason"] and "plausibility.rules.counter_amount.max" in rej["reason"]
    assert rej["raw"] == data[2 * 122:2 * 122 + 120] and rej["byte_offset"] == 2 * 122
    assert res.totals["read"] == res.totals["accepted"] + res.totals["rejected"]


def test_the_limit_is_overridable_per_municipality():
    data = counter_file([10_000, 50_000])
    lower = limits({"plausibility": {"rules": {"counter_amount": {"max": 20_000}}}})
    res = plausibility.apply(COUNTER, fw.read(COUNTER, data, source="C.dat"), lower, data)
    assert res.rejects["record_no"].to_list() == [3] and "20,000円" in res.rejects["reason"][0]


def test_every_record_implausible_refuses_the_file():
    data = counter_file([0, 0])
    with pytest.raises(plausibility.Implausible, match="every data record is implausible"):
        plausibility.apply(COUNTER, fw.read(COUNTER, data, source="C.dat"), limits(), data)


def test_unknown_rule_kind_is_a_config_error():
    with pytest.raises(ValueError, match="unknown kind"):
        limits({"plausibility": {"rules": {"counter_amount": {"kind": "nope"}}}})



def test_not_for_exempts_the_named_records():
    """A rule's ``not_for`` (field → values) leaves those records alone: here 窓口 payment kind 02
    may be 0円 while kind 01 may not (the CVS 22 郵便振替訂正 to 0円 is the real use)."""
    import polars as pl

    data = counter_file([0, 0, 5_000])
    res = fw.read(COUNTER, data, source="C.dat")
    res.frames["data"] = res.frames["data"].with_columns(pl.Series("payment_kind", ["02", "01", "01"]))
    lim = limits({"plausibility": {"rules": {"counter_amount": {"not_for": {"payment_kind": ["02"]}}}}})
    out = plausibility.apply(COUNTER, res, lim, data)
    assert out.rejects["record_no"].to_list() == [3]
    assert out.frames["data"]["amount"].to_list() == [0, 5_000]
    assert limits().rules["cvs_amount"]["not_for"] == {"data_kind": ["22"]}
