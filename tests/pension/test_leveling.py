"""平準化 (jobs/pension/leveling.py): properties of next year's 仮徴収, TAX_RULES.md §7.

§7: 仮徴収 (4・6・8月) 継続 → 前年度2月の特別徴収額と同額; 本徴収 (10・12・2月) = (年税額 − 仮徴収額) ÷ 3;
平準化: ① = 前年度年税額 ÷ 6 (100円未満切捨); 6・8月 = (① × 3 − 4月額) ÷ 2 (100円未満切捨) [八代市; 日高市 8月のみ].
Units, divisor and months come from config/common/withholding.yaml (``withholding.provisional.leveling``),
varied here over what a municipality may configure.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.assessment import withholding as wh
from jobs.common import config
from jobs.pension import leveling

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def shipped():
    return wh.WithholdingRules.from_config(config.load("111007", 2026))


def _rules(base, *, on: bool, months: tuple[int, ...], unit: int, divisor: int) -> wh.WithholdingRules:
    return dataclasses.replace(base, leveling=on, leveling_months=months, leveling_unit=unit, leveling_divisor=divisor)


LEVEL_MONTHS = st.sampled_from([(6, 8), (8,), (6,)])          # 八代市 / 日高市 / (one month, any)
UNITS = st.sampled_from([1, 10, 100, 1000])
FEB = st.integers(-5_000, 400_000)                           # this February's amount (≤ 0: not withheld)
ANNUAL = st.one_of(st.none(), st.integers(0, 2_400_000))     # this year's annual tax (None: unknown)


@SETTINGS
@given(feb=FEB, annual=ANNUAL, months=LEVEL_MONTHS, unit=UNITS, on=st.booleans())
def test_from_february_amount(shipped, feb, annual, months, unit, on):
    """§7 継続: each 仮徴収 = the February amount; with 平準化 the months not leveled keep it; no
    February withholding → no 仮徴収 (not a 継続 household); never negative."""
    r = _rules(shipped, on=on, months=months, unit=unit, divisor=6)
    got = leveling.next_provisional(feb, annual, r)
    assert len(got) == len(r.provisional_months) and all(a >= 0 for a in got)
    if feb <= 0:
        assert got == (0,) * len(got)
        return
    for m, a in zip(r.provisional_months, got, strict=True):
        if not (on and annual is not None and m in months):
            assert a == feb
    assert leveling.leveling_changes(feb, annual, r) == {m: a for m, a in zip(r.provisional_months, got, strict=True)
                                                          if a != feb}


@SETTINGS
@given(feb=st.integers(1, 400_000), annual=st.integers(0, 2_400_000), months=LEVEL_MONTHS, unit=UNITS,
       divisor=st.sampled_from([6, 4]))
def test_leveled_months_floored_and_half_the_year(shipped, feb, annual, months, unit, divisor):
    """§7 平準化: each leveled month is a multiple of the configured unit and ≥ 0; the 仮徴収 then
    add up to ① × 3 (① = 年税額 ÷ 6 floored to the unit), less at most the flooring of the leveled
    months — the provisional half of the year's tax — unless the other months alone exceed it."""
    r = _rules(shipped, on=True, months=months, unit=unit, divisor=divisor)
    got = leveling.next_provisional(feb, annual, r)
    lev = [r.provisional_months.index(m) for m in months]
    for i in lev:
        assert got[i] >= 0 and got[i] % unit == 0
    one = annual // divisor // unit * unit
    n = len(r.provisional_months)
    target = one * n - feb * (n - len(lev))
    if target >= 0:
        assert 0 <= one * n - sum(got) < len(lev) * (unit + 1)
        assert sum(got) <= annual * n // divisor
    else:                                   # the February amount alone is more than ① × 3: nothing leveled
        assert all(got[i] == 0 for i in lev)


@SETTINGS
@given(feb=st.integers(1, 400_000), annual=st.integers(0, 2_400_000), months=LEVEL_MONTHS, unit=UNITS,
       on=st.booleans(), this_year=st.integers(0, 2_400_000))
def test_same_as_fk120_and_the_year_adds_up(shipped, feb, annual, months, unit, on, this_year):
    """The scalar form equals FK120's ``provisional_matrix`` for a 継続 household; with FK120's
    amounts the year's 仮徴収 + 本徴収 = the year's tax to the yen (TAX_RULES §7: 本徴収 = 年税額 − 仮徴収)."""
    r = _rules(shipped, on=on, months=months, unit=unit, divisor=6)
    got = leveling.next_provisional(feb, annual, r)
    j = pl.DataFrame({"household_id": ["H"], "prior_february_amount": [feb], "prior_annual_tax": [annual],
                      "prior_ltc_amount": [0], "provisional_start_month": [None], "status": [wh.CONTINUING],
                      "annual_tax": [this_year]},
                     schema_overrides={"provisional_start_month": pl.Int64, "prior_annual_tax": pl.Int64})
    assert tuple(int(x) for x in wh.provisional_matrix(j, r)[0]) == got
    row = wh._amounts(j, r).row(0, named=True)
    assert row["provisional_total"] + row["final_total"] == this_year
    assert row["final_total"] >= 0 and all(a >= 0 for a in row["provisional_amounts"])
    if sum(got) <= this_year:
        assert tuple(row["provisional_amounts"]) == got and row["provisional_reduced"] == 0


def test_worked_example_of_the_rule(shipped):
    """The §7 formula on round figures (八代市's rule, figures ours): 前年度年税額 120,050 → ① 20,000;
    2月 18,000 → 6・8月 (60,000 − 18,000) ÷ 2 = 21,000; 日高市 (8月のみ) → 60,000 − 18,000 − 18,000 = 24,000."""
    r = _rules(shipped, on=True, months=(6, 8), unit=100, divisor=6)
    assert leveling.next_provisional(18_000, 120_050, r) == (18_000, 21_000, 21_000)
    assert leveling.leveling_changes(18_000, 120_050, r) == {6: 21_000, 8: 21_000}
    assert leveling.next_provisional(18_000, 120_050, dataclasses.replace(r, leveling_months=(8,))) == (
        18_000, 18_000, 24_000)
    assert leveling.next_provisional(18_000, None, r) == (18_000,) * 3       # no annual tax known: no 平準化
    assert np.array_equal(leveling.next_provisional(0, 120_050, r), (0, 0, 0))
