"""Distribution sanity of the synthetic city, the income rules it derives, and the name pools.

Shares are checked on one in-memory chunk of 20,000 insured (no files: fast) with tolerances far
wider than the sampling error, so the figures are about the model, not about luck.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from jobs.common import mynumber
from jobs.synth import pools
from jobs.synth.config import load_config
from jobs.synth.population import Constants, generate_chunk, pension_income, salary_income, years_between, ymd

N = 20_000
SEED = 7


@pytest.fixture(scope="module")
def cfg():
    return load_config()


@pytest.fixture(scope="module")
def chunk(cfg):
    return generate_chunk(cfg, Constants.from_seed(SEED), SEED, 0, remaining_insured=N, person_offset=0,
                          household_offset=0, as_of=dt.date(cfg.fiscal_year, 6, 1))


def test_exactly_n_insured(chunk):
    assert chunk.insured == N == chunk.stats["insured"]


def test_age_mix_is_nhi_like(chunk):
    s = chunk.stats
    assert 0.38 <= s["insured_65_74"] / N <= 0.52          # national NHI: about 45% aged 65–74
    assert 0.20 <= s["insured_40_64"] / N <= 0.35          # 介護分 payers
    assert s["insured_0_5_preschool"] > 0.02 * N * 0.5     # 未就学児 exist


def test_mandates_about_40_percent_of_households(chunk):
    share = chunk.stats["mandate_active_households"] / chunk.households
    assert 0.37 <= share <= 0.43
    assert chunk.stats["mandate_records_change"] > 0 and chunk.stats["mandate_records_stop"] > 0


def test_every_special_case_is_present(chunk):
    s = chunk.stats
    for key in ("nominal_householders", "specified_same_household", "former_dependents", "involuntary_unemployed",
                "perinatal", "ltc_exempt", "joined_in_year", "lost_in_year", "households_over_cap_base",
                "tokucho_candidate_households", "households_with_undeclared"):
        assert s[key] > 0, key
    assert 0.03 <= s["nominal_householders"] / chunk.households <= 0.20


def test_undeclared_about_10_percent_of_adults(chunk, cfg):
    inc = chunk.income
    q = chunk.qualification.select("person_id", "birth_date")
    adults = inc.join(q, on="person_id").filter(
        pl.col("birth_date") <= dt.date(cfg.fiscal_year - 16, 4, 1))
    share = (adults["declaration_kind"] == "0").mean()
    assert 0.08 <= share <= 0.12


def test_incomes_have_a_long_tail(chunk):
    total = chunk.income["aggregate_income"]
    assert total.max() > 15_000_000 > 20 * total.median()
    assert (chunk.income["business_income"] < 0).sum() > 0


def test_every_my_number_valid_and_unique(chunk):
    mn = chunk.qualification["my_number"].drop_nulls()
    assert mynumber.valid_mask(mn).all()
    assert mn.n_unique() == mn.len()


def test_broken_my_numbers_only_when_asked(cfg):
    c = generate_chunk(cfg, Constants.from_seed(SEED), SEED, 0, remaining_insured=2000, person_offset=0,
                       household_offset=0, as_of=dt.date(cfg.fiscal_year, 6, 1), broken_my_number_rate=0.1)
    mn = c.qualification["my_number"].drop_nulls()
    bad = int((~mynumber.valid_mask(mn)).sum())
    assert bad == c.stats["my_numbers_broken"]
    assert 0.05 * mn.len() < bad < 0.15 * mn.len()


def test_tokucho_candidates_are_households_of_65_to_74(chunk, cfg):
    tk = cfg["tokucho"]
    p = chunk.pension
    assert p.height > 0 and (p["pension_amount"] >= tk["pension_min"]).all()
    fy_start = dt.date(cfg.fiscal_year, 4, 1)
    ages = years_between(p["birth_date"].to_numpy().astype("datetime64[D]").astype(np.int64),
                         ymd(fy_start.year, 4, 1))
    assert ((ages >= tk["age_low"]) & (ages <= tk["age_high"])).all()
    assert 0 < chunk.stats["tokucho_candidate_households"] < chunk.households


def test_chunks_differ_and_ids_do_not_collide(cfg):
    consts = Constants.from_seed(SEED)
    a = generate_chunk(cfg, consts, SEED, 0, remaining_insured=3000, person_offset=0, household_offset=0,
                       as_of=dt.date(cfg.fiscal_year, 6, 1))
    b = generate_chunk(cfg, consts, SEED, 1, remaining_insured=3000, person_offset=a.persons,
                       household_offset=a.households, as_of=dt.date(cfg.fiscal_year, 6, 1))
    ids = pl.concat([a.qualification["person_id"], b.qualification["person_id"]])
    hh = pl.concat([a.qualification["household_id"].unique(), b.qualification["household_id"].unique()])
    mn = pl.concat([a.qualification["my_number"], b.qualification["my_number"]]).drop_nulls()
    assert ids.n_unique() == ids.len() and hh.n_unique() == hh.len() and mn.n_unique() == mn.len()
    assert (ids.str.len_bytes() == 10).all()


# --- income rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("year,revenue,income", [
    ("2024", 550_999, 0),
    ("2024", 1_000_000, 450_000),
    ("2024", 1_625_000, 1_074_000),          # 別表第五: 1,624,000 以上 1,628,000 未満 -> 1,074,000
    ("2024", 1_700_000, 1_120_000),          # 4,000円 units: 0.6*1,700,000 + 100,000
    ("2024", 2_001_234, 1_320_000),          # floored to 2,000,000 -> 0.7*2,000,000 - 80,000
    ("2024", 5_000_000, 3_560_000),
    ("2024", 10_000_000, 8_050_000),
    ("2025", 650_999, 0),
    ("2025", 1_900_000, 1_250_000),
    ("2025", 3_000_000, 2_020_000),
])
def test_salary_income(cfg, year, revenue, income):
    got = salary_income(np.array([revenue]), cfg["salary_deduction"][year])
    assert int(got[0]) == income


@pytest.mark.parametrize("revenue,age65,income", [
    (1_100_000, True, 0),
    (2_000_000, True, 900_000),
    (3_300_000, True, 2_200_000),
    (4_000_000, True, 2_725_000),
    (600_000, False, 0),
    (1_300_000, False, 700_000),
])
def test_pension_income(cfg, revenue, age65, income):
    got = pension_income(np.array([revenue]), np.array([age65]), cfg["pension_deduction"])
    assert int(got[0]) == income


def test_brackets_are_continuous(cfg):
    for rule in cfg["salary_deduction"].values():
        for upper, _, _ in rule["brackets"][:-1]:
            lo, hi = salary_income(np.array([upper, upper + 4000]), rule)
            assert 0 <= hi - lo <= 4000
    for table in cfg["pension_deduction"].values():
        for upper, _, _ in table[:-1]:
            lo, hi = pension_income(np.array([upper, upper + 1]), np.array([True, True]), {"age65": table, "under65": table})
            assert 0 <= hi - lo <= 1


# --- pools -----------------------------------------------------------------------------------------

def test_pool_kanji_are_jis_x_0208():
    for s in pools.all_pool_kanji():
        e = s.encode("euc_jp")
        assert len(e) == 2 * len(s) and all(b >= 0xA1 for b in e), s


def test_pool_kana_are_half_width():
    for _, kana in (pools.arrays(pools.SURNAMES), pools.arrays(pools.TOWNS)):
        for k in kana:
            assert all(0xFF61 <= ord(c) <= 0xFF9F for c in k), k
    assert pools.to_halfwidth("ショウジ ガ") == "ｼｮｳｼﾞ ｶﾞ"


def test_years_between():
    b = ymd(np.array([2000, 2000, 2000]), np.array([4, 4, 4]), np.array([1, 2, 2]))
    got = years_between(b, ymd(2026, 4, 1))
    assert got.tolist() == [26, 25, 25]
