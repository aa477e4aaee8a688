"""Which fiscal year ``make demo-year`` runs (jobs/demo_year/plan.py ``config_year_needs``,
``choose_fiscal_year``; driver ``choose_year``): the latest one whose every statutory figure is in
config — the tax config of the year (common and the city's) and a 延滞金 rate for every day up to its
出納閉鎖 — never a guessed figure; and the whole FY2025 plan."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil

import pytest
import yaml

from jobs.common import bizcal, config, paths, runcalendar
from jobs.demo_year import plan as yp
from jobs.demo_year.driver import choose_year

MUNI = "111007"
D = dt.date


def test_first_uncovered_day_walks_contiguous_periods_and_finds_the_first_gap():
    periods = [(D(2026, 1, 1), D(2026, 12, 31)), (D(2022, 1, 1), D(2025, 12, 31))]   # unsorted, contiguous
    assert yp.first_uncovered_day(periods, D(2025, 4, 1), D(2026, 5, 31)) is None
    assert yp.first_uncovered_day(periods, D(2026, 4, 1), D(2027, 5, 31)) == D(2027, 1, 1)
    assert yp.first_uncovered_day(periods, D(2021, 4, 1), D(2022, 5, 31)) == D(2021, 4, 1)   # before the first
    gap = [(D(2024, 1, 1), D(2024, 6, 30)), (D(2024, 8, 1), D(2025, 12, 31))]
    assert yp.first_uncovered_day(gap, D(2024, 4, 1), D(2025, 5, 31)) == D(2024, 7, 1)
    assert yp.first_uncovered_day([], D(2024, 4, 1), D(2024, 4, 1)) == D(2024, 4, 1)
    assert yp.first_uncovered_day([(D(2024, 4, 1), D(2024, 4, 1))], D(2024, 4, 1), D(2024, 4, 1)) is None


def _needs(fy, *, tax=(2024, 2025, 2026), city=(2024, 2025, 2026), rates_to=D(2026, 12, 31)):
    return yp.year_needs(fy, label=f"{fy}年度", first_day=D(fy, 4, 1), closing_day=D(fy + 1, 5, 31),
                         tax_years=tax, city_tax_years=city, rate_periods=[(D(2014, 1, 1), rates_to)])


def test_a_year_needs_its_tax_config_and_a_late_fee_rate_to_its_cash_closing():
    assert _needs(2025).covered and _needs(2025).closing_day == D(2026, 5, 31)
    n26 = _needs(2026)
    assert not n26.covered and n26.missing == ("the 2027 延滞金 rate (late_fee.rates has none for 2027-01-01)",)
    assert _needs(2026, rates_to=D(2027, 12, 31)).covered
    n27 = _needs(2027, rates_to=D(2028, 12, 31))
    assert n27.missing == ("the 2027 tax config (config/common/tax/fy2027.yaml)",)   # not the city's as well
    with_refund = yp.year_needs(2026, label="", first_day=D(2026, 4, 1), closing_day=D(2027, 5, 31), tax_years=[2026],
                                city_tax_years=[2026], rate_periods=[(D(2014, 1, 1), D(2027, 12, 31))],
                                refund_periods=[(D(2014, 1, 1), D(2026, 12, 31))])
    assert with_refund.missing == ("the 2027 還付加算金 rate (refund.interest.rates has none for 2027-01-01)",)
    assert _needs(2026, city=(2025,), rates_to=D(2027, 12, 31)).missing == (
        "the city's 2026 tax rates (fy2026/tax.yaml)",)


def test_the_latest_covered_year_is_chosen_and_the_next_one_says_what_it_lacks():
    needs = [_needs(2024), _needs(2025), _needs(2026), _needs(2027)]
    best, after = yp.choose_fiscal_year(needs)
    assert best.fy == 2025 and after.fy == 2026
    assert yp.describe_choice(best, after) == (
        "FY2025 (2025年度): the latest fiscal year config covers (to its 出納閉鎖 2026-05-31); "
        "FY2026 needs the 2027 延滞金 rate (late_fee.rates has none for 2027-01-01)")
    # a gap in an earlier year does not stop a later covered one; none covered: no choice
    best, after = yp.choose_fiscal_year([_needs(2025, tax=(2026,)), _needs(2026, rates_to=D(2027, 12, 31))])
    assert best.fy == 2026 and after is None
    assert yp.choose_fiscal_year([_needs(2027)]) == (None, _needs(2027))
    assert yp.describe_choice(None, _needs(2027)).startswith("no fiscal year is covered by config; FY2027 needs")


def test_the_era_label_of_a_fiscal_year():
    eras = config.load_common().get("eras")
    assert yp.fiscal_year_label(2025, D(2025, 4, 1), eras) == "令和7年度"
    assert yp.fiscal_year_label(2020, D(2020, 4, 1), eras) == "令和2年度"
    assert yp.fiscal_year_label(2018, D(2018, 4, 1), eras) == "平成30年度"


def test_config_today_chooses_a_year_covered_to_its_cash_closing():
    """Read from the real config: the chosen year's rates reach its 出納閉鎖 and the year after it lacks
    something config does not have (today: FY2025, and FY2026 lacks the 2027 rate, NOT FOUND)."""
    from jobs.arrears.late_fee import LateFeeRules

    needs = yp.config_year_needs(MUNI)
    best, after = yp.choose_fiscal_year(needs)
    assert best is not None and best.covered and after is not None and after.missing
    rates_end = max(p.end for p in LateFeeRules.from_config(config.load(MUNI, best.fy)).periods)
    assert best.closing_day <= rates_end < after.closing_day or any("tax" in m for m in after.missing)
    assert [n.fy for n in needs] == sorted(n.fy for n in needs)


@pytest.fixture
def config_copy(tmp_path):
    root = tmp_path / "config"
    shutil.copytree(paths.config_root(), root)
    return root


def test_adding_the_next_years_rate_makes_that_year_the_default(config_copy):
    """The choice follows config, not code: once late_fee.rates and refund.interest.rates have a row for the
    year after their last one (with its source), the next fiscal year is covered; the one after it then needs
    its tax config."""
    path = config_copy / "common" / "late_fee.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    last = max(doc["late_fee"]["rates"], key=lambda r: str(r["to"]))
    nxt = D(int(str(last["to"])[:4]) + 1, 1, 1)
    doc["late_fee"]["rates"].append({**last, "from": nxt, "to": D(nxt.year, 12, 31), "source": "test"})
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    path = config_copy / "common" / "refund.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    rates = doc["refund"]["interest"]["rates"]
    last = max(rates, key=lambda r: str(r["to"]))
    rates.append({**last, "from": D(int(str(last["to"])[:4]) + 1, 1, 1), "to": D(nxt.year, 12, 31), "source": "test"})
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    before = yp.choose_fiscal_year(yp.config_year_needs(MUNI))[0]
    best, after = yp.choose_fiscal_year(yp.config_year_needs(MUNI, root=config_copy))
    assert best.fy == before.fy + 1 and after.fy == best.fy + 1
    assert any(f"fy{after.fy}.yaml" in m for m in after.missing)


def test_the_driver_defaults_to_the_chosen_year_and_its_first_file_day(capsys):
    args = argparse.Namespace(fy=None, intake_date=None, municipality=MUNI)
    choose_year(args)
    best = yp.choose_fiscal_year(yp.config_year_needs(MUNI))[0]
    assert args.fy == best.fy and f"FY{best.fy} ({best.label})" in capsys.readouterr().out
    cal = bizcal.BusinessCalendar.from_config(config.load(MUNI, args.fy))
    assert cal.is_business_day(args.intake_date) and cal.fiscal_year(args.intake_date) == args.fy
    # FY2025: the synthetic city's 06-01 is a Sunday → Monday the 2nd; an explicit year says what it lacks
    args = argparse.Namespace(fy=2025, intake_date=None, municipality=MUNI)
    choose_year(args)
    assert args.intake_date == D(2025, 6, 2)
    args = argparse.Namespace(fy=2026, intake_date=D(2026, 6, 1), municipality=MUNI)
    choose_year(args)
    assert args.intake_date == D(2026, 6, 1) and "FY2026 (--fiscal-year)" in capsys.readouterr().out


def test_the_whole_fy2025_plan_needs_no_rate_config_lacks():
    """FY2025: intake 2025-06-02 → 出納閉鎖 (5/31/2026 is a Sunday: KB710 on Friday the 29th), nine 納期限
    each with its 口座振替 cycle and 督促, and nothing cut for a missing 延滞金 rate."""
    from jobs.arrears.late_fee import LateFeeRules

    cfg = config.load(MUNI, 2025)
    plan = yp.year_plan(2025, municipality=MUNI, intake_date=D(2025, 6, 2))
    cal = bizcal.BusinessCalendar.from_config(cfg)
    assert plan[0].nets == ["KB100"] and plan[-1].date == D(2026, 5, 29) and plan[-1].nets == ["KB710"]
    assert all(cal.is_business_day(d.date) and d.runs for d in plan)
    counts = yp.counts(plan)
    assert counts["KB410"] == counts["KB210"] == counts["KB600"] == 9 and counts["KB300"] == 1
    assert [d.date for d in plan if "KB300" in d.nets] == runcalendar.run_days(
        "initial_assessment", D(2025, 4, 1), D(2026, 3, 31), municipality=MUNI)
    rates_end = max(p.end for p in LateFeeRules.from_config(cfg).periods)
    kept, cut = yp.cut_at_late_fee_rates(plan, rates_end, int(cfg.get("arrears_records.reminder.pay_by_days")))
    assert cut is None and kept == plan
