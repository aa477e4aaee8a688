"""The conditions of the cross-net waits (issue 12; jobs/common/dataset_waits.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from jobs.common import config, dataset_waits, datasets

D = dt.date
CITY, OTHER = "111007", "112011"


def put(dataset: str, municipality: str, fy: int, day: dt.date) -> str:
    gen = datasets.generation_name(municipality, fy, day)
    datasets.write(dataset, gen, pl.DataFrame({"x": [1]}))
    return gen


def test_initial_file_due_is_the_rolled_may_31():
    # run_calendar resident_tax_initial_file: 05-31, roll backward; 2026-05-31 is a Sunday → Friday 05-29
    assert dataset_waits.initial_file_due(2026, config.load(CITY, 2026)) == D(2026, 5, 29)
    assert dataset_waits.initial_file_due(2027, config.load(CITY, 2027)) == D(2027, 5, 31)  # a Monday


def test_resident_tax_initial_needs_a_generation_of_the_year_from_the_due_day():
    def found(business_date=D(2026, 7, 1), fy=2026, municipality=CITY):
        return dataset_waits.resident_tax_initial("resident_tax_income", business_date=business_date, fy=fy,
                                                  municipality=municipality)

    assert found() is None  # nothing taken yet
    put("resident_tax_income", CITY, 2026, D(2026, 4, 16))  # a 異動 file of April: before the 当初 file
    put("resident_tax_income", CITY, 2025, D(2026, 3, 16))  # the year before
    put("resident_tax_income", OTHER, 2026, D(2026, 6, 1))  # another municipality's 当初
    put("resident_tax_income", CITY, 2026, D(2026, 7, 2))  # after the run's business date
    assert found() is None
    gen = put("resident_tax_income", CITY, 2026, D(2026, 5, 29))  # on the due day
    assert found() == gen == "m111007_fy2026_d20260529"
    later = put("resident_tax_income", CITY, 2026, D(2026, 6, 16))
    assert found() == later  # the newest that meets it
    assert found(fy=2027, business_date=D(2027, 7, 1)) is None
    assert found(municipality=OTHER) == "m112011_fy2026_d20260601"


def test_same_business_date_needs_that_days_generation():
    def found(business_date=D(2026, 7, 27), fy=2026, municipality=CITY):
        return dataset_waits.same_business_date("levy_registration", business_date=business_date, fy=fy,
                                                municipality=municipality)

    assert found() is None
    put("levy_registration", CITY, 2026, D(2026, 7, 24))  # the business day before
    put("levy_registration", OTHER, 2026, D(2026, 7, 27))  # another municipality's
    assert found() is None
    gen = put("levy_registration", CITY, 2026, D(2026, 7, 27))
    assert found() == gen
    assert found(fy=2025) == gen  # the date decides, whatever fiscal year the KB400 run was given


@pytest.mark.parametrize(("condition", "words"), [
    ("jobs.common.dataset_waits:resident_tax_initial", "住民税当初"),
    ("jobs.common.dataset_waits:same_business_date", "同じ業務日"),
])
def test_describe(condition, words):
    assert words in dataset_waits.describe(condition)


def test_resident_tax_change_waits_only_on_a_change_file_day():
    def found(day):
        return dataset_waits.resident_tax_change("resident_tax_income", business_date=day, fy=2026, municipality=CITY)

    nothing = found(D(2026, 10, 20))  # not the 1st or the 16th: nothing to wait for
    assert isinstance(nothing, dataset_waits.Nothing) and "住民税異動ファイル到着予定" in nothing
    assert found(D(2026, 10, 16)) is None  # a due day (a Friday) without that day's intake
    put("resident_tax_income", CITY, 2026, D(2026, 10, 15))  # the day before: not enough
    put("resident_tax_income", OTHER, 2026, D(2026, 10, 16))  # another city's
    assert found(D(2026, 10, 16)) is None
    gen = put("resident_tax_income", CITY, 2026, D(2026, 10, 16))
    assert found(D(2026, 10, 16)) == gen
    # 2026-11-01 is a Sunday: the due day is Monday 11-02
    assert found(D(2026, 11, 2)) is None and isinstance(found(D(2026, 11, 4)), dataset_waits.Nothing)


def _levy_file(kind: str, day: dt.date, municipality: str = CITY) -> None:
    from jobs.common import paths

    folder = paths.outbox("ledger")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"levy_{kind}_{datasets.generation_name(municipality, 2026, day)}.dat").write_bytes(b"x")


def test_assessment_levy_files_wait_for_the_nets_of_the_day():
    def found(day):
        return dataset_waits.assessment_levy_files("levy_file", business_date=day, fy=2026, municipality=CITY)

    # no 賦課 job net runs on 2026-10-20 (not the 1st/16th, not an odd month's 20th, not 07-01)
    assert isinstance(found(D(2026, 10, 20)), dataset_waits.Nothing)
    # KB300 on its 当初賦課 day 07-01 (KB310 does not run then: not after the 当初賦課)
    assert dataset_waits.levy_files_due(D(2026, 7, 1), 2026, CITY) == {
        "KB300": ["FK140 levy_initial_m111007_fy2026_d20260701.dat"]}
    assert found(D(2026, 7, 1)) is None
    _levy_file("initial", D(2026, 7, 1), OTHER)  # another city's file does not count
    assert found(D(2026, 7, 1)) is None
    _levy_file("initial", D(2026, 7, 1))
    assert found(D(2026, 7, 1)) == "KB300 終了"
    # KB310 on a 異動賦課 day: FK220's file of the day
    assert found(D(2026, 10, 16)) is None
    _levy_file("correction", D(2026, 10, 16))
    assert found(D(2026, 10, 16)) == "KB310 終了"
    # KB520 on a pension_apply day (11-20, odd month): TK325 done; TK340's file only when TK330 corrected
    day = D(2026, 11, 20)
    assert dataset_waits.levy_files_due(day, 2026, CITY) == {"KB520": ["TK325 pension_change_results m111007_fy2026_d20261120"]}
    put("pension_change_results", CITY, 2026, day)
    assert found(day) == "KB520 終了"  # no stop that day: no 調定 file
    datasets.write("corrections", datasets.generation_name(CITY, 2026, day), pl.DataFrame({"x": [1]}),
                   totals={"job_id": "TK330"})
    assert found(day) is None  # TK330 corrected: TK340's file is due
    _levy_file("correction", day)
    assert found(day) == "KB520 終了"
