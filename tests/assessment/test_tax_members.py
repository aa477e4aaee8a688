"""members.py: the member-year frame from the intake datasets (国保資格 + 住民税所得)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from jobs.assessment import engine, members
from jobs.assessment.rates import TaxRates
from jobs.common import fixedwidth as fw

FY = 2026


@pytest.fixture(scope="module")
def city_files(tmp_path_factory) -> Path:
    from jobs.synth.cli import main

    out = tmp_path_factory.mktemp("tax_city")
    assert main(["--insured", "600", "--seed", "4242", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def intake(city_files):
    q = fw.read(fw.load_layout("nhi_qualification"), next((city_files / "shikaku").glob("*.dat"))).frames["data"]
    i = fw.read(fw.load_layout("resident_tax_income"), next((city_files / "juminzei").glob("*.dat"))).frames["data"]
    return q, i


def test_one_row_per_person_with_the_contract_columns(intake):
    q, i = intake
    m = members.build_members(q, i, fy=FY, rates=TaxRates.load("111007", FY))
    assert m.height == q.height
    assert m.columns == list(members.SCHEMA)
    assert m["person_id"].n_unique() == m.height
    assert m.schema["total_income"] == pl.Int64 and m.schema["birth_date"] == pl.Date


def test_no_record_and_undeclared_are_told_apart(intake):
    q, i = intake
    rates = TaxRates.load("111007", FY)
    m = members.build_members(q, i, fy=FY, rates=rates)
    with_record = set(i["person_id"].to_list())
    assert set(m.filter(pl.col("has_income_record"))["person_id"].to_list()) == with_record & set(q["person_id"].to_list())
    undeclared_ids = set(i.filter(pl.col("declaration_kind") == "0")["person_id"].to_list())
    got = m.filter(pl.col("has_income_record") & ~pl.col("declared"))
    assert set(got["person_id"].to_list()) == undeclared_ids
    # no record: born in the fiscal year's calendar year → declared (no income); moved in → not
    none = m.filter(~pl.col("has_income_record"))
    assert none.height > 0
    born_late = none.filter(pl.col("birth_date") >= dt.date(FY, 1, 1))
    assert born_late["declared"].all()
    assert not none.filter(pl.col("birth_date") < dt.date(FY, 1, 1))["declared"].any()
    assert (none["total_income"] == 0).all()


def test_total_income_includes_separate_taxation(intake):
    q, i = intake
    m = members.build_members(q, i, fy=FY, rates=TaxRates.load("111007", FY))
    j = m.join(i.select("person_id", pl.col("total_income").alias("file_total"),
                        (pl.col("separate_transfer_income") + pl.col("separate_dividend_income")
                         + pl.col("forest_income")).alias("sep")), on="person_id")
    assert (j["total_income"] == j["file_total"] + j["sep"]).all()
    assert (j["separate_income"] == j["sep"]).all()


def test_insured_flag_follows_the_dates(intake):
    q, i = intake
    m = members.build_members(q, i, fy=FY, rates=TaxRates.load("111007", FY))
    nominal_never = m.filter(pl.col("is_nominal_householder") & pl.col("acquired_date").is_null())
    assert nominal_never.height > 0 and not nominal_never["is_insured"].any()
    left_before = m.filter(pl.col("lost_date") <= dt.date(FY, 4, 1))
    assert not left_before["is_insured"].any()
    assert m.filter(pl.col("acquired_date").is_not_null() & pl.col("lost_date").is_null())["is_insured"].all()


def test_the_engine_assesses_every_household_of_the_files(intake):
    q, i = intake
    rates = TaxRates.load("111007", FY)
    out = engine.assess(members.build_members(q, i, fy=FY, rates=rates), rates)
    assert out.height == q["household_id"].n_unique()
    assert (out["annual_tax"] > 0).sum() > 0.9 * out.height


def test_latest_income_record_wins_and_config_builds_the_rates():
    q = pl.DataFrame({"person_id": ["1"], "household_id": ["9"], "householder_flag": ["1"],
                      "nominal_householder_flag": ["0"], "birth_date": [dt.date(1970, 1, 1)],
                      "acquired_date": [dt.date(2000, 1, 1)], "lost_date": [None]},
                     schema_overrides={"lost_date": pl.Date})
    i = pl.DataFrame({"person_id": ["1", "1"], "fiscal_year": ["2026", "2026"], "change_kind": ["1", "2"],
                      "correction_date": [None, dt.date(2026, 7, 1)], "declaration_kind": ["0", "1"],
                      "total_income": [0, 1_500_000], "aggregate_income": [0, 1_500_000]},
                     schema_overrides={"correction_date": pl.Date})
    from jobs.common import config

    m = members.build_members(q, i, fy=FY, config=config.load("111007", FY))
    assert m.row(0, named=True)["total_income"] == 1_500_000
    assert m.row(0, named=True)["declared"] is True


def test_rates_of_another_year_are_refused():
    with pytest.raises(ValueError, match="年度"):
        members.build_members(pl.DataFrame({"person_id": [], "household_id": []}), pl.DataFrame({"person_id": []}),
                              fy=2025, rates=TaxRates.load("111007", FY))
