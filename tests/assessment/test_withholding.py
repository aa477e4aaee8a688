"""特別徴収 (jobs/assessment/withholding.py): 判定 (TAX_RULES.md §7, FORMATS.md §2.7), 仮徴収 /
本徴収 amounts, 平準化, the mid-year start (7/8/9月 普通徴収 then 10/12/2月 特別徴収), and
properties: the installments add up to the annual tax and the 本徴収 remainder lands in October."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.assessment import installments as inst
from jobs.assessment import withholding as wh

D = dt.date
JD = D(2026, 7, 1)     # judgment date (当初賦課)
FY_END = D(2027, 3, 31)


@pytest.fixture(scope="module")
def rules(cfg):
    return wh.WithholdingRules.from_config(cfg)


def household(hid, annual, births, *, pension=1_200_000, ltc=60_000, head_insured=True, nominal=False,
              prior_feb=None, prior_annual=None, prior_ltc=None, start=None):
    """One household's frames: assessment row, members, pension row (None = no pension), prior row."""
    a = {"fy": 2026, "household_id": hid, "taxpayer_person_id": f"{hid}-0", "annual_tax": annual}
    m = [{"household_id": hid, "person_id": f"{hid}-{i}", "is_householder": i == 0,
          "is_insured": (head_insured if i == 0 else True), "is_nominal_householder": nominal and i == 0,
          "birth_date": b} for i, b in enumerate(births)]
    p = None if pension is None else {"person_id": f"{hid}-0", "pension_annual": pension, "ltc_premium_annual": ltc,
                                      "payer_code": "001"}
    pr = {"household_id": hid, "prior_february_amount": prior_feb, "prior_annual_tax": prior_annual,
          "prior_ltc_amount": prior_ltc, "provisional_start_month": start}
    return a, m, p, pr


def frames(*hs):
    a = pl.DataFrame([h[0] for h in hs])
    m = pl.DataFrame([x for h in hs for x in h[1]])
    p = pl.DataFrame([h[2] for h in hs if h[2] is not None],
                     schema={"person_id": pl.String, "pension_annual": pl.Int64, "ltc_premium_annual": pl.Int64,
                             "payer_code": pl.String})
    pr = pl.DataFrame([h[3] for h in hs], schema={"household_id": pl.String, "prior_february_amount": pl.Int64,
                                                  "prior_annual_tax": pl.Int64, "prior_ltc_amount": pl.Int64,
                                                  "provisional_start_month": pl.Int32})
    return a, m, p, pr


def judge(rules, *hs):
    a, m, p, pr = frames(*hs)
    return wh.judge(a, m, p, rules, judgment_date=JD, fy_end=FY_END, prior=pr)


def one(judged, hid):
    return judged.filter(pl.col("household_id") == hid).row(0, named=True)


def test_rules_from_config(cfg, rules):
    assert rules.pension_min_annual == cfg.get("withholding.eligibility.pension_min_annual")
    assert rules.provisional_months + rules.final_months == tuple(rules.pension_months)
    assert rules.installment_no(10) == 4  # 特徴期別 4 = October (REAMS 特徴期別金額04)


def test_age_reached_the_day_before_the_birthday():
    assert wh.reaches_age_by(D(1961, 7, 2), 65, D(2026, 7, 1))
    assert not wh.reaches_age_by(D(1961, 7, 3), 65, D(2026, 7, 1))
    assert wh.reaches_age_by(D(1952, 4, 1), 75, D(2027, 3, 31))   # reaches 75 on 3/31: in the year
    assert not wh.reaches_age_by(D(1952, 4, 2), 75, D(2027, 3, 31))
    assert not wh.reaches_age_by(D(1960, 2, 29), 66, D(2026, 2, 27))  # 2/29 → reached on 2/28 in a common year
    assert wh.reaches_age_by(D(1960, 2, 29), 66, D(2026, 2, 28))


