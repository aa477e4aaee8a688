"""異動賦課 (jobs/assessment/reassessment.py): 更正 per installment. An increase is spread over
the open installments, a decrease is taken from unpaid installments latest first, then lowers paid
installments below what was paid (減額更正: the difference is the 過誤納 the collection side refunds),
a withheld household whose tax falls has its open 特別徴収 stopped. Properties with hypothesis."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.assessment import installments as inst
from jobs.assessment import reassessment as ra
from jobs.assessment import withholding as wh

D = dt.date


@pytest.fixture(scope="module")
def rules(cfg):
    return ra.ReassessmentRules.from_config(cfg)


def frames(annuals_before, annuals_after, schedule, *, comps=True):
    ids = [f"{i:010d}" for i in range(len(annuals_before))]
    cur = pl.DataFrame({"fy": 2026, "household_id": ids, "taxpayer_person_id": ids, "annual_tax": annuals_before})
    new = pl.DataFrame({"fy": 2026, "household_id": ids, "taxpayer_person_id": ids, "annual_tax": annuals_after})
    if comps:
        cur = cur.with_columns((pl.col("annual_tax") // 3 * 2).alias("medical_amount"))
        cur = cur.with_columns((pl.col("annual_tax") - pl.col("medical_amount")).alias("elderly_support_amount"))
        new = new.with_columns((pl.col("annual_tax") // 4 * 3).alias("medical_amount"))
        new = new.with_columns((pl.col("annual_tax") - pl.col("medical_amount")).alias("elderly_support_amount"))
    rows = inst.allocate_components(inst.ordinary_installments(cur, schedule), cur)
    return cur, new, rows


def changed(res, hid):
    c = res.corrections.filter(pl.col("household_id") == hid)
    return dict(zip(c["installment_no"], zip(c["amount_before"], c["amount_after"], strict=True), strict=True))


def test_increase_spread_over_open_installments(schedule, rules):
    cur, new, rows = frames([90_000], [120_000], schedule)
    res = ra.reassess(cur, new, rows, None, schedule, rules, as_of=D(2026, 10, 20))
    ch = changed(res, "0000000000")
    assert all(ch[k] == (10_000, 10_000) for k in (1, 2, 3))             # due before 10/30: closed
    assert all(ch[k] == (10_000, 15_000) for k in range(4, 10))          # 30,000 over six open 期
    n = res.notices.row(0, named=True)
    assert (n["annual_before"], n["annual_after"], n["change"], n["overpayment"]) == (90_000, 120_000, 30_000, 0)
    assert n["medical_amount_after"] == 90_000 and n["medical_amount_before"] == 60_000
    sums = res.installments.select(pl.col("amount", "medical_amount", "elderly_support_amount").sum()).row(0)
    assert sums == (120_000, 90_000, 30_000)


def test_increase_with_remainder_in_first_open_installment(schedule, rules):
    cur, new, rows = frames([90_000], [91_234], schedule)
    res = ra.reassess(cur, new, rows, None, schedule, rules, as_of=D(2026, 10, 20))
    ch = changed(res, "0000000000")
    assert ch[4] == (10_000, 11_234) and all(ch[k] == (10_000, 10_000) for k in range(5, 10))


def test_decrease_from_unpaid_latest_first(schedule, rules):
    cur, new, rows = frames([90_000], [65_000], schedule)
    res = ra.reassess(cur, new, rows, None, schedule, rules, as_of=D(2026, 10, 20))
    ch = changed(res, "0000000000")
    assert [ch[k][1] for k in range(1, 10)] == [10_000] * 6 + [5_000, 0, 0]


def test_decrease_below_paid_lowers_paid_installments_and_records_overpayment(schedule, rules):
    cur, new, rows = frames([90_000], [10_000], schedule)
    pay = pl.DataFrame({"household_id": ["0000000000"] * 5, "method": ["ordinary"] * 5,
                        "installment_no": [1, 2, 3, 4, 5], "paid": [10_000, 10_000, 10_000, 10_000, 4_000]})
    res = ra.reassess(cur, new, rows, pay, schedule, rules, as_of=D(2026, 10, 20))
    c = res.corrections.sort("installment_no")
    assert c["amount_after"].to_list() == [10_000] + [0] * 8          # latest paid lowered first
    assert c["overpayment"].to_list() == [0, 10_000, 10_000, 10_000, 4_000, 0, 0, 0, 0]
    assert (c["paid"] - c["amount_after"]).clip(0).sum() == 34_000     # 累計収納額 > 期別税額: SN300's 過誤納
    n = res.notices.row(0, named=True)
    assert n["overpayment"] == 34_000 and n["annual_after"] == 10_000
    assert res.installments["amount"].sum() == 10_000                  # the 調定 follows the tax


def test_new_household_and_household_whose_tax_becomes_zero(schedule, rules):
    cur, new, rows = frames([60_000], [0], schedule)
    extra = pl.DataFrame({"fy": [2026], "household_id": ["X"], "taxpayer_person_id": ["X"], "annual_tax": [25_000],
                          "medical_amount": [25_000], "elderly_support_amount": [0]})
    new = pl.concat([new, extra], how="vertical_relaxed")
    res = ra.reassess(cur, new, rows, None, schedule, rules, as_of=D(2027, 1, 10))
    x = res.installments.filter(pl.col("household_id") == "X")
    assert x["month"].to_list() == [1, 2, 3] and x["amount"].to_list() == [9_000, 8_000, 8_000]
    z = res.installments.filter(pl.col("household_id") == "0000000000")
    assert z["amount"].sum() == 0 and z.height == len(schedule.periods)


def test_after_the_last_due_date_an_extra_installment(schedule, rules):
    cur, new, rows = frames([90_000], [93_000], schedule)
    res = ra.reassess(cur, new, rows, None, schedule, rules, as_of=D(2027, 3, 25))
    extra = res.corrections.filter(pl.col("installment_no") == len(schedule.periods) + 1).row(0, named=True)
    assert (extra["amount_before"], extra["amount_after"], extra["due_date"]) == (0, 3_000, D(2027, 4, 30))


def test_withheld_household_decrease_stops_withholding(cfg, schedule, rules):
    wrules = wh.WithholdingRules.from_config(cfg)
    a = pl.DataFrame({"fy": [2026], "household_id": ["W"], "taxpayer_person_id": ["W0"], "annual_tax": [120_000],
                      "medical_amount": [120_000]})
    m = pl.DataFrame({"household_id": ["W"], "person_id": ["W0"], "is_householder": [True], "is_insured": [True],
                      "birth_date": [D(1956, 5, 1)]})
    p = pl.DataFrame({"person_id": ["W0"], "pension_annual": [2_000_000], "ltc_premium_annual": [80_000]})
    prior = pl.DataFrame({"household_id": ["W"], "prior_february_amount": [15_000]})
    j = wh.judge(a, m, p, wrules, judgment_date=D(2026, 7, 1), fy_end=D(2027, 3, 31), prior=prior)
    rows = wh.installment_rows(j, wrules, schedule)  # 15,000 ×3 then 25,000 ×3
    new = a.with_columns(pl.lit(90_000).alias("annual_tax"), pl.lit(90_000).alias("medical_amount"))
    res = ra.reassess(a, new, rows, None, schedule, rules, as_of=D(2026, 11, 5))
    c = res.corrections
    w = c.filter(pl.col("method") == "withholding").sort("installment_no")
    assert w["amount_after"].to_list() == [15_000, 15_000, 15_000, 25_000, 0, 0]   # Dec and Feb stopped
    o = c.filter(pl.col("method") == "ordinary")
    assert o["amount_after"].sum() == 90_000 - 70_000 and o["is_open"].all()
    assert res.notices["withholding_stopped"][0]
    r2 = ra.reassess(a, a.with_columns(pl.lit(130_000).alias("annual_tax"), pl.lit(130_000).alias("medical_amount")),
                     rows, None, schedule, rules, as_of=D(2026, 11, 5))
    assert r2.corrections.filter(pl.col("method") == "withholding")["change"].abs().sum() == 0
    assert r2.corrections.filter(pl.col("method") == "ordinary")["amount_after"].sum() == 10_000
    assert not r2.notices["withholding_stopped"][0]


def test_inconsistent_current_installments_are_refused(schedule, rules):
    cur, new, rows = frames([90_000], [91_000], schedule)
    with pytest.raises(inst.InstallmentError):
        ra.reassess(cur, new, rows.with_columns(pl.col("amount") + 1), None, schedule, rules, as_of=D(2026, 10, 1))


# --- properties on the per-household core -----------------------------------------------------

slot = st.tuples(st.integers(0, 60_000), st.integers(0, 100), st.booleans(), st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.lists(slot, min_size=0, max_size=12), st.integers(-400_000, 400_000),
       st.sampled_from(["stop", "reduce"]), st.integers(0, 3))
def test_property_correction(schedule, slots_spec, delta, mode, n_open_periods):
    slots = []
    for i, (amount, paid_pct, is_open, withheld) in enumerate(slots_spec):
        method = inst.WITHHOLDING if withheld else inst.ORDINARY
        slots.append(ra.Slot(method, i + 1, (i % 12) + 1, D(2026, 4, 1) + dt.timedelta(days=30 * i), amount,
                             paid=amount * paid_pct // 100, is_open=is_open))
    before_total = sum(s.amount for s in slots)
    delta = max(delta, -before_total)
    periods = schedule.periods[-n_open_periods:] if n_open_periods else (schedule.extra_period(D(2027, 3, 25)),)
    res = ra.correct_household(slots, delta, periods, schedule.unit, withholding_decrease=mode)
    after_total = sum(s.amount for s in res.slots)
    assert after_total == before_total + delta                 # the 調定 follows the tax
    for s in res.slots:
        assert s.amount >= 0                                   # never negative
        assert 0 <= s.overpayment <= s.paid
        # the 過誤納 this correction makes is exactly how far the levy fell below the paid
        assert s.overpayment == max(s.paid - s.amount, 0) - max(s.paid - s.before, 0)
        if s.paid > 0:
            assert s.amount <= s.before                        # a paid installment is never increased
    if res.overpayment:
        assert all(s.unpaid == 0 for s in res.slots)           # only once everything unpaid is gone
    if delta > 0:
        assert all(s.amount >= s.before for s in res.slots if s.method == inst.WITHHOLDING)
    if delta < 0 and mode == "reduce":
        assert all(s.amount <= s.before for s in res.slots)
    if delta < 0 and mode == "stop":  # ordinary grows at most by what the stopped withholding no longer takes
        grew = sum(s.amount - s.before for s in res.slots if s.method == inst.ORDINARY and s.amount > s.before)
        stopped = sum(s.before - s.amount for s in res.slots if s.method == inst.WITHHOLDING)
        assert grew <= stopped


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500_000), st.integers(0, 500_000), st.integers(0, 9)), min_size=1,
                max_size=8),
       st.sampled_from([D(2026, 7, 1), D(2026, 10, 20), D(2027, 2, 20), D(2027, 3, 28)]))
def test_property_reassess_frames(schedule, rules, hs, as_of):
    cur, new, rows = frames([h[0] for h in hs], [h[1] for h in hs], schedule)
    paid_upto = {f"{i:010d}": h[2] for i, h in enumerate(hs)}
    pay = rows.filter(pl.col("installment_no") <= pl.col("household_id").replace_strict(paid_upto)).select(
        "household_id", "method", "installment_no", pl.col("amount").alias("paid"))
    res = ra.reassess(cur, new, rows, pay, schedule, rules, as_of=as_of)
    c = res.corrections.join(pay, on=["household_id", "method", "installment_no"], how="left", suffix="_p")
    paid = c.filter(pl.col("paid_p").fill_null(0) > 0)
    assert (paid["amount_after"] <= paid["amount_before"]).all()   # a paid 期 is never increased
    assert (c["amount_after"] >= 0).all()
    closed_unchanged = c.filter(~pl.col("is_open") & (pl.col("change") > 0))
    assert closed_unchanged.height == 0                        # an increase never lands on a closed 期
    assert (c["overpayment"] == (c["paid"] - c["amount_after"]).clip(0)).all()  # paid in full before
    assert inst.check_totals(res.installments, new).height == 0
    cols = inst.component_columns(res.installments)
    assert (res.installments.select(pl.sum_horizontal(cols)).to_series() == res.installments["amount"]).all()
