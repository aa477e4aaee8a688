"""時効 of the 徴収権 (TN620, jobs/arrears/year_close.py ``limitation_date``): properties and the
statute's worked cases.

- 地方税法 第18条第1項: 地方団体の徴収金の徴収を目的とする地方団体の権利は、法定納期限の翌日から起算して
  5年間行使しないことによつて、時効により消滅する. 第18条の2第1項: 納付又は納入に関する告知 / 督促 — the
  時効 is renewed (更新) "督促状又は督促のための納付若しくは納入に関する告知書を発した日から起算して10日を
  経過した日". https://laws.e-gov.go.jp/law/325AC0000000226
- 民法 第140条 (初日不算入), 第143条第2項 (応当日の前日に満了; 応当日がないときはその月の末日),
  第152条 (承認による時効の更新). https://laws.e-gov.go.jp/law/129AC0000000089
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.arrears.year_close import add_years, limitation_date, limitation_expr, months_between, period_end

D = dt.date
dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31))
renewals = st.lists(st.one_of(st.none(), dates), max_size=4)


def test_worked_cases():
    # 法定納期限 2020-07-31 → 起算日 8/1 → 満了 2025-07-31 (the 応当日 8/1's day before)
    assert limitation_date(D(2020, 7, 31)) == D(2025, 7, 31)
    # 督促状 2022-06-10: 10日を経過した日 6/20 renews; the new period from 6/21 ends 2027-06-20
    assert limitation_date(D(2022, 5, 20), dunning_issued=D(2022, 6, 10)) == D(2027, 6, 20)
    # 一部納付 (承認, 民法152条) 2022-06-15 → 2027-06-15
    assert limitation_date(D(2021, 8, 31), acknowledgements=[D(2022, 6, 15)]) == D(2027, 6, 15)
    # a renewal before the 法定納期限's own end changes nothing when it ends earlier
    assert limitation_date(D(2021, 8, 31), acknowledgements=[D(2020, 1, 1)]) == D(2026, 8, 31)


def test_leap_days():
    # 法定納期限 2023-02-28 → 起算日 2023-03-01 → 満了 2028-02-29 (the day before 2028-03-01, a leap year)
    assert limitation_date(D(2023, 2, 28)) == D(2028, 2, 29)
    # 法定納期限 2024-02-28 → 起算日 2024-02-29: 2029 has no 2/29 → the month's last day, 2029-02-28
    assert limitation_date(D(2024, 2, 28)) == D(2029, 2, 28)
    # 起算日 2024-02-29, 4 years: the 応当日 2028-02-29 exists → its day before, 2028-02-28
    assert period_end(D(2024, 2, 29), 4) == D(2028, 2, 28)
    # 法定納期限 2024-02-29 → 起算日 2024-03-01 → 2029-02-28
    assert limitation_date(D(2024, 2, 29)) == D(2029, 2, 28)
    assert add_years(D(2024, 2, 29), 1) == D(2025, 2, 28)


@settings(max_examples=300, deadline=None)
@given(dates)
def test_five_years_from_the_day_after(due):
    end = limitation_date(due)
    # about 5 years: between 365×5+1 and 365×5+2 days after the 法定納期限 (one or two leap days)
    assert 1826 - 1 <= (end - due).days <= 1827
    assert add_years(due, 5) <= end <= add_years(due, 5) + dt.timedelta(days=1)
    # the period's last day: the next day is the 応当日 of the 起算日 (or 3/1 after a missing 2/29)
    start = due + dt.timedelta(days=1)
    nxt = end + dt.timedelta(days=1)
    assert (nxt.month, nxt.day) == (start.month, start.day) or (start.month, start.day) == (2, 29)


@settings(max_examples=300, deadline=None)
@given(dates, st.one_of(st.none(), dates), renewals)
def test_renewals_move_it_forward_only(due, dunning, acks):
    base = limitation_date(due)
    end = limitation_date(due, dunning_issued=dunning, acknowledgements=acks)
    assert end >= base
    # the order of the renewals does not matter, and each renewal alone gives a lower bound
    assert limitation_date(due, dunning_issued=dunning, acknowledgements=list(reversed(acks))) == end
    for a in acks:
        assert end >= limitation_date(due, acknowledgements=[a])
    if dunning is not None:
        assert end >= limitation_date(due, dunning_issued=dunning) >= base


@settings(max_examples=200, deadline=None)
@given(dates, dates, dates)
def test_a_later_renewal_is_never_earlier(due, a, b):
    early, late = sorted((a, b))
    assert limitation_date(due, acknowledgements=[early]) <= limitation_date(due, acknowledgements=[late])
    assert limitation_date(due, dunning_issued=early) <= limitation_date(due, dunning_issued=late)


def test_dunning_renews_ten_days_after_issue():
    # the 督促 renewal is the 承認 of its 10th day after
    for issue in (D(2022, 6, 10), D(2024, 2, 19), D(2023, 12, 25)):
        assert limitation_date(D(2000, 1, 1), dunning_issued=issue) == \
            limitation_date(D(2000, 1, 1), acknowledgements=[issue + dt.timedelta(days=10)])


@settings(max_examples=200, deadline=None)
@given(dates, dates)
def test_months_between(a, b):
    a, b = sorted((a, b))
    m = months_between(a, b)
    assert m >= 0
    assert add_months(a, m) <= b or _month_end(b)
    assert months_between(a, a) == 0


def add_months(d: dt.date, n: int) -> dt.date:
    import calendar
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    return D(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _month_end(d: dt.date) -> bool:
    return (d + dt.timedelta(days=1)).day == 1


def test_months_between_cases():
    assert months_between(D(2026, 7, 31), D(2027, 7, 31)) == 12
    assert months_between(D(2026, 7, 31), D(2027, 7, 30)) == 11
    assert months_between(D(2026, 1, 31), D(2026, 2, 28)) == 1
    assert months_between(D(2027, 4, 30), D(2027, 5, 31)) == 1


def test_year_close_and_write_off_run_days():
    from jobs.common import runcalendar

    # 出納閉鎖 5/31; 2026-05-31 is a Sunday → the business day before
    want = [D(2026, 5, 29), D(2027, 5, 31), D(2028, 5, 31)]
    assert runcalendar.run_days("year_close", D(2026, 1, 1), D(2028, 12, 31)) == want
    assert runcalendar.run_days("write_off", D(2026, 1, 1), D(2028, 12, 31)) == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(dates, st.one_of(st.none(), dates), st.one_of(st.none(), dates),
                          st.one_of(st.none(), dates)), min_size=1, max_size=30))
def test_the_column_form_is_the_scalar_one(rows):
    """TN620 computes over the whole frame (polars); it equals ``limitation_date`` row by row."""
    frame = pl.DataFrame(rows, schema={"due": pl.Date, "dun": pl.Date, "paid": pl.Date, "pledge": pl.Date},
                         orient="row")
    got = frame.select(limitation_expr(statutory_due="due", dunning_issued="dun", acknowledgements=("paid", "pledge"),
                                       years=5, dunning_renewal_days=10).alias("x"))["x"].to_list()
    want = [limitation_date(d, dunning_issued=k, acknowledgements=(p, q)) for d, k, p, q in rows]
    assert got == want
