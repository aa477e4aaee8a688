"""The synthetic city's files: determinism, codec round trip, trailers = manifest, consistency."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from synth_helpers import SMALL_N, SMALL_SEED, run_synth

from jobs.common import fixedwidth as fw
from jobs.common import mynumber
from jobs.synth.config import load_config

FILES = {
    "shikaku": ("nhi_qualification", "KOKUHO_SHIKAKU_20260601.dat"),
    "juminzei": ("resident_tax_income", "JUMINZEI_TOSHO_2026.dat"),
    "nenkin": ("tokucho_z21", "Z2100001.dta"),
    "koufuri": ("direct_debit_mandate", "KOUFURI_IRAI_20260601.dat"),
    "kaigo": ("ltc_ledger", "KAIGO_DAICHO_20260601.dat"),
}


def _read(out: Path, manifest: dict, key: str) -> fw.ReadResult:
    f = manifest["files"][key]
    return fw.read(fw.load_layout(f["layout"]), out / f["path"], keep_secrets=True)


def _all_bytes(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


# --- determinism -------------------------------------------------------------------------------

def test_same_seed_same_bytes_and_different_seed_different_bytes(tmp_path, small_city):
    out, _ = small_city
    again = tmp_path / "again"
    run_synth(again, SMALL_N, SMALL_SEED)
    first, second = _all_bytes(out), _all_bytes(again)
    assert sorted(first) == sorted(second) == sorted(
        [f"{k}/{name}" for k, (_, name) in FILES.items()] + ["synth_manifest.json"])
    for name in first:
        assert first[name] == second[name], f"{name} differs between two runs with the same seed"

    other = tmp_path / "other"
    run_synth(other, SMALL_N, SMALL_SEED + 1)
    third = _all_bytes(other)
    for k, (_, name) in FILES.items():
        assert third[f"{k}/{name}"] != first[f"{k}/{name}"], f"{name} is the same for two seeds"


def test_no_staging_left_behind(small_city):
    out, _ = small_city
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert not [p for p in out.rglob("*.tmp-*")]


# --- codec round trip and the manifest as oracle -----------------------------------------------

@pytest.mark.parametrize("key", sorted(FILES))
def test_file_reads_back_with_zero_rejects_and_totals_equal_manifest(small_city, key):
    out, manifest = small_city
    f = manifest["files"][key]
    assert f["layout"] == FILES[key][0] and f["path"].endswith(FILES[key][1])
    raw = (out / f["path"]).read_bytes()
    assert f["bytes"] == len(raw)
    res = _read(out, manifest, key)
    assert res.rejects.height == 0
    assert res.warnings == []
    assert res.totals["rejected"] == 0
    assert res.totals["by_type"] == f["records"]
    assert res.totals["money"] == f["money"]
    # each trailer in the file carries the counts and sums the manifest promises, group by group
    trailer = res.frames["trailer"].drop("record_no")
    got = [{k: row[k] for k in want} for row, want in zip(trailer.iter_rows(named=True), f["trailers"])]
    assert got == f["trailers"] and len(f["trailers"]) == f["groups"] == f["records"]["header"]


def test_money_totals_are_the_sums_of_the_records(small_city):
    out, manifest = small_city
    res = _read(out, manifest, "juminzei")
    d = res.frames["data"]
    money = manifest["files"]["juminzei"]["money"]
    assert money["data.total_income"] == d["total_income"].sum() > 0
    assert money["data.business_income"] == d["business_income"].sum()
    assert (d["business_income"] < 0).any(), "losses (zoned, negative) are exercised"
    z = _read(out, manifest, "nenkin")
    assert manifest["files"]["nenkin"]["money"]["data.amount1"] == z.frames["data"]["amount1"].sum() > 0


def test_z21_lead_in_and_groups(small_city):
    out, manifest = small_city
    res = _read(out, manifest, "nenkin")
    cfg = load_config()
    assert res.lead_in["municipality_code"] == cfg.municipality_code[:5]
    assert res.lead_in["record_count"] == sum(manifest["files"]["nenkin"]["records"].values())
    heads = res.frames["header"]
    assert heads["payer_code"].to_list() == sorted(heads["payer_code"].to_list())
    assert heads["payer_code"].n_unique() == heads.height > 1
    assert set(res.frames["data"]["category"].unique()) <= {"01", "02"}
    raw = (out / manifest["files"]["nenkin"]["path"]).read_bytes()
    assert (len(raw) - 96) % 500 == 0 and b"\r\n" not in raw[96:]


# --- the city is consistent ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def frames(small_city):
    out, manifest = small_city
    return {k: _read(out, manifest, k).frames for k in FILES}


def test_every_my_number_is_valid(frames, small_city):
    _, manifest = small_city
    for key in ("shikaku", "juminzei"):
        mn = frames[key]["data"]["my_number"]
        present = mn.drop_nulls()
        assert present.len() > 0.99 * mn.len()
        assert mynumber.valid_mask(present).all()
        assert mn.null_count() == (manifest["city"]["my_numbers_blank"] if key == "shikaku" else mn.null_count())
    q = frames["shikaku"]["data"]
    assert q["my_number"].drop_nulls().n_unique() == q["my_number"].drop_nulls().len()
    assert q["person_id"].n_unique() == q.height


def test_insured_count_is_n_and_households_are_well_formed(frames, small_city):
    _, manifest = small_city
    q = frames["shikaku"]["data"]
    fy_start = dt.date(manifest["fiscal_year"], 4, 1)
    former = (pl.col("lost_reason") == "04") & (pl.col("lost_date") <= fy_start)
    insured = q.filter(pl.col("acquired_date").is_not_null() & ~former.fill_null(False))
    assert insured.height == SMALL_N == manifest["city"]["insured"]
    heads = q.group_by("household_id").agg(pl.col("householder_flag").eq("1").sum().alias("heads"))
    assert (heads["heads"] == 1).all() and heads.height == manifest["city"]["households"]
    # the nominal flag only on householders; a never-insured 擬制世帯主 has no 資格取得
    assert q.filter((pl.col("nominal_householder_flag") == "1") & (pl.col("householder_flag") != "1")).height == 0
    nominal_never = q.filter((pl.col("nominal_householder_flag") == "1") & pl.col("acquired_date").is_null())
    assert nominal_never.height > 0
    # dates in order
    both = q.filter(pl.col("lost_date").is_not_null() & pl.col("acquired_date").is_not_null())
    assert (both["lost_date"] > both["acquired_date"]).all()
    assert (q.drop_nulls("acquired_date")["acquired_date"] >= q.drop_nulls("acquired_date")["birth_date"]).all()
    # 特定同一世帯所属者 moved to 後期高齢者医療
    spec = q.filter(pl.col("specified_same_household") == "1")
    assert spec.height > 0 and (spec["lost_reason"] == "04").all()
    # 旧被扶養者 joined at 65 or later
    fd = q.filter(pl.col("former_dependent") == "1")
    age_at = fd.select(((pl.col("acquired_date") - pl.col("birth_date")).dt.total_days() / 365.25).alias("a"))["a"]
    assert fd.height > 0 and (age_at >= 64.9).all()
    # 非自発的失業: a separation date comes with a reason code, the day before joining
    sep = q.filter(pl.col("separation_date").is_not_null())
    assert sep.height > 0 and sep["separation_reason_code"].null_count() == 0
    assert (sep["separation_date"] == sep["acquired_date"] - dt.timedelta(days=1)).all()


def test_incomes_are_consistent(frames):
    q, r = frames["shikaku"]["data"], frames["juminzei"]["data"]
    assert set(r["person_id"]) <= set(q["person_id"])
    assert (r["salary_income"] <= r["salary_revenue"]).all()
    assert (r["pension_income"] <= r["pension_revenue"]).all()
    assert (r["aggregate_income"] >= r["total_income"]).all() and (r["total_income"] >= 0).all()
    und = r.filter(pl.col("declaration_kind") == "0")
    assert und.height > 0
    amounts = [c for c in r.columns if r[c].dtype == pl.Int64 and c != "record_no"]
    assert und.select(pl.sum_horizontal(pl.col(amounts).abs())).to_series().sum() == 0
    # 専従者給与: what the 事業主 deducts, the 専従者 receives
    assert r["family_employee_deduction"].sum() == r["family_employee_salary"].sum() > 0


def test_mandates_refer_to_householders(frames):
    q, k = frames["shikaku"]["data"], frames["koufuri"]["data"]
    heads = q.filter(pl.col("householder_flag") == "1").select("person_id", "household_id", "name_kana")
    joined = k.join(heads, left_on="payer_person_id", right_on="person_id", how="left")
    assert joined["household_id_right"].null_count() == 0
    assert (joined["household_id"] == joined["household_id_right"]).all()
    from jobs.common.fixedwidth.charsets import normalize_zengin

    assert joined["account_holder"].to_list() == [normalize_zengin(n) for n in joined["name_kana"].to_list()]
    assert set(k["registration_kind"].unique()) <= {"1", "2", "3"}
    stops = k.filter(pl.col("registration_kind") == "3")
    assert stops["stop_reason"].null_count() == 0
    assert k.filter(pl.col("registration_kind") != "3")["stop_reason"].null_count() == k.height - stops.height


def test_z21_people_are_insured_65_to_74_with_enough_pension(frames, small_city):
    _, manifest = small_city
    q, z = frames["shikaku"]["data"], frames["nenkin"]["data"]
    cfg = load_config()
    tk = cfg["tokucho"]
    joined = z.join(q, on=["name_kanji", "birth_date"], how="left", suffix="_q")
    assert joined["person_id"].null_count() == 0
    fy_start = dt.date(manifest["fiscal_year"], 4, 1)
    ages = joined.select(((pl.lit(fy_start) - pl.col("birth_date")).dt.total_days() / 365.25).alias("a"))["a"]
    assert ((ages >= tk["age_low"]) & (ages < tk["age_high"] + 1)).all()
    assert (z["amount1"] * int(tk["amount1_divisor"]) + int(tk["amount1_divisor"]) > int(tk["pension_min"])).all()
