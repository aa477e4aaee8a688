"""The engine's rules one by one (TAX_RULES.md §1–5, §9), on a test city with round figures.

Every test goes through ``assess_one``, which also requires the reference to give the same row.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from tax_helpers import assess_one, city, frame, household, per_capita_after

from jobs.assessment import engine

FY = 2025  # statutory: caps 66万/26万/17万, 5割 30.5万/人, 2割 56万/人
ROUND = {
    "medical": {"income_rate": "10%", "per_capita": 30000, "per_household": 20000},
    "elderly_support": {"income_rate": "3%", "per_capita": 10000},
    "long_term_care": {"income_rate": "2%", "per_capita": 12000},
}


def rates(**extra):
    return city(FY, ROUND, **extra)


def adult(**kw):
    return {"birth_date": dt.date(1985, 6, 15), **kw}


def test_income_levy_per_member_base_and_basic_deduction_taper():
    row = assess_one(household(
        adult(total_income=2_000_000),
        adult(total_income=300_000),                                   # below 43万: base 0
        adult(total_income=24_200_000, aggregate_income=24_200_000),   # 2,400万超: deduction 29万
        adult(total_income=26_000_000, aggregate_income=26_000_000),   # 2,500万超: no deduction
    ), rates())
    base = (2_000_000 - 430_000) + 0 + (24_200_000 - 290_000) + 26_000_000
    assert row["medical_income_levy"] == base // 10


def test_nominal_householder_not_charged_but_counted_for_reduction():
    # 擬制世帯主 with 200万 salary, one insured member without income: the tax has one 均等割 and no
    # 所得割, but the householder's income (and earner count) decides the 軽減 (none here)
    rows = household(
        adult(is_nominal_householder=True, is_insured=False, salary_revenue=2_900_000, salary_income=1_900_000,
              total_income=1_900_000),
        adult(),
    )
    row = assess_one(rows, rates())
    assert row["insured_count"] == 1
    assert row["medical_income_levy"] == 0
    assert row["medical_per_capita_levy"] == 30_000
    assert row["reduction_judgment_income"] == 1_900_000
    assert row["reduction_persons"] == 1  # the 擬制世帯主 is not a 被保険者
    assert row["reduction_class"] == 0
    assert row["taxpayer_person_id"] == "H1-1"


def test_specified_same_household_counts_in_the_judgment_and_halves_the_per_household_levy():
    # spouse moved to 後期高齢者医療 at 75 in 2023: 特定同一世帯所属者; the household has one insured
    rows = household(
        {"birth_date": dt.date(1955, 1, 10), "pension_revenue": 1_000_000, "pension_income": 0},
        {"birth_date": dt.date(1948, 3, 20), "is_specified_same_household": True, "is_insured": False,
         "acquired_date": dt.date(2010, 4, 1), "lost_date": dt.date(2023, 3, 20),
         "pension_revenue": 1_500_000, "pension_income": 400_000, "total_income": 400_000},
    )
    row = assess_one(rows, rates())
    # judgment: 40万 − 15万 = 25万 ≤ 43万 → 7割; persons = 1 insured + 1 特定同一
    assert row["reduction_persons"] == 2
    assert row["reduction_judgment_income"] == 250_000
    assert row["reduction_class"] == 7
    assert row["specified_household"] == 1  # 2023-03 → 2025-04: within 5 years
    assert row["medical_per_household_levy"] == 20_000
    assert row["medical_specified_household_reduction"] == 6_000 // 2  # (20,000 × 0.3) × 1/2
    assert row["elderly_support_specified_household_reduction"] == 0  # no 平等割 in 支援分


def test_specified_household_stages_five_then_three_years_then_none():
    def stage(moved: dt.date):
        rows = household(
            {"birth_date": dt.date(1955, 1, 10), "total_income": 3_000_000},
            {"birth_date": dt.date(1940, 1, 1), "is_specified_same_household": True, "is_insured": False,
             "acquired_date": dt.date(2000, 4, 1), "lost_date": moved},
        )
        row = assess_one(rows, rates())
        return row["specified_household"], row["medical_specified_household_reduction"]

    assert stage(dt.date(2020, 5, 1)) == (1, 10_000)   # 59 months before 2025-04
    assert stage(dt.date(2020, 4, 1)) == (2, 5_000)    # 60 months: 特定継続世帯 (1/4)
    assert stage(dt.date(2017, 5, 1)) == (2, 5_000)    # 95 months
    assert stage(dt.date(2017, 4, 1)) == (0, 0)        # 96 months: over


def test_undeclared_member_blocks_the_reduction_and_a_missing_record_of_a_newborn_does_not():
    low = adult(total_income=0)
    assert assess_one(household(low, adult(declared=False)), rates())["reduction_class"] == 0
    assert assess_one(household(low, adult(declared=False)), rates())["undeclared"] is True
    baby = {"birth_date": dt.date(2025, 2, 1), "has_income_record": False, "declared": True}
    assert assess_one(household(low, baby), rates())["reduction_class"] == 7


def test_pension_special_deduction_only_from_65_at_the_end_of_the_income_year():
    def judged(birth):
        return assess_one(household({"birth_date": birth, "pension_revenue": 1_500_000, "pension_income": 500_000,
                                     "total_income": 500_000}), rates())["reduction_judgment_income"]

    assert judged(dt.date(1960, 1, 1)) == 350_000   # 65 on 2024-12-31 (reached the day before the birthday)
    assert judged(dt.date(1960, 1, 2)) == 500_000   # 65 only in 2025


def test_family_employee_salary_counts_for_the_owner_not_the_employee():
    # owner's 事業所得 after deducting 100万 paid to the spouse; the spouse's 給与所得 45万 from it
    rows = household(
        adult(total_income=200_000, family_employee_deduction=1_000_000),
        adult(salary_revenue=1_000_000, salary_income=450_000, total_income=450_000, family_employee_salary=1_000_000),
    )
    row = assess_one(rows, rates())
    assert row["reduction_judgment_income"] == 1_200_000
    assert row["reduction_earners"] == 0  # 専従者給与 is not 給与 for 給与所得者等
    # the 所得割 is not affected: each person's own 総所得金額等
    assert row["medical_income_levy"] == (0 + 20_000) // 10


def test_earners_raise_the_thresholds():
    two = household(adult(salary_revenue=600_000, salary_income=50_000, total_income=260_000),
                    adult(salary_revenue=600_000, salary_income=50_000, total_income=260_000))
    # S = 52万: 7割 needs ≤ 43万 + 10万 × (2 − 1) = 53万
    row = assess_one(two, rates())
    assert row["reduction_earners"] == 2 and row["reduction_class"] == 7


def test_involuntary_unemployment_salary_at_30_percent_for_levy_and_judgment():
    rows = household(adult(
        salary_revenue=4_000_000, salary_income=2_760_000, total_income=2_760_000,
        acquired_date=dt.date(2025, 4, 1), separation_date=dt.date(2025, 3, 31), separation_reason_code="11"))
    row = assess_one(rows, rates())
    reduced = 2_760_000 * 3 // 10
    assert row["reduction_judgment_income"] == reduced
    assert row["medical_income_levy"] == (reduced - 430_000) // 10
    # an ineligible code (自己都合 40) keeps the full salary
    rows[0]["separation_reason_code"] = "40"
    assert assess_one(rows, rates())["medical_income_levy"] == (2_760_000 - 430_000) // 10


def test_involuntary_unemployment_from_the_month_after_separation():
    # separated 2025-09-30, insured all year: 6 months full base, 6 months at 30%
    rows = household(adult(salary_revenue=4_000_000, salary_income=2_760_000, total_income=2_760_000,
                           separation_date=dt.date(2025, 9, 30), separation_reason_code="23"))
    row = assess_one(rows, rates())
    full, cut = 2_760_000 - 430_000, 2_760_000 * 3 // 10 - 430_000
    assert row["medical_income_levy"] == (full * 6 + cut * 6) // 10 // 12
    assert row["reduction_judgment_income"] == 2_760_000  # judged on 4/1, before the separation


def test_long_term_care_months_between_40_and_65():
    def ltc(birth):
        return assess_one(household({"birth_date": birth, "total_income": 1_430_000}), rates())

    # reaches 40 on 2025-07-31 (born 1985-08-01): 介護分 from July → 9 months
    row = ltc(dt.date(1985, 8, 1))
    assert row["long_term_care_months"] == 9
    assert row["long_term_care_proration"] == (20_000 + 12_000) * 9 // 12 - 32_000
    # born on the 1st: 40 reached the month before (長久手市: 5/1生 → 4月から12か月)
    assert ltc(dt.date(1985, 5, 1))["long_term_care_months"] == 12
    assert ltc(dt.date(1985, 5, 2))["long_term_care_months"] == 11
    # reaches 65 on 2025-10-14: 介護分 April–September (the month before) → 6 months
    assert ltc(dt.date(1960, 10, 15))["long_term_care_months"] == 6
    assert ltc(dt.date(1990, 1, 1))["long_term_care_months"] == 0


def test_long_term_care_exempt_from_the_month_of_the_start_date():
    member = {"birth_date": dt.date(1980, 6, 15), "total_income": 1_000_000, "ltc_exempt": True,
              "ltc_exempt_start": dt.date(2025, 10, 20)}
    row = assess_one(household(member), rates())
    assert row["long_term_care_months"] == 6  # April–September


def test_monthly_proration_of_a_household_joining_in_the_year():
    rows = household(adult(total_income=1_430_000, acquired_date=dt.date(2025, 10, 16)))
    row = assess_one(rows, rates())
    assert row["medical_months"] == 6
    annual = 100_000 + 30_000 + 20_000
    assert row["medical_calculated"] == annual
    assert row["medical_proration"] == -annual // 2
    assert row["medical_amount"] == 75_000
    assert row["reduction_judgment_date"] == dt.date(2025, 10, 16)


def test_loss_at_75_ends_the_month_before_the_birthday_month():
    rows = household({"birth_date": dt.date(1950, 8, 20), "lost_date": dt.date(2025, 8, 20), "total_income": 0})
    row = assess_one(rows, rates())
    assert row["medical_months"] == 4  # April–July


def test_member_joining_later_weighs_by_months():
    rows = household(adult(), adult(acquired_date=dt.date(2026, 1, 5)))  # second from January: 3 months
    row = assess_one(rows, rates())
    assert row["medical_months"] == 12
    assert row["medical_per_capita_levy"] == 30_000 + 30_000 * 3 // 12
    assert row["reduction_persons"] == 1  # judged on 4/1


def test_cap_then_prorate_and_prorate_then_cap():
    rows = household(adult(total_income=10_000_000, acquired_date=dt.date(2025, 10, 1)))
    default = assess_one(rows, rates())
    assert default["medical_over_cap"] == 957_000 + 50_000 - 660_000
    assert default["medical_amount"] == 330_000  # the cap prorated (6/12)
    switched = assess_one(rows, rates(order={"cap_and_proration": "prorate_then_cap"}))
    assert switched["medical_over_cap"] == 0
    assert switched["medical_amount"] == (957_000 + 50_000) // 2 // 100 * 100


def test_cap_then_reduce_switch():
    # 5 members, 300万 in all: under the 2割 line (43万 + 56万 × 5); the reduction off the capped gross
    members = [adult(total_income=600_000)] * 5
    low = household(*members)
    base = city(FY, {"medical": {"income_rate": "10%", "per_capita": 150_000, "per_household": 20_000, "cap": 500_000}})
    a = assess_one(low, base)
    assert a["reduction_class"] == 2
    gross = a["medical_income_levy"] + a["medical_per_capita_levy"] + a["medical_per_household_levy"]
    assert a["medical_over_cap"] == a["medical_calculated"] - 500_000
    b = assess_one(low, city(FY, {"medical": {"income_rate": "10%", "per_capita": 150_000, "per_household": 20_000,
                                              "cap": 500_000}}, order={"reductions_and_cap": "cap_then_reduce"}))
    reductions = gross - b["medical_calculated"]
    assert b["medical_amount"] == (500_000 - reductions) // 100 * 100


def test_every_component_floored_to_100():
    row = assess_one(household(adult(total_income=1_234_567)), rates())
    for c in ("medical", "elderly_support", "long_term_care"):
        assert row[f"{c}_amount"] % 100 == 0
        assert 0 <= row[f"{c}_rounding"] < 100


def test_perinatal_single_birth_four_months():
    # due 2025-08-10: July–October (前月から4か月): her 所得割 and 均等割 × 4/12
    rows = household(adult(total_income=2_430_000, expected_birth_date=dt.date(2025, 8, 10)))
    row = assess_one(rows, rates())
    # calculated = the exact amount floored once; the reduction column is the difference
    assert row["medical_calculated"] == (250_000 * 12 - 230_000 * 4) // 12
    assert row["medical_perinatal_reduction"] == 250_000 - row["medical_calculated"]
    # 介護分 from June (40 reached on 2025-06-14): 10 months, 4 of them in the period
    assert row["long_term_care_months"] == 10
    assert row["long_term_care_calculated"] == (52_000 * 10 - 52_000 * 4) // 10
    assert row["medical_per_household_levy"] == 20_000  # 平等割 untouched


def test_perinatal_multiple_birth_six_months_clipped_to_the_year():
    rows = household(adult(total_income=430_000, expected_birth_date=dt.date(2025, 5, 1), multiple_birth=True))
    row = assess_one(rows, rates())
    # February–July 2025 (3 months before + 6): April–July in the year = 4 months of 均等割 (after 7割)
    assert row["reduction_class"] == 7
    assert row["medical_perinatal_reduction"] == 9_000 * 4 // 12


def test_former_dependent_income_exempt_and_per_capita_half_two_years():
    fd = {"birth_date": dt.date(1955, 5, 5), "is_former_dependent": True, "acquired_date": dt.date(2023, 10, 1),
          "pension_revenue": 2_500_000, "pension_income": 1_400_000, "total_income": 1_400_000}
    nominal = {"birth_date": dt.date(1949, 3, 3), "is_nominal_householder": True, "is_insured": False,
               "pension_revenue": 3_000_000, "pension_income": 1_900_000, "total_income": 1_900_000}
    row = assess_one(household(nominal, fd), rates())
    assert row["reduction_class"] == 0
    assert row["medical_former_dependent_reduction"] == (
        (1_400_000 - 430_000) // 10          # 所得割 免除
        + 30_000 * 6 // 12 // 2              # 均等割 1/2 for April–September 2025 (2 years from 2023-10)
        + 20_000 * 6 // 12 // 2)             # 平等割 1/2 (only 旧被扶養者 insured), same months
    assert row["medical_income_levy"] == (1_400_000 - 430_000) // 10


def test_former_dependent_half_is_not_added_to_a_5wari_reduction():
    fd = {"birth_date": dt.date(1955, 5, 5), "is_former_dependent": True, "acquired_date": dt.date(2025, 4, 1)}
    row = assess_one(household({"birth_date": dt.date(1948, 1, 1), "is_nominal_householder": True,
                                "is_insured": False, "total_income": 600_000}, fd), rates())
    assert row["reduction_class"] == 5
    assert row["medical_former_dependent_reduction"] == 0
    row2 = assess_one(household({"birth_date": dt.date(1948, 1, 1), "is_nominal_householder": True,
                                 "is_insured": False, "total_income": 900_000}, fd), rates())
    assert row2["reduction_class"] == 2
    # 2割 + the rest up to 1/2: 0.3 × 均等割 and 平等割
    assert row2["medical_former_dependent_reduction"] == 9_000 + 6_000


def test_child_support_only_from_fy2026_and_minors_exempt():
    r25 = city(2025, ROUND)
    assert assess_one(household(adult(total_income=3_000_000)), r25)["child_support_amount"] == 0
    r26 = city(2026, {"child_support": {"income_rate": "0.5%", "per_capita": 2000, "adult_per_capita": 300}})
    row = assess_one(household(adult(total_income=3_000_000), {"birth_date": dt.date(2008, 4, 2)}), r26)
    assert row["child_support_per_capita_levy"] == 2_300 + 2_000  # born 2008-04-02: still a minor in FY2026
    assert row["child_support_minor_reduction"] == 2_000
    row = assess_one(household(adult(total_income=3_000_000), {"birth_date": dt.date(2008, 4, 1)}), r26)
    assert row["child_support_minor_reduction"] == 0


def test_exemption_by_rate_amount_and_all():
    rows = household(adult(total_income=1_430_000))
    plain = assess_one(rows, rates())
    y = {c: plain[f"{c}_amount"] + plain[f"{c}_rounding"] for c in ("medical", "elderly_support", "long_term_care")}
    ex = [{"household_id": "H1", "component": "medical", "rate": 0.5, "amount": None},
          {"household_id": "H1", "component": "all", "rate": None, "amount": 100_000}]
    row = assess_one(rows, rates(), ex)
    assert row["medical_exemption"] == y["medical"]  # half by rate, the rest from the "all" amount
    left = 100_000 - (y["medical"] - y["medical"] // 2)
    assert row["elderly_support_exemption"] == min(left, y["elderly_support"])
    assert row["annual_tax"] == sum(row[f"{c}_amount"] for c in y)


def test_exemptions_with_an_unknown_component_are_refused():
    with pytest.raises(ValueError, match="未知の区分"):
        engine.assess(frame(household(adult())), rates(),
                      exemptions=pl.DataFrame({"household_id": ["H1"], "component": ["dental"], "rate": [0.1]}))


def test_household_without_insured_months_is_zero():
    row = assess_one(household(adult(lost_date=dt.date(2025, 4, 1), total_income=5_000_000)), rates())
    assert row["annual_tax"] == 0 and row["medical_months"] == 0 and row["insured_count"] == 0


def test_breakdown_columns_add_up():
    row = assess_one(household(adult(total_income=900_000), {"birth_date": dt.date(2021, 1, 1)},
                               adult(total_income=0, expected_birth_date=dt.date(2025, 12, 1))), rates())
    for c in ("medical", "elderly_support", "long_term_care"):
        p = f"{c}_"
        gross = sum(row[p + k] for k in ("income_levy", "asset_levy", "per_capita_levy", "per_household_levy"))
        reductions = sum(row[p + k] for k in ("minor_reduction", "reduction", "preschool_reduction",
                                               "specified_household_reduction", "former_dependent_reduction",
                                               "perinatal_reduction"))
        assert row[p + "calculated"] == gross - reductions
        assert row[p + "amount"] == (row[p + "calculated"] - row[p + "over_cap"] + row[p + "proration"]
                                     - row[p + "exemption"] - row[p + "rounding"])


def test_output_schema_is_the_readme_contract():
    out = engine.assess(frame(household(adult())), rates())
    assert out.columns == engine.output_columns()
    assert out.schema["annual_tax"] == pl.Int64 and out.schema["medical_amount"] == pl.Int64
    assert out.schema["reduction_judgment_date"] == pl.Date


def test_per_capita_after_helper_matches_amount_for_a_2hoshiki_household():
    row = assess_one(household(adult()), city(FY, {"medical": {"per_capita": 35_000}}))
    assert per_capita_after(row, "medical") == row["medical_amount"] == 10_500
