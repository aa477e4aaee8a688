"""Business-day calendar: known dates, and invariants by property tests."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.common import bizcal, config
from jobs.common.config import load

CAL = bizcal.BusinessCalendar.from_config(load("111007"))
D = dt.date.fromisoformat

dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31))
steps = st.integers(min_value=-40, max_value=40)


@pytest.mark.parametrize("day, expected, reason", [
    ("2027-01-04", True, None),            # first business day after 年末年始 (Monday)
    ("2026-12-28", True, None),            # 御用納め (Monday)
    ("2026-12-29", False, "年末年始"),      # closure starts (Tuesday)
    ("2026-12-31", False, "年末年始"),
    ("2027-01-01", False, "元日"),          # holiday and closure: the holiday is named
    ("2027-01-02", False, "土曜日"),
    ("2026-11-23", False, "勤労感謝の日"),  # Monday holiday
    ("2026-09-22", False, "国民の休日"),    # between 敬老の日 (9/21) and 秋分の日 (9/23)
    ("2026-05-06", False, "休日"),          # 振替休日 for 憲法記念日 on Sunday (jpholiday names it 憲法記念日 振替休日)
    ("2026-06-13", False, "土曜日"),
    ("2026-06-14", False, "日曜日"),
    ("2026-06-15", True, None),
])
def test_known_dates(day, expected, reason):
    assert CAL.is_business_day(D(day)) is expected
    got = CAL.closure_reason(D(day))
    if reason is None:
        assert got is None
    else:
        assert reason in got


def test_moves_around_new_year():
    assert CAL.next_business_day(D("2026-12-28")) == D("2027-01-04")
    assert CAL.previous_business_day(D("2027-01-04")) == D("2026-12-28")
    assert CAL.add_business_days(D("2026-12-25"), 2) == D("2027-01-04")
    assert CAL.add_business_days(D("2027-01-04"), -2) == D("2026-12-25")
    assert CAL.roll_forward(D("2026-12-31")) == D("2027-01-04")      # 納期限 on a closed day
    assert CAL.roll_forward(D("2026-12-28")) == D("2026-12-28")
    assert CAL.roll_backward(D("2027-01-03")) == D("2026-12-28")
    assert CAL.add_business_days(D("2027-01-02"), 0) == D("2027-01-02")


def test_business_days_in_a_range():
    days = CAL.business_days(D("2026-12-24"), D("2027-01-06"))
    assert days == [D("2026-12-24"), D("2026-12-25"), D("2026-12-28"), D("2027-01-04"),
                    D("2027-01-05"), D("2027-01-06")]
    assert CAL.business_days_between(D("2026-12-24"), D("2027-01-06")) == 5
    assert CAL.business_days_between(D("2027-01-06"), D("2026-12-24")) == -5  # [12-24, 01-06)


def test_fiscal_year_starts_in_april():
    assert CAL.fiscal_year(D("2026-04-01")) == 2026
    assert CAL.fiscal_year(D("2027-03-31")) == 2026
    assert CAL.fiscal_year(D("2027-05-31")) == 2027
    assert CAL.fiscal_year_first_day(2026) == D("2026-04-01")
    assert CAL.fiscal_year_last_day(2026) == D("2027-03-31")
    assert CAL.fiscal_year(CAL.fiscal_year_first_day(2027)) == 2027
    assert CAL.fiscal_year(CAL.fiscal_year_last_day(2027)) == 2027


def test_module_functions_use_the_default_calendar():
    assert bizcal.is_business_day(D("2026-12-29")) is False
    assert bizcal.next_business_day(D("2026-12-28")) == D("2027-01-04")
    assert bizcal.add_business_days(D("2027-01-04"), -1) == D("2026-12-28")
    assert bizcal.fiscal_year(D("2027-01-04")) == 2026
    assert bizcal.calendar() is bizcal.calendar()  # cached while config is unchanged


def test_rules_come_from_config():
    """A municipality with a different closure and an extra closed date (data, not code)."""
    cfg = load("111007")
    data = config.deep_merge(cfg.data, {"calendar": {
        "closure_periods": [{"from": "08-13", "to": "08-15", "label": "夏季"}],
        "closed_dates": ["2026-06-16"],
        "fiscal_year_start": "01-01",
    }})
    cal = bizcal.BusinessCalendar.from_config(config.Config(data=data, municipality="111007"))
    assert not cal.is_business_day(D("2026-08-14")) and cal.closure_reason(D("2026-08-14")) == "夏季"
    assert cal.is_business_day(D("2026-12-29"))
    assert cal.closure_reason(D("2026-06-16")) == "臨時閉庁日"
    assert cal.fiscal_year(D("2026-02-01")) == 2026
    with pytest.raises(bizcal.CalendarError):
        dataclasses.replace(cal, closed_weekdays=frozenset(range(7))).next_business_day(D("2026-01-01"))
    bad = config.deep_merge(cfg.data, {"calendar": {"closure_periods": [{"from": "12-32", "to": "01-03"}]}})
    with pytest.raises(bizcal.CalendarError, match="MM-DD"):
        bizcal.BusinessCalendar.from_config(config.Config(data=bad))


@settings(max_examples=300, deadline=None)
@given(dates)
def test_weekends_and_closure_days_are_never_business_days(d):
    if d.weekday() >= 5 or (d.month, d.day) >= (12, 29) or (d.month, d.day) <= (1, 3):
        assert not CAL.is_business_day(d)


@settings(max_examples=300, deadline=None)
@given(dates, steps)
def test_add_business_days_lands_on_a_business_day_and_counts_exactly(d, n):
    r = CAL.add_business_days(d, n)
    if n == 0:
        assert r == d
        return
    assert CAL.is_business_day(r)
    assert (r > d) if n > 0 else (r < d)
    assert CAL.business_days_between(d, r) == n


@settings(max_examples=300, deadline=None)
@given(dates, steps)
def test_add_business_days_is_invertible_from_a_business_day(d, n):
    start = CAL.roll_forward(d)
    assert CAL.add_business_days(CAL.add_business_days(start, n), -n) == start


@settings(max_examples=300, deadline=None)
@given(dates)
def test_next_business_day_skips_only_closed_days(d):
    nxt = CAL.next_business_day(d)
    assert nxt > d and CAL.is_business_day(nxt)
    gap = [d + dt.timedelta(days=i) for i in range(1, (nxt - d).days)]
    assert not any(CAL.is_business_day(x) for x in gap)
    assert CAL.previous_business_day(nxt) == CAL.roll_backward(d)


@settings(max_examples=200, deadline=None)
@given(dates, st.integers(min_value=1, max_value=30))
def test_add_business_days_is_monotonic(d, n):
    assert CAL.add_business_days(d, n) < CAL.add_business_days(d, n + 1)