def test_eligibility_reasons(rules):
    ok = [D(1956, 5, 1)]
    j = judge(
        rules,
        household("A", 100_000, ok),                                         # eligible
        household("B", 100_000, ok, pension=None),                           # no pension record
        household("C", 100_000, ok, head_insured=False, nominal=True),       # 擬制世帯主
        household("D", 100_000, [D(1956, 5, 1), D(1970, 1, 1)]),            # a member under 65
        household("E", 100_000, [D(1952, 1, 10)]),                           # reaches 75 in the year
        household("F", 100_000, ok, pension=179_999),                        # below 18万円
        household("G", 100_000, ok, ltc=None),                               # 介護保険料 unknown
        household("H", 560_001, ok, pension=1_200_000, ltc=40_000),          # 1/2 rule: 600,001 > 600,000
        household("I", 560_000, ok, pension=1_200_000, ltc=40_000),          # exactly half: allowed
        household("J", 0, ok),                                               # nothing to withhold
    )
    reasons = dict(zip(j["household_id"], j["reason"], strict=True))
    assert reasons == {"A": None, "B": "no_pension", "C": "nominal_householder", "D": "member_age",
                       "E": "member_age", "F": "pension_below_min", "G": "ltc_premium_unknown",
                       "H": "over_half", "I": None, "J": "no_tax"}
    assert j.filter(pl.col("eligible"))["household_id"].to_list() == ["A", "I"]
    assert (j.filter(~pl.col("eligible"))["reason_label"].is_not_null()).all()


def test_missing_ltc_premium_can_be_ignored(rules):
    r = dataclasses.replace(rules, ltc_premium_missing="ignore")
    j = judge(r, household("G", 100_000, [D(1956, 5, 1)], ltc=None))
    assert one(j, "G")["eligible"]


def test_lost_members_do_not_count(rules):
    a, m, p, pr = frames(household("A", 100_000, [D(1956, 5, 1), D(1990, 1, 1)]))
    m = m.with_columns(pl.when(pl.col("person_id") == "A-1").then(D(2026, 5, 1)).otherwise(None)
                       .cast(pl.Date).alias("lost_date"))
    j = wh.judge(a, m, p, rules, judgment_date=JD, fy_end=FY_END, prior=pr)
    assert one(j, "A")["eligible"]


def test_continuing_provisional_is_last_february_and_final_has_remainder_in_october(rules, schedule):
    j = judge(rules, household("A", 123_456, [D(1956, 5, 1)], prior_feb=15_000, prior_annual=110_000))
    r = one(j, "A")
    assert r["status"] == wh.CONTINUING and r["provisional_amounts"] == [15_000] * 3
    rows = wh.installment_rows(j, rules, schedule)
    w = rows.filter(pl.col("method") == "withholding")
    assert w["month"].to_list() == [4, 6, 8, 10, 12, 2]
    assert w["amount"].to_list() == [15_000, 15_000, 15_000, 26_256, 26_100, 26_100]  # (123,456 − 45,000) ÷ 3
    assert w["installment_no"].to_list() == [1, 2, 3, 4, 5, 6]
    assert w["due_date"].to_list()[:3] == [D(2026, 4, 15), D(2026, 6, 15), D(2026, 8, 14)]  # 8/15 is a Saturday
    assert rows.filter(pl.col("method") == "ordinary").height == 0


def test_leveling_formula(rules, schedule):
    """TAX_RULES.md §7 (八代市): ① = 前年度年税額 ÷ 6 (100円未満切捨); 6・8月 = (① × 3 − 4月額) ÷ 2."""
    r = dataclasses.replace(rules, leveling=True)
    j = judge(r, household("A", 130_000, [D(1956, 5, 1)], prior_feb=18_000, prior_annual=120_050))
    # ① = 20,000; (60,000 − 18,000) ÷ 2 = 21,000
    assert one(j, "A")["provisional_amounts"] == [18_000, 21_000, 21_000]
    only_aug = dataclasses.replace(r, leveling_months=(8,))  # 日高市: 8月のみ調整 → 60,000 − 18,000 − 18,000
    j = judge(only_aug, household("A", 130_000, [D(1956, 5, 1)], prior_feb=18_000, prior_annual=120_050))
    assert one(j, "A")["provisional_amounts"] == [18_000, 18_000, 24_000]


def test_new_provisional_from_june(rules, schedule):
    """新規 (さいたま市 p010309): 仮徴収 = (前年度の国保税額 − 介護分) ÷ 6, from the start month."""
    j = judge(rules, household("A", 98_000, [D(1956, 5, 1)], prior_annual=90_000, prior_ltc=12_000, start=6))
    r = one(j, "A")
    assert r["status"] == wh.NEW_PROVISIONAL and r["provisional_amounts"] == [0, 13_000, 13_000]
    w = wh.installment_rows(j, rules, schedule)
    assert w["month"].to_list() == [6, 8, 10, 12, 2] and w["amount"].sum() == 98_000


def test_new_household_starts_in_october_after_ordinary_july_to_september(rules, schedule):
    j = judge(rules, household("A", 70_000, [D(1956, 5, 1)]))
    assert one(j, "A")["status"] == wh.NEW_FINAL
    rows = wh.installment_rows(j, rules, schedule)
    assert rows.select("method", "month", "amount").rows() == [
        ("ordinary", 7, 13_000), ("ordinary", 8, 11_000), ("ordinary", 9, 11_000),
        ("withholding", 10, 11_800), ("withholding", 12, 11_600), ("withholding", 2, 11_600)]


