"""The numpy ``late_fee_frame`` (issue 11 benchmark) against the per-installment reference
``late_fee``: hypothesis equivalence over many rows at once (shared 納期限 and payment days, so the
per-distinct-interval pieces are reused across rows), a scalar ``as_of``, same-day and
after-``as_of`` payments, config gaps, nulls and the period_unit / base rules of other configs."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.arrears.late_fee import LateFeeRules, late_fee, late_fee_frame
from jobs.common import config
from jobs.common.config import ConfigError

D = dt.date
SCHEMA_PAY = {"levy_year": pl.Int64, "notice_number": pl.String, "installment_no": pl.Int64,
              "paid_date": pl.Date, "amount": pl.Int64}


@pytest.fixture(scope="module")
def rules() -> LateFeeRules:
    return LateFeeRules.from_config(config.load("111007"))


def _frames(rows):
    inst = pl.DataFrame({
        "levy_year": [2025] * len(rows), "notice_number": [f"{i:011d}" for i in range(len(rows))],
        "installment_no": [1 + i % 3 for i in range(len(rows))], "base_amount": [r[0] for r in rows],
        "due_date": [r[1] for r in rows], "as_of": [r[2] for r in rows]},
        schema_overrides={"base_amount": pl.Int64, "due_date": pl.Date, "as_of": pl.Date})
    pay = pl.DataFrame([{"levy_year": 2025, "notice_number": f"{i:011d}", "installment_no": 1 + i % 3,
                         "paid_date": d, "amount": a} for i, r in enumerate(rows) for d, a in r[3]],
                       schema=SCHEMA_PAY)
    return inst, pay


few_dues = st.sampled_from([D(2021, 5, 31), D(2024, 1, 31), D(2024, 2, 29), D(2025, 7, 31), D(2025, 12, 25)])
days = st.dates(D(2021, 1, 1), D(2026, 12, 31))
pays = st.lists(st.tuples(days, st.integers(0, 300_000)), max_size=5)
row = st.tuples(st.integers(0, 3_000_000), st.one_of(few_dues, st.dates(D(2015, 1, 1), D(2026, 6, 30))),
                days, pays)


@settings(max_examples=120, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=60))
def test_numpy_frame_equals_reference(rules, rows):
    inst, pay = _frames(rows)
    assert late_fee_frame(inst, rules, payments=pay).to_list() == \
        [late_fee(r[0], r[1], r[3], r[2], rules) for r in rows]


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=40), as_of=st.dates(D(2025, 1, 1), D(2026, 12, 31)))
def test_scalar_as_of_equals_reference(rules, rows, as_of):
    inst, pay = _frames(rows)
    got = late_fee_frame(inst.drop("as_of"), rules, as_of=as_of, payments=pay).to_list()
    assert got == [late_fee(r[0], r[1], r[3], as_of, rules) for r in rows]


def test_same_day_and_late_payments(rules):
    """Two payments on one day act as one; a payment after as_of is ignored; one on as_of counts
    that day at the old base; one before the 納期限 lowers the base from the start."""
    due, end = D(2025, 7, 31), D(2026, 3, 31)
    cases = [(200_000, [(D(2025, 10, 1), 50_000), (D(2025, 10, 1), 30_000)]),
             (200_000, [(D(2026, 4, 1), 150_000)]),
             (200_000, [(end, 200_000)]),
             (200_000, [(D(2025, 7, 1), 120_000), (D(2025, 12, 1), 10_000)]),
             (5_000, [(D(2025, 9, 1), 4_000)]),           # below 2,000円 after the payment
             (90_000_000, [])]
    inst, pay = _frames([(a, due, end, p) for a, p in cases])
    got = late_fee_frame(inst, rules, payments=pay).to_list()
    assert got == [late_fee(a, due, p, end, rules) for a, p in cases]
    assert got[0] == late_fee(200_000, due, [(D(2025, 10, 1), 80_000)], end, rules)
    assert got[1] == late_fee(200_000, due, [], end, rules)
    assert got[5] > 0


def test_nulls_give_zero_and_empty(rules):
    inst = pl.DataFrame({"levy_year": [2025, 2025, 2025], "notice_number": ["1", "2", "3"],
                         "installment_no": [1, 1, 1], "base_amount": [None, 100_000, 100_000],
                         "due_date": [D(2025, 7, 31), None, D(2025, 7, 31)],
                         "as_of": [D(2026, 3, 1), D(2026, 3, 1), None]},
                        schema_overrides={"base_amount": pl.Int64, "due_date": pl.Date, "as_of": pl.Date})
    assert late_fee_frame(inst, rules).to_list() == [0, 0, 0]
    assert late_fee_frame(inst.head(0), rules).to_list() == []


def test_missing_rate_raises_in_frame(rules):
    inst, pay = _frames([(100_000, D(2026, 11, 30), D(2027, 3, 1), [])])
    with pytest.raises(ConfigError, match="late_fee.rates"):
        late_fee_frame(inst, rules, payments=pay)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=20), unit=st.sampled_from([0, 1, 10]),
       base_unit=st.sampled_from([1, 1000]), fee_unit=st.sampled_from([1, 100]))
def test_other_rule_settings_equal_reference(rules, rows, unit, base_unit, fee_unit):
    """period_unit (0: no per-period floor), base and fee units of another city's config."""
    r = dataclasses.replace(rules, period_unit=unit, base_unit=base_unit, fee_unit=fee_unit)
    inst, pay = _frames(rows)
    assert late_fee_frame(inst, r, payments=pay).to_list() == [late_fee(x[0], x[1], x[3], x[2], r) for x in rows]


def test_many_rows_one_call(rules):
    """10,000 rows over 8 納期限 and 3 statement dates, every 7th with two payments: equal row for row."""
    dues = [D(2025, 7, 31), D(2025, 9, 1), D(2025, 9, 30), D(2025, 10, 31), D(2025, 12, 1),
            D(2025, 12, 25), D(2026, 2, 2), D(2026, 3, 2)]
    ends = [D(2026, 3, 31), D(2026, 6, 30), D(2026, 12, 31)]
    rows = []
    for i in range(10_000):
        due = dues[i % 8]
        p = [(due + dt.timedelta(days=(i * 37) % 200 - 20), (i * 7919) % 60_000),
             (due + dt.timedelta(days=(i * 53) % 300), (i * 104_729) % 40_000)] if i % 7 == 0 else []
        rows.append((1_000 + (i * 7_777) % 500_000, due, ends[i % 3], p))
    inst, pay = _frames(rows)
    got = late_fee_frame(inst, rules, payments=pay).to_list()
    assert got == [late_fee(r[0], r[1], r[3], r[2], rules) for r in rows]
    assert sum(1 for g in got if g > 0) > 5_000
