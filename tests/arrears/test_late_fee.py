"""延滞金 (jobs/arrears/late_fee.py): published worked examples, the rules' edge cases, hypothesis
properties, and the vectorised ``late_fee_frame`` equal to the per-installment ``late_fee``."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.arrears.late_fee import LateFeeRules, late_fee, late_fee_frame, one_month_elapsed
from jobs.common import config
from jobs.common.config import ConfigError

D = dt.date


@pytest.fixture(scope="module")
def rules() -> LateFeeRules:
    return LateFeeRules.from_config(config.load("111007"))


# --- published worked examples ------------------------------------------------------------------

def test_chuo_yamanashi_2026_example(rules):
    """中央市 (山梨県) 「市税の延滞金計算について」:
    https://www.city.chuo.yamanashi.jp/soshiki/zeimu/shuunou/10746.html
    税額 56,400円, 納期限 令和8年2月2日, 令和8年5月29日に全額納付:
    56,000 × 2.8% × 28日/365 = 120円 (2/3–3/2) + 56,000 × 9.1% × 88日/365 = 1,228円 (3/3–5/29)
    = 1,348円 → 1,300円 (100円未満切捨)."""
    assert late_fee(56_400, D(2026, 2, 2), [], D(2026, 5, 29), rules) == 1_300
    # paid the same day in one payment: the payment day itself still counts
    assert late_fee(56_400, D(2026, 2, 2), [(D(2026, 5, 29), 56_400)], D(2026, 5, 29), rules) == 1_300


def test_toyohashi_year_boundary_example(rules):
    """豊橋市 「延滞金について」 (menuid 10874), the rate switch on 1 January:
    https://www.city.toyohashi.lg.jp/dd.aspx?menuid=10874
    65,000円, 納期限 令和3年5月31日, 令和4年1月31日に納付:
    65,000×2.5%×30/365 = 133 + 65,000×8.8%×184/365 = 2,883 + 65,000×8.7%×31/365 = 480
    = 3,496円 → 3,400円."""
    assert late_fee(65_000, D(2021, 5, 31), [], D(2022, 1, 31), rules) == 3_400


def test_rates_of_config(rules):
    """TAX_RULES.md §8: 2022–2025 2.4% / 8.7%, 2026 2.8% / 9.1%."""
    by_year = {p.start.year: (p.within_month, p.after_month) for p in rules.periods}
    assert by_year[2022] == (24_000, 87_000)
    assert by_year[2026] == (28_000, 91_000)


# --- rules ----------------------------------------------------------------------------------------

def test_thresholds(rules):
    due, paid = D(2025, 4, 30), D(2026, 4, 30)
    assert late_fee(1_999, due, [], paid, rules) == 0            # 2,000円未満: none
    assert late_fee(2_999, due, [], paid, rules) == late_fee(2_000, due, [], paid, rules)  # 1,000円未満切捨
    # 10,000 × 2.4% × 30/365 = 19 + 10,000 × 8.7% × 335/365 ... → below 1,000円 → 0 (not collected)
    assert late_fee(10_000, due, [], paid, rules) == 0
    fee = late_fee(100_000, due, [], paid, rules)
    assert fee % 100 == 0 and fee >= 1_000


def test_leap_year_counts_366_days_over_365(rules):
    """2024 is a leap year: 2/29 is a day like any other, the year still has 365 days."""
    a = late_fee(1_000_000, D(2023, 12, 31), [], D(2024, 12, 31), rules)
    # within-month 1/1–1/31 (31 d) at 2.4%, then 2/1–12/31 (335 d incl. 2/29) at 8.7%
    expected = 1_000_000 * 24_000 * 31 // 365_000_000 + 1_000_000 * 87_000 * 335 // 365_000_000
    assert a == expected // 100 * 100


def test_one_month_elapsed():
    assert one_month_elapsed(D(2026, 2, 3)) == D(2026, 3, 2)
    assert one_month_elapsed(D(2021, 6, 1)) == D(2021, 6, 30)
    assert one_month_elapsed(D(2026, 1, 31)) == D(2026, 2, 28)   # no 2/31: the month's last day
    assert one_month_elapsed(D(2026, 12, 15)) == D(2027, 1, 14)


def test_partial_payment_goes_to_tax_first(rules):
    """56,400円 due 2026-02-02; 30,000円 paid on 3/31, the rest on 5/29: base 56,000 to 3/31,
    then 26,000 (26,400 → 1,000円未満切捨) from 4/1."""
    due = D(2026, 2, 2)
    got = late_fee(56_400, due, [(D(2026, 3, 31), 30_000), (D(2026, 5, 29), 26_400)], D(2026, 5, 29), rules)
    raw = (56_000 * 28_000 * 28 // 365_000_000          # 2/3–3/2
           + 56_000 * 91_000 * 29 // 365_000_000        # 3/3–3/31
           + 26_000 * 91_000 * 59 // 365_000_000)       # 4/1–5/29
    assert got == (raw // 100 * 100 if raw >= 1000 else 0)
    assert got < late_fee(56_400, due, [], D(2026, 5, 29), rules)


def test_payment_before_due_reduces_base(rules):
    due = D(2026, 2, 2)
    assert late_fee(56_400, due, [(D(2026, 1, 20), 40_000)], D(2026, 12, 31), rules) == \
        late_fee(16_400, due, [], D(2026, 12, 31), rules)


def test_missing_rate_is_an_error(rules):
    with pytest.raises(ConfigError, match="late_fee.rates"):
        late_fee(100_000, D(2026, 11, 30), [], D(2027, 3, 1), rules)


# --- properties -----------------------------------------------------------------------------------

dates = st.dates(min_value=D(2014, 1, 1), max_value=D(2026, 6, 30))
amounts = st.integers(min_value=0, max_value=5_000_000)


@settings(max_examples=300, deadline=None)
@given(amount=amounts, due=dates, d1=st.integers(0, 900), d2=st.integers(0, 900))
def test_monotone_in_days(rules, amount, due, d1, d2):
    a, b = sorted((d1, d2))
    end = D(2026, 12, 31)
    x = min(due + dt.timedelta(days=a), end)
    y = min(due + dt.timedelta(days=b), end)
    assert late_fee(amount, due, [], x, rules) <= late_fee(amount, due, [], y, rules)


@settings(max_examples=200, deadline=None)
@given(amount=amounts, due=dates, back=st.integers(0, 400))
def test_zero_on_or_before_due(rules, amount, due, back):
    assert late_fee(amount, due, [], due - dt.timedelta(days=back), rules) == 0


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(2_000, 5_000_000), due=st.dates(D(2024, 6, 1), D(2025, 11, 30)),
       extra=st.integers(0, 300))
def test_rate_switch_on_first_january(rules, amount, due, extra):
    """Days up to 12/31 go at the old year's rates, days from 1/1 at the new year's: the fee to
    a date in 2026 equals the 2025 part plus the 2026 part computed with each year's rates alone."""
    end = D(2026, 1, 1) + dt.timedelta(days=extra)
    month_end = one_month_elapsed(due + dt.timedelta(days=1))
    base = amount // 1000 * 1000
    raw = 0
    for lo, hi in ((due + dt.timedelta(days=1), min(month_end, D(2025, 12, 31))),
                   (max(month_end + dt.timedelta(days=1), due + dt.timedelta(days=1)), D(2025, 12, 31))):
        if hi >= lo:
            raw += base * (24_000 if hi <= month_end else 87_000) * ((hi - lo).days + 1) // 365_000_000
    for lo, hi in ((D(2026, 1, 1), min(month_end, end)), (max(month_end + dt.timedelta(days=1), D(2026, 1, 1)), end)):
        if hi >= lo:
            raw += base * (28_000 if hi <= month_end else 91_000) * ((hi - lo).days + 1) // 365_000_000
    assert late_fee(amount, due, [], end, rules) == (0 if raw < 1000 else raw // 100 * 100)


payments = st.lists(st.tuples(st.dates(D(2024, 1, 1), D(2026, 12, 31)), st.integers(1, 200_000)), max_size=4)


@settings(max_examples=300, deadline=None)
@given(amount=amounts, due=st.dates(D(2024, 1, 1), D(2026, 6, 30)), pays=payments,
       extra=st.tuples(st.dates(D(2024, 1, 1), D(2026, 12, 31)), st.integers(1, 200_000)))
def test_partial_payment_never_increases(rules, amount, due, pays, extra):
    as_of = D(2026, 12, 31)
    assert late_fee(amount, due, pays + [extra], as_of, rules) <= late_fee(amount, due, pays, as_of, rules)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(amounts, st.dates(D(2014, 1, 1), D(2026, 6, 30)),
                               st.dates(D(2014, 1, 1), D(2026, 12, 31)), payments), min_size=1, max_size=12))
def test_frame_equals_reference(rules, rows):
    inst = pl.DataFrame({
        "levy_year": [2026] * len(rows), "notice_number": [f"{i:011d}" for i in range(len(rows))],
        "installment_no": [1] * len(rows), "base_amount": [r[0] for r in rows],
        "due_date": [r[1] for r in rows], "as_of": [r[2] for r in rows]})
    pay = pl.DataFrame([{"levy_year": 2026, "notice_number": f"{i:011d}", "installment_no": 1,
                         "paid_date": d, "amount": a} for i, r in enumerate(rows) for d, a in r[3]],
                       schema={"levy_year": pl.Int64, "notice_number": pl.String, "installment_no": pl.Int64,
                               "paid_date": pl.Date, "amount": pl.Int64})
    got = late_fee_frame(inst, rules, payments=pay).to_list()
    assert got == [late_fee(r[0], r[1], r[3], r[2], rules) for r in rows]
