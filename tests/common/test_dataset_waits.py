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
