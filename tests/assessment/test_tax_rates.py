"""rates.py and the shipped configuration (config/common/tax/, config/municipalities/111007/fy*/tax.yaml)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from jobs.assessment.rates import RatesError, TaxRates, as_fraction


@pytest.mark.parametrize("fy,caps", [
    (2024, {"medical": 650_000, "elderly_support": 240_000, "long_term_care": 170_000}),
    (2025, {"medical": 660_000, "elderly_support": 260_000, "long_term_care": 170_000}),
    (2026, {"medical": 670_000, "elderly_support": 260_000, "long_term_care": 170_000, "child_support": 30_000}),
])
def test_statutory_caps_per_year(fy, caps):
    r = TaxRates.load("111007", fy)
    assert {c.name: c.cap for c in r.components} == caps


@pytest.mark.parametrize("fy,five,two", [(2024, 295_000, 545_000), (2025, 305_000, 560_000),
                                         (2026, 305_000, 560_000)])
def test_reduction_thresholds_per_year(fy, five, two):
    red = TaxRates.load("111007", fy).reduction
    assert red.base == 430_000 and red.per_earner == 100_000
    assert [(k.code, k.rate, k.per_person) for k in red.classes] == [
        (7, Fraction(7, 10), 0), (5, Fraction(1, 2), five), (2, Fraction(1, 5), two)]


def test_fy2026_carried_over_thresholds_are_flagged_unverified():
    r = TaxRates.load("111007", 2026)
    assert any("5割/2割" in u and "NOT FOUND" in u for u in r.unverified)
    assert any("朝霞市" in u for u in r.unverified)
    assert all(u for u in r.unverified)


def test_saitama_is_2hoshiki_and_adds_child_support_in_2026():
    for fy in (2024, 2025, 2026):
        r = TaxRates.load("111007", fy)
        assert r.label == "さいたま市"
        assert all(c.levies == ("income", "per_capita") for c in r.components)
    cs = TaxRates.load("111007", 2026).component("child_support")
    assert (cs.per_capita, cs.adult_per_capita, cs.minor_exempt_age) == (1800, 100, 18)
    assert TaxRates.load("111007", 2025).component("child_support") is None


def test_age_cutoffs_and_the_judgment_age():
    r = TaxRates.load("111007", 2025)
    # 新座市: "令和7年度分は、平成31年4月2日以降に生まれた被保険者が対象" (未就学児)
    assert r.age_cutoff(6) == dt.date(2019, 4, 2)
    assert r.pension_age_born_by() == dt.date(1960, 1, 1)
    assert r.fy_start == dt.date(2025, 4, 1) and r.fy_end == dt.date(2026, 3, 31)


def test_rates_are_exact_fractions():
    assert as_fraction("7.13%", "x") == Fraction(713, 10000)
    assert as_fraction(0.0713, "x") == Fraction(713, 10000)
    assert as_fraction(1, "x") == 1
    with pytest.raises(RatesError):
        as_fraction("abc", "x")


def test_four_hoshiki_city_and_overrides():
    r = TaxRates.from_overrides({"components": {
        "medical": {"income_rate": 0.0905, "asset_rate": "23.2%", "per_capita": 24500, "per_household": 22000}}},
        2024)
    assert r.component("medical").levies == ("income", "asset", "per_capita", "per_household")
    assert r.component("medical").cap == 650_000  # statutory, not overridden
    assert r.denominator("medical") % 2000 == 0


def test_bad_configuration_is_refused_with_the_key():
    with pytest.raises(RatesError, match="未知の区分"):
        TaxRates.from_overrides({"components": {"dental": {"per_capita": 1}}}, 2025)
    with pytest.raises(RatesError, match="cap_and_proration"):
        TaxRates.from_overrides({"order": {"cap_and_proration": "sometimes"}}, 2025)
    with pytest.raises(RatesError, match="fy2019"):
        TaxRates.from_overrides({}, 2019)
