"""KB100 on ordinary days (issue 12): a file that is not due today is not an error.

config/common/intake_due.yaml: FK020 資格 every business day, FK010 住民税 5月末 and the 1st / 16th,
FK030 Z21 in May (run_calendar.yaml rules). With no file, a step is skipped when nothing is due
(KKB109I), warns on the due day and for ``grace_business_days`` (2) business days after it (KKB110W,
RC 4) and fails after that (KKB110E, RC 8). Nothing is written in any of these cases."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from intake_builders import build, drop, my_number

from jobs.common import bizcal, datasets, runcalendar
from jobs.common import config as config_mod
from jobs.common import fixedwidth as fw
from jobs.intake import due as due_mod
from jobs.runner import run_job

QUAL = fw.load_layout("nhi_qualification")
INCOME = fw.load_layout("resident_tax_income")
N1 = my_number("12345678901")


def _qualification(date: dt.date) -> bytes:
    return build(QUAL, [dict(municipality_code="111007", person_id="0000000001", my_number=N1,
                             household_id="0000000100")],
                 header=[dict(municipality_code="111007", fiscal_year=str(date.year))],
                 trailer=[dict(municipality_code="111007")])


def _income(total_income: int = 1_000_000) -> bytes:
    return build(INCOME, [dict(municipality_code="111007", person_id="0000000001", my_number=N1,
                               fiscal_year="2026", total_income=total_income)],
                 header=[dict(municipality_code="111007", fiscal_year="2026")],
                 trailer=[dict(municipality_code="111007")])


def _take_fk020(date: dt.date):
    drop("shikaku", f"SHIKAKU_{date:%Y%m%d}.dat", _qualification(date))
    r = run_job("FK020", business_date=date)
    assert r.rc == 0, r.log_text
    return r


def _generations(dataset: str) -> list[str]:
    return datasets.generations(dataset, municipality="111007")


def test_fk010_is_skipped_between_its_due_days_and_warns_then_fails_when_late(kokuho_var):
    _take_fk020(dt.date(2026, 6, 1))
    drop("juminzei", "SHOTOKU_20260601.dat", _income())
    assert run_job("FK010", business_date=dt.date(2026, 6, 1)).rc == 0  # due (the 1st) and taken
    before = _generations("resident_tax_income")

    # 6/5: the last due day (6/1) was taken → not due: skipped, with the next due day
    r = run_job("FK010", business_date=dt.date(2026, 6, 5))
    assert (r.rc, r.status) == (0, "skipped"), r.log_text
    assert "KKB109I" in r.log_text and "次回 2026-06-16" in r.log_text and "前回の取込 2026-06-01" in r.log_text
    assert r.to_dict()["skipped"] == r.skipped and "住民税所得ファイル" in r.skipped
    assert not r.outputs and _generations("resident_tax_income") == before

    # 6/16 (Tue) due, missing: RC 4 on the day and two business days after; RC 8 on the third
    for day, late in ((16, 0), (17, 1), (18, 2)):
        r = run_job("FK010", business_date=dt.date(2026, 6, day))
        assert (r.rc, r.status) == (4, "warning"), r.log_text
        assert "KKB110W" in r.log_text and f"開庁日 {late}日経過" in r.log_text and "到着予定 2026-06-16" in r.log_text
        assert r.skipped is None and not r.outputs
    r = run_job("FK010", business_date=dt.date(2026, 6, 19))
    assert r.rc == 8 and "KKB110E" in r.log_text and "開庁日 3日経過 (猶予 2日)" in r.log_text
    assert _generations("resident_tax_income") == before  # nothing written on any of these days

    # the file arrives late: taken on 6/19 whatever the plan says, and then not due until 7/1
    drop("juminzei", "SHOTOKU_20260619.dat", _income(1_200_000))  # (an identical file is refused: KKB107E)
    assert run_job("FK010", business_date=dt.date(2026, 6, 19)).rc == 0
    r = run_job("FK010", business_date=dt.date(2026, 6, 22))
    assert r.status == "skipped" and "次回 2026-07-01" in r.log_text


def test_fk030_z21_is_due_once_a_year_in_may(kokuho_var):
    # never taken, and its last due day (2025-05-26) is in an earlier fiscal year: a new
    # installation is not asked for last year's file → skipped until this year's May
    r = run_job("FK030", business_date=dt.date(2026, 4, 15))
    assert r.status == "skipped" and "KKB109I" in r.log_text and "次回 2026-05-25" in r.log_text, r.log_text
    # 2026-05-25 (Mon) due and missing → warning; the 28th (third business day after) → error
    assert run_job("FK030", business_date=dt.date(2026, 5, 25)).rc == 4
    assert run_job("FK030", business_date=dt.date(2026, 5, 28)).rc == 8


def test_fk020_daily_file_warns_when_missing_then_fails(kokuho_var):
    _take_fk020(dt.date(2026, 6, 15))
    assert run_job("FK020", business_date=dt.date(2026, 6, 16)).rc == 4
    r = run_job("FK020", business_date=dt.date(2026, 6, 18))
    assert r.rc == 4 and "開庁日 2日経過" in r.log_text  # missing since 6/16
    r = run_job("FK020", business_date=dt.date(2026, 6, 19))
    assert r.rc == 8 and "KKB110E" in r.log_text and "到着予定 2026-06-16" in r.log_text


def test_a_step_without_an_arrival_plan_keeps_the_plain_error(kokuho_var):
    r = run_job("SN010", business_date=dt.date(2026, 6, 16))  # 口座振替依頼書: not in intake_due
    assert r.rc == 8 and "KKB103E" in r.log_text


def test_the_arrival_plan_is_checked():
    cfg = config_mod.load("111007", 2026)
    assert due_mod.due_of("SN010", cfg) is None
    d = due_mod.due_of("FK010", cfg)
    assert d is not None and not d.every_business_day and len(d.rules) == 2 and d.grace == 2

    class Bad:
        data = {"intake_due": {"grace_business_days": 2,
                               "files": {"FK010": {"every_business_day": True, "rules": ["pension_z21_file"]}}}}

        def get(self, key, default=config_mod._MISSING):
            node = self.data
            for part in key.split("."):
                if not isinstance(node, dict) or part not in node:
                    if default is config_mod._MISSING:
                        raise config_mod.ConfigError(key)
                    return default
                node = node[part]
            return node

    with pytest.raises(config_mod.ConfigError, match="どちらか一方"):
        due_mod.due_of("FK010", Bad())


CAL = bizcal.BusinessCalendar.from_config(config_mod.load("111007", 2026))
RULES = [runcalendar.monthly_rule(n, config_mod.load("111007", 2026))
         for n in ("resident_tax_initial_file", "resident_tax_change_file", "pension_z21_file", "month_close")]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(day=st.dates(dt.date(2026, 4, 1), dt.date(2028, 3, 31)), k=st.integers(0, len(RULES) - 1))
def test_previous_run_day_is_the_last_run_day_on_or_before(day, k):
    rule = RULES[k]
    prev = rule.previous_run_day(day, CAL)
    assert prev is not None and prev <= day and rule.is_run_day(prev, CAL)
    nxt = rule.next_run_day(prev, CAL)
    assert nxt is None or nxt > day  # no run day between them
