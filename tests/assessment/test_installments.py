"""期割・納期限 (jobs/assessment/installments.py): the schedule from config, the 1,000円 split with
the remainder in the first 期 (地方税法20条の4の2⑥), mid-year households, component split.
Properties (hypothesis): the installments add up to the annual tax; every one but the first is a
multiple of the unit; the component parts add up both ways."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.assessment import installments as inst
from jobs.common import bizcal

D = dt.date


def test_schedule_from_config(cfg, schedule):
    months = cfg.get("installments.ordinary.months")
    assert schedule.months == tuple(months)
    assert [p.no for p in schedule.periods] == list(range(1, len(months) + 1))
    assert schedule.unit == cfg.get("installments.unit")
    cal = bizcal.BusinessCalendar.from_config(cfg)
    for p in schedule.periods:
        assert cal.is_business_day(p.due_date), p
        assert p.year == (2026 if p.month >= 4 else 2027) and p.due_date >= dt.date(p.year, p.month, 1)


def test_due_date_month_end_moves_to_next_business_day(schedule):
    cal = schedule.calendar
    # 2026-10-31 is a Saturday → Monday 2026-11-02; 2026-12-31 is in 年末年始 → 2027-01-04
    assert inst.due_date(2026, 10, "end", cal, "next_business_day") == D(2026, 11, 2)
    assert inst.due_date(2026, 12, "end", cal, "next_business_day") == D(2027, 1, 4)
    assert inst.due_date(2027, 2, 31, cal, "next_business_day") == D(2027, 3, 1)  # clamped to 2/28 (Sun)
    assert inst.due_date(2026, 8, 15, cal, "previous_business_day") == D(2026, 8, 14)
    assert inst.due_date(2026, 7, "end", cal, "none") == D(2026, 7, 31)


def test_split_remainder_in_first():
    assert inst.split_one(123_456, 9, 1000) == [19_456] + [13_000] * 8
    assert inst.split_one(5_000, 9, 1000) == [5_000] + [0] * 8  # below one unit per 期: all in the first
    assert inst.split_one(78_456, 3, 100) == [26_256, 26_100, 26_100]
    assert inst.split_one(0, 4, 1000) == [0, 0, 0, 0]
    with pytest.raises(inst.InstallmentError):
        inst.split_one(-1, 3, 100)


def test_ordinary_installments_shape(schedule):
    a = pl.DataFrame({"household_id": ["A", "B"], "annual_tax": [123_456, 90_000]})
    rows = inst.ordinary_installments(a, schedule)
    assert rows.schema == pl.Schema(inst.SCHEMA)
    assert rows.height == 2 * len(schedule.periods)
    assert rows.filter(pl.col("household_id") == "A")["amount"].to_list() == inst.split_one(123_456, 9, 1000)
    assert inst.check_totals(rows, a).height == 0


def test_midyear_household_pays_over_the_remaining_installments(schedule):
    a = pl.DataFrame({"household_id": ["A"], "annual_tax": [40_000]})
    rows = inst.ordinary_installments(a, schedule, as_of=D(2026, 11, 20))
    # due 11/30 is 10 days ahead (open); December's 期 (due 2027-01-04) onwards too
    assert rows["month"].to_list() == [11, 12, 1, 2, 3]
    assert rows["amount"].to_list() == [8_000] * 5
    late = inst.ordinary_installments(a, schedule, as_of=D(2027, 3, 25))
    assert late.height == 1 and late["installment_no"][0] == len(schedule.periods) + 1  # 随時期
    assert late["due_date"][0] == D(2027, 4, 30) and late["amount"][0] == 40_000


def test_allocate_components_sums_both_ways(schedule):
    a = pl.DataFrame({"household_id": ["A", "B"], "annual_tax": [123_456, 30_000],
                      "medical_amount": [80_000, 30_000], "elderly_support_amount": [33_456, 0],
                      "long_term_care_amount": [10_000, 0]})
    rows = inst.allocate_components(inst.ordinary_installments(a, schedule), a)
    cols = ["medical_amount", "elderly_support_amount", "long_term_care_amount"]
    assert (rows.select(pl.sum_horizontal(cols))["medical_amount"] == rows["amount"]).all()
    sums = rows.group_by("household_id").agg(pl.col(cols).sum()).sort("household_id")
    assert sums.select(cols).rows() == a.select(cols).rows()
    with pytest.raises(inst.InstallmentError):
        inst.allocate_components(rows.with_columns(pl.col("amount") + 1), a)


@settings(max_examples=150, deadline=None)
@given(total=st.integers(0, 10_000_000), n=st.integers(1, 13), unit=st.sampled_from([1, 100, 1000, 10_000]))
def test_property_split(total, n, unit):
    parts = inst.split_one(total, n, unit)
    assert sum(parts) == total and len(parts) == n
    assert all(p % unit == 0 and p >= 0 for p in parts[1:])
    assert parts[0] >= max(parts[1:], default=0)
    assert inst.split(np.array([total]), n, unit).tolist() == [parts]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 700_000), st.integers(0, 260_000), st.integers(0, 170_000),
                          st.integers(0, 30_000)), min_size=1, max_size=20),
       st.sampled_from([None, D(2026, 9, 1), D(2027, 1, 20), D(2027, 3, 30)]))
def test_property_installments_sum_to_annual_tax(schedule, comps, as_of):
    a = pl.DataFrame({
        "household_id": [f"{i:010d}" for i in range(len(comps))],
        "medical_amount": [c[0] for c in comps], "elderly_support_amount": [c[1] for c in comps],
        "long_term_care_amount": [c[2] for c in comps], "child_support_amount": [c[3] for c in comps],
    }).with_columns(pl.sum_horizontal(pl.col("^.*_amount$")).alias("annual_tax"))
    rows = inst.allocate_components(inst.ordinary_installments(a, schedule, as_of=as_of), a)
    assert inst.check_totals(rows, a).height == 0
    first = rows.group_by("household_id").agg(pl.col("installment_no").min().alias("first"))
    later = rows.join(first, on="household_id").filter(pl.col("installment_no") != pl.col("first"))
    assert (later["amount"] % schedule.unit == 0).all()
    cols = inst.component_columns(a)
    assert (rows.select(pl.sum_horizontal(cols)).to_series() == rows["amount"]).all()
    assert (rows.select(pl.min_horizontal(cols)).to_series() >= 0).all()
    got = rows.group_by("household_id").agg(pl.col(cols).sum()).sort("household_id").select(cols)
    assert got.rows() == a.select(cols).rows()
