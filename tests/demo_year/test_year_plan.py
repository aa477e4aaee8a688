"""The year plan of ``make demo-year`` (jobs/demo_year/plan.py), without Airflow: each job net on the
days its rule gives (``kokuho rundays``), the daily job nets on the days they have work, the
counterparty events before the runs that need them, and the day's job nets in cron order."""

from __future__ import annotations

import datetime as dt

import pytest

from jobs.arrears import dunning
from jobs.assessment.installments import Schedule
from jobs.collection import direct_debit as dd
from jobs.common import bizcal, config, runcalendar
from jobs.demo_year import plan as yp

MUNI = "111007"
FY = 2026
INTAKE = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def ctx():
    cfg = config.load(MUNI, FY)
    cal = bizcal.BusinessCalendar.from_config(cfg)
    dues = [p.due_date for p in Schedule.from_config(cfg, FY, cal).periods]
    return cfg, cal, dues


@pytest.fixture(scope="module")
def year():
    return yp.year_plan(FY, municipality=MUNI, intake_date=INTAKE)


def _days_of(plan, jobnet_id):
    return [d.date for d in plan if jobnet_id in d.nets]


def _index(day, jobnet_id):
    return day.nets.index(jobnet_id)


def test_the_year_runs_from_the_intake_to_the_cash_closing_on_business_days_only(year, ctx):
    _cfg, cal, _dues = ctx
    assert year[0].date == INTAKE and year[0].nets == ["KB100"]
    assert year[-1].date == dt.date(2027, 5, 31) and year[-1].nets == ["KB710"]   # 出納閉鎖 (a Monday)
    assert [d.date for d in year] == sorted({d.date for d in year})
    assert all(cal.is_business_day(d.date) and d.runs for d in year)
    assert _days_of(year, "KB100") == [INTAKE]
    assert _days_of(year, "KB300") == runcalendar.run_days("initial_assessment", INTAKE, dt.date(2027, 3, 31),
                                                           municipality=MUNI) == [dt.date(2026, 7, 1)]


def test_every_installment_has_its_debit_cycle_and_its_dunning_day(year, ctx):
    cfg, cal, dues = ctx
    assert len(dues) == 9
    by_date = {d.date: d for d in year}
    rules = dunning.DunningRules.from_config(cfg)
    for due in dues:
        request = by_date[dd.request_day(cal, cfg, due)]
        assert _index(request, "KB400") < _index(request, "KB410"), request.nets   # KB410-WAIT needs SN100
        assert yp.PAYMENTS in request.events
        assert "KB210" in by_date[due].nets and yp.BANK_RESULTS in by_date[due].events
        dun = by_date[dunning.dunning_day(due, rules, cal)]
        assert _index(dun, "KB400") < _index(dun, "KB620") < _index(dun, "KB600"), dun.nets
    assert len(_days_of(year, "KB410")) == len(_days_of(year, "KB210")) == len(_days_of(year, "KB600")) == 9


def test_the_rule_nets_run_on_all_their_run_days_after_the_assessment(year, ctx):
    end = dt.date(2027, 5, 31)
    after = dt.date(2026, 7, 2)
    for net, rule in (("KB510", "pension_send"), ("KB520", "pension_apply"), ("KB500", "pension_intake"),
                      ("KB530", "pension_deduction_handover")):
        assert _days_of(year, net) == runcalendar.run_days(rule, after, end, municipality=MUNI), net
    closes = _days_of(year, "KB700")
    assert closes == runcalendar.run_days("month_close", closes[0], end, municipality=MUNI)
    assert closes[0] > min(_days_of(year, "KB400")) and dt.date(2027, 4, 1) in closes
    _cfg, cal, _dues = ctx
    assert {cal.previous_business_day(d) for d in closes} <= set(_days_of(year, "KB400"))   # the month's payments
    first_dun = min(_days_of(year, "KB600"))
    assert _days_of(year, "KB610") == runcalendar.run_days("reminder", first_dun + dt.timedelta(days=1), end,
                                                           municipality=MUNI)
    assert all(r.if_files for d in year for r in d.runs if r.jobnet_id == "KB500")
    assert not _days_of(year, "KB310")
    for d in year:    # SN235 posts the pension results KB520 applied that morning
        if "KB520" in d.nets:
            assert _index(d, "KB520") < _index(d, "KB400") and yp.PAYMENTS in d.events


def test_each_day_runs_its_nets_in_cron_order(year):
    for d in year:
        times = [yp.cron_time(n) for n in d.nets]
        assert times == sorted(times), (d.date, d.nets)
        assert len(set(d.nets)) == len(d.nets)
    handover = next(d for d in year if "KB530" in d.nets)
    assert handover.nets[-1] == "KB530" and "KB520" in handover.nets   # 13:00, after the December Z24


def test_the_cash_closing_payments_come_the_day_before_the_year_close(year, ctx):
    _cfg, cal, _dues = ctx
    assert year[-2].date == cal.previous_business_day(dt.date(2027, 5, 31)) and "KB400" in year[-2].nets


def test_without_the_closing_period_the_year_ends_in_march():
    plan = yp.year_plan(FY, municipality=MUNI, intake_date=INTAKE, with_closing_period=False)
    assert plan[-1].date <= dt.date(2027, 3, 31)
    assert not _days_of(plan, "KB710")
    assert sum(yp.counts(plan).values()) < sum(yp.counts(yp.year_plan(FY, municipality=MUNI,
                                                                        intake_date=INTAKE)).values())


def test_an_intake_day_outside_the_year_or_after_the_assessment_is_refused():
    with pytest.raises(ValueError, match="not in fiscal year"):
        yp.year_plan(FY, municipality=MUNI, intake_date=dt.date(2026, 3, 31))
    with pytest.raises(ValueError, match="no 当初賦課 run day"):
        yp.year_plan(FY, municipality=MUNI, intake_date=dt.date(2026, 7, 1))


def test_describe_lists_every_day():
    plan = yp.year_plan(FY, municipality=MUNI, intake_date=INTAKE)
    text = yp.describe(plan)
    assert len(text.splitlines()) == len(plan)
    assert text.splitlines()[0].startswith("2026-06-01 Mon  KB100")
    assert "KB500?" in text and "口座振替結果ファイル" in text


def test_the_year_stops_before_the_first_day_without_a_late_fee_rate(year):
    """late_fee.rates ends 2026-12-31 (the 2027 rate is published by 財務省告示 and not in config yet):
    the 一斉催告 of 12-25 states its 延滞金 to a 指定期限 in January, so the plan stops before it; the
    催告 of 12-10 (指定期限 inside December) stays. A rate to the end of the year keeps the whole plan."""
    kept, cut = yp.cut_at_late_fee_rates(year, dt.date(2026, 12, 31), 10)
    assert cut is not None and cut.date == dt.date(2026, 12, 25) and [r.jobnet_id for r in cut.runs] == ["KB610"]
    assert kept == [d for d in year if d.date < cut.date]
    assert any(d.date == dt.date(2026, 12, 10) and any(r.jobnet_id == "KB610" for r in d.runs) for d in kept)
    whole, none = yp.cut_at_late_fee_rates(year, dt.date(2027, 12, 31), 10)
    assert none is None and whole == list(year)
    # a plan day past the last rate is cut even without a 催告
    assert yp.cut_at_late_fee_rates(year, dt.date(2026, 6, 30), 10)[1].date > dt.date(2026, 6, 30)