def test_stopped_household_keeps_provisional_and_pays_the_rest_by_ordinary(rules, schedule):
    j = judge(rules, household("A", 100_000, [D(1956, 5, 1)], pension=100_000, prior_feb=9_000))
    assert one(j, "A")["status"] == wh.STOPPED
    rows = wh.installment_rows(j, rules, schedule)
    assert rows.filter(pl.col("method") == "withholding")["amount"].to_list() == [9_000] * 3
    o = rows.filter(pl.col("method") == "ordinary")
    assert o["amount"].to_list() == inst.split_one(73_000, len(schedule.periods), schedule.unit)


def test_provisional_above_annual_is_reduced_latest_first(rules, schedule):
    j = judge(rules, household("A", 20_000, [D(1956, 5, 1)], prior_feb=9_000))
    r = one(j, "A")
    assert r["provisional_amounts"] == [9_000, 9_000, 2_000] and r["provisional_reduced"] == 7_000
    assert r["final_total"] == 0
    rows = wh.installment_rows(j, rules, schedule)
    assert rows["amount"].sum() == 20_000
    assert rows.filter(pl.col("month").is_in([10, 12, 2]))["amount"].to_list() == [0, 0, 0]


def test_ordinary_households(rules, schedule):
    j = judge(rules, household("B", 50_000, [D(1956, 5, 1)], pension=None))
    rows = wh.installment_rows(j, rules, schedule)
    assert (rows["method"] == "ordinary").all() and rows["amount"].sum() == 50_000
    assert wh.summary(j)["households"].sum() == 1


settings_ = settings(max_examples=60, deadline=None)


@settings_
@given(st.lists(st.tuples(
    st.integers(0, 1_000_000),                       # annual tax
    st.integers(0, 3_000_000),                       # pension
    st.one_of(st.none(), st.integers(0, 200_000)),   # 介護保険料
    st.one_of(st.none(), st.integers(1, 100_000)),   # last February's amount
    st.one_of(st.none(), st.sampled_from([4, 6, 8])),  # 新規 仮徴収 start
    st.integers(0, 600_000),                         # prior annual
    st.booleans(),                                   # leveling
), min_size=1, max_size=12))
def test_property_installments_sum_and_october_remainder(rules, schedule, hs):
    out = []
    for lev in (False, True):
        r = dataclasses.replace(rules, leveling=lev)
        sel = [h for h in hs if h[6] == lev]
        if not sel:
            continue
        built = [household(f"{i:03d}", annual, [D(1956, 5, 1)], pension=pension, ltc=ltc, prior_feb=feb,
                           prior_annual=prior, prior_ltc=prior // 10, start=start)
                 for i, (annual, pension, ltc, feb, start, prior, _) in enumerate(sel)]
        j = judge(r, *built)
        rows = wh.installment_rows(j, r, schedule)
        assert inst.check_totals(rows, j).height == 0
        assert (rows["amount"] >= 0).all()
        final = rows.filter((pl.col("method") == "withholding") & pl.col("month").is_in(list(r.final_months)))
        for (_hid,), g in final.partition_by("household_id", as_dict=True).items():
            amounts = dict(zip(g["month"], g["amount"], strict=True))
            oct_, dec, feb = amounts[10], amounts[12], amounts[2]
            assert dec == feb and dec % r.final_unit == 0
            assert 0 <= oct_ - dec < 3 * r.final_unit  # the remainder lands in October
        ordinary = rows.filter(pl.col("method") == "ordinary")
        first = ordinary.group_by("household_id").agg(pl.col("installment_no").min().alias("f"))
        later = ordinary.join(first, on="household_id").filter(pl.col("installment_no") != pl.col("f"))
        assert (later["amount"] % schedule.unit == 0).all()
        out.append(j)
    assert out


def test_opt_out_household_pays_by_ordinary_collection(rules):
    a, m, p, pr = frames(household("A", 100_000, [D(1956, 5, 1)]), household("B", 100_000, [D(1956, 5, 1)]))
    j = wh.judge(a, m, p, rules, judgment_date=JD, fy_end=FY_END, prior=pr,
                 opt_out=pl.DataFrame({"household_id": ["B"]}))
    assert dict(zip(j["household_id"], j["reason"], strict=True)) == {"A": None, "B": "opt_out"}
    assert one(j, "B")["status"] == wh.ORDINARY
