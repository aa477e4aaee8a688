"""業務日程 (jobs.common.runcalendar): on which business days the scheduled KB300 当初賦課 and KB310
異動賦課 runs go on. Known dates from the shipped config, the rules on hand-made configs, and
invariants by property tests."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.common import bizcal, runcalendar
from jobs.common.config import Config, ConfigError, load

D = dt.date.fromisoformat
CFG_2026 = load("111007", 2026)
CAL = bizcal.BusinessCalendar.from_config(CFG_2026)


def cfg_with(fy: int = 2026, *, run_date=None, run_days=(1, 16), after_initial: bool = True) -> Config:
    """The shipped config with the 業務日程 keys replaced."""
    data = {k: v for k, v in CFG_2026.data.items() if k not in ("initial_assessment", "reassessment")}
    if run_date is not None:
        data["initial_assessment"] = {"run_date": run_date}
    data["reassessment"] = {"run_days": list(run_days), "after_initial_assessment": after_initial}
    return Config(data=data, municipality="111007", fy=fy)


# --- the shipped config ---------------------------------------------------------------------------


def test_shipped_initial_assessment_date():
    assert runcalendar.run_days("KB300", D("2026-04-01"), D("2027-03-31"), municipality="111007") == [D("2026-07-01")]
    assert runcalendar.scheduled_run_day("initial_assessment", D("2026-07-01"), municipality="111007").run
    no = runcalendar.scheduled_run_day("initial_assessment", D("2026-07-02"), municipality="111007")
    assert not no.run and "2026-07-01" in no.reason and not no.warning


def test_shipped_reassessment_days_fy2026():
    days = runcalendar.run_days("KB310", D("2026-04-01"), D("2027-03-31"), municipality="111007")
    assert days[0] == D("2026-07-16")  # none before the 当初賦課 of 2026-07-01 (7/1 itself included)
    assert D("2026-08-03") in days and D("2026-08-01") not in days  # Sat 8/1 → Mon 8/3
    assert D("2026-11-02") in days  # Sun 11/1 → Mon 11/2
    assert D("2027-01-04") in days  # 1/1 元日 and 年末年始 → 1/4
    assert D("2027-01-18") in days  # Sat 1/16 → Mon 1/18
    assert len(days) == 17  # 7/16, then twice a month August–March
    assert all(CAL.is_business_day(d) for d in days)


# --- 当初賦課 ---------------------------------------------------------------------------------------


def test_initial_assessment_on_a_closed_day_moves_to_the_next_business_day():
    cfg = cfg_with(run_date=D("2026-07-04"))  # Saturday
    assert not runcalendar.decide("KB300", D("2026-07-04"), cfg).run  # a closed day never runs
    yes = runcalendar.decide("KB300", D("2026-07-06"), cfg)
    assert yes.run and "翌開庁日" in yes.reason
    assert not runcalendar.decide("KB300", D("2026-07-03"), cfg).run


def test_initial_assessment_date_read_as_text_too():
    assert runcalendar.decide("initial_assessment", D("2026-07-01"), cfg_with(run_date="2026-07-01")).run
    with pytest.raises(ConfigError):
        runcalendar.decide("initial_assessment", D("2026-07-01"), cfg_with(run_date="July 1st"))


def test_missing_or_wrong_year_initial_date_is_a_warning_not_a_run():
    missing = runcalendar.decide("KB300", D("2026-07-01"), cfg_with(run_date=None))
    assert not missing.run and missing.warning and "initial_assessment.run_date" in missing.reason
    other_year = runcalendar.decide("KB300", D("2025-07-01"), cfg_with(run_date=D("2025-07-01")))
    assert not other_year.run and other_year.warning  # a FY2026 config holding a FY2025 date


# --- 異動賦課 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("day, expected", [
    ("2026-09-01", True), ("2026-09-16", True), ("2026-09-02", False), ("2026-09-15", False),
    ("2026-11-01", False), ("2026-11-02", True),     # Sunday → Monday
    ("2027-01-01", False), ("2027-01-04", True),     # 元日 / 年末年始 → 御用始め
    ("2026-07-01", False), ("2026-07-16", True),     # the 当初賦課 day itself is not a 異動賦課 day
    ("2026-06-16", False),                            # before the year's 当初賦課
])
def test_reassessment_days(day, expected):
    cfg = cfg_with(run_date=D("2026-07-01"))
    assert runcalendar.decide("KB310", D(day), cfg).run is expected


def test_reassessment_before_the_initial_assessment_when_configured_so():
    cfg = cfg_with(run_date=D("2026-07-01"), after_initial=False)
    assert runcalendar.decide("KB310", D("2026-06-01"), cfg).run
    warn = runcalendar.decide("KB310", D("2026-09-01"), cfg_with(run_date=None))
    assert not warn.run and warn.warning


def test_day_past_the_month_end_means_the_last_day():
    # 31 → 2026-06-30 (Tue); 2027-02-28 is a Sunday → 3/1; 2026-05-31 is a Sunday → 6/1 (next month)
    assert runcalendar.run_days_of_month(2026, 6, [31], CAL) == [D("2026-06-30")]
    assert runcalendar.run_days_of_month(2027, 2, [31], CAL) == [D("2027-03-01")]
    assert runcalendar.is_monthly_run_day(D("2026-06-01"), [31], CAL)
    assert runcalendar.is_monthly_run_day(D("2027-03-01"), [31], CAL)


def test_two_days_moved_onto_one_business_day_run_once():
    # 12/29 (年末年始) and 1/1 both move to 2027-01-04
    dec = runcalendar.run_days_of_month(2026, 12, [1, 29], CAL)
    jan = runcalendar.run_days_of_month(2027, 1, [1, 29], CAL)
    assert dec == [D("2026-12-01"), D("2027-01-04")] and jan[0] == D("2027-01-04")


@pytest.mark.parametrize("bad", [[], [0], [32], ["x"], None])
def test_run_days_must_be_days_of_the_month(bad):
    data = dict(cfg_with().data)
    data["reassessment"] = {"run_days": bad, "after_initial_assessment": False}
    with pytest.raises(ConfigError):
        runcalendar.decide("KB310", D("2026-09-01"), Config(data=data, municipality="111007", fy=2026))


def test_rule_names():
    assert runcalendar.rule_of("KB300") == "initial_assessment" and runcalendar.rule_of("kb310") == "reassessment"
    with pytest.raises(ValueError, match="業務日程"):
        runcalendar.rule_of("KB100")


@settings(max_examples=200, deadline=None)
@given(d=st.dates(min_value=dt.date(2026, 4, 1), max_value=dt.date(2027, 3, 31)),
       days=st.lists(st.integers(min_value=1, max_value=31), min_size=1, max_size=4))
def test_monthly_run_days_are_business_days_and_none_is_lost(d, days):
    if runcalendar.is_monthly_run_day(d, days, CAL):
        assert CAL.is_business_day(d)
    # every configured day of d's month is served by a run day on it or within the next closure
    for day in days:
        last = (dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1) - dt.timedelta(days=1)).day
        target = dt.date(d.year, d.month, min(day, last))
        run = CAL.roll_forward(target)
        assert runcalendar.is_monthly_run_day(run, days, CAL)
        assert all(not CAL.is_business_day(target + dt.timedelta(days=k)) for k in range((run - target).days))


# --- kokuho rundays ----------------------------------------------------------------------------


def test_cli_lists_the_run_days(capsys):
    from jobs.cli import main

    assert main(["rundays", "KB300", "--fy", "2026"]) == 0
    assert capsys.readouterr().out.splitlines() == ["2026-07-01 水"]
    assert main(["rundays", "KB310", "--from", "2026-12-01", "--to", "2027-01-31"]) == 0
    assert capsys.readouterr().out.split() == ["2026-12-01", "火", "2026-12-16", "水", "2027-01-04", "月",
                                              "2027-01-18", "月"]
    assert main(["rundays", "KB999"]) == 8


# --- monthly rules stated in config (MonthlyRule) ---------------------------------------------------


def cfg_rules(**rules) -> Config:
    """The shipped config with extra monthly rules."""
    return Config(data={**CFG_2026.data, **rules}, municipality="111007", fy=2026)


def test_a_monthly_rule_on_the_first_business_day_of_every_month():
    cfg = cfg_rules(month_close={"label": "月次締め", "run_days": [1]})
    days = [d for d in CAL.business_days(D("2026-04-01"), D("2027-03-31")) if runcalendar.decide("month_close", d, cfg).run]
    assert len(days) == 12
    assert D("2026-08-03") in days  # 2026-08-01 is a Saturday: the next business day
    assert D("2027-01-04") in days  # 年末年始: the 1st to the 3rd are closed
    no = runcalendar.decide("month_close", D("2026-08-04"), cfg)
    assert not no.run and "月次締め" in no.reason and "次回 2026-09-01" in no.reason


def test_odd_months_dates_and_rolling_backwards():
    cfg = cfg_rules(z24={"label": "特別徴収結果", "run_days": [20], "months": "odd"},
                    close={"label": "出納閉鎖", "dates": ["05-31"], "roll": "backward"})
    z24 = [d for d in CAL.business_days(D("2026-04-01"), D("2027-03-31")) if runcalendar.decide("z24", d, cfg).run]
    assert [d.month for d in z24] == [5, 7, 9, 11, 1, 3]
    close = [d for d in CAL.business_days(D("2026-04-01"), D("2027-03-31")) if runcalendar.decide("close", d, cfg).run]
    assert close == [D("2026-05-29")]  # 2026-05-31 is a Sunday: the business day before
    assert set(runcalendar.monthly_rule_names(cfg)) >= {"reassessment", "z24", "close"}
    assert runcalendar.label_of("close", cfg) == "出納閉鎖"


@pytest.mark.parametrize("section", [
    {"run_days": [0]}, {"run_days": [1], "months": "weekly"}, {"run_days": [1], "months": [13]},
    {"dates": ["5/31"]}, {"label": "x"}, {"run_days": [1], "roll": "sideways"}, {"run_days": [1], "when": "x"},
])
def test_a_bad_monthly_rule_is_a_config_error_naming_the_rule(section):
    with pytest.raises((ConfigError, ValueError), match="bad"):
        runcalendar.decide("bad", D("2026-06-01"), cfg_rules(bad=section))


def test_an_unknown_rule_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="reassessment"):
        runcalendar.decide("nothing_like_it", D("2026-06-01"), CFG_2026)


# --- a new fiscal year needs no file: the 当初賦課 date and the 納期 by rule ------------------------


def test_kb300_runs_in_a_fiscal_year_without_a_folder():
    """No config/municipalities/111007/fy2027/: the date comes from initial_assessment.month_day."""
    from jobs.common import paths

    assert not (paths.config_root() / "municipalities" / "111007" / "fy2027").exists()
    assert runcalendar.run_days("KB300", D("2027-04-01"), D("2028-03-31"), municipality="111007") == [D("2027-07-01")]
    assert runcalendar.run_days("KB300", D("2028-04-01"), D("2029-03-31"), municipality="111007") == [D("2028-07-03")]
    decision = runcalendar.scheduled_run_day("KB300", D("2027-07-01"), municipality="111007")
    assert decision.run and not decision.warning
    # 異動賦課 of FY2027 starts after that 当初賦課, as in FY2026
    assert runcalendar.run_days("KB310", D("2027-04-01"), D("2027-07-31"), municipality="111007") == [D("2027-07-16")]


def test_kokuho_rundays_kb300_fy2027(capsys):
    from jobs.cli import main

    assert main(["rundays", "KB300", "--from", "2027-04-01", "--to", "2028-03-31"]) == 0
    assert capsys.readouterr().out.split() == ["2027-07-01", "木"]


def test_a_fiscal_year_file_still_overrides_the_rule():
    cfg = Config(data={**cfg_with(run_date=D("2026-07-08")).data,
                       "initial_assessment": {"run_date": "2026-07-08", "month_day": "07-01"}},
                 municipality="111007", fy=2026)
    assert runcalendar.initial_assessment_date(cfg) == D("2026-07-08")
    assert runcalendar.decide("KB300", D("2026-07-08"), cfg).run
    assert not runcalendar.decide("KB300", D("2026-07-01"), cfg).run


@pytest.mark.parametrize("month_day, fy, expected", [
    ("07-01", 2027, "2027-07-01"),
    ("03-15", 2027, "2028-03-15"),   # a month before April belongs to the fiscal year's next calendar year
    ("04-01", 2030, "2030-04-01"),
])
def test_initial_assessment_month_day_in_the_fiscal_year(month_day, fy, expected):
    data = {k: v for k, v in CFG_2026.data.items() if k != "initial_assessment"}
    cfg = Config(data={**data, "initial_assessment": {"month_day": month_day}}, municipality="111007", fy=fy)
    assert runcalendar.initial_assessment_date(cfg) == D(expected)


def test_bad_month_day_is_a_config_error():
    data = {k: v for k, v in CFG_2026.data.items() if k != "initial_assessment"}
    cfg = Config(data={**data, "initial_assessment": {"month_day": "July"}}, municipality="111007", fy=2027)
    with pytest.raises(ConfigError):
        runcalendar.initial_assessment_date(cfg)


def test_installments_of_a_fiscal_year_without_a_folder():
    """The 普通徴収 納期 come from config/municipalities/111007/installments.yaml for any year."""
    cfg = load("111007", 2027)
    assert cfg.get("installments.ordinary.months") == [7, 8, 9, 10, 11, 12, 1, 2, 3]
    assert cfg.get("installments.ordinary.due_day") == "end"
    assert cfg.get("installments.unit") == 1000
    assert load("111007", 2026).get("installments.ordinary.months") == cfg.get("installments.ordinary.months")


def test_business_day_rule_lists_the_open_days():
    days = runcalendar.run_days("business_day", D("2026-12-24"), D("2027-01-05"), municipality="111007")
    assert days == [D("2026-12-24"), D("2026-12-25"), D("2026-12-28"), D("2027-01-04"), D("2027-01-05")]
    assert runcalendar.next_run_days("business_day", D("2026-12-28"), 2, municipality="111007") == \
        [D("2027-01-04"), D("2027-01-05")]
    assert runcalendar.next_run_days("KB300", D("2026-07-01"), 1, municipality="111007") == [D("2027-07-01")]
    assert runcalendar.previous_run_day("KB300", D("2027-07-01"), municipality="111007") == D("2026-07-01")
