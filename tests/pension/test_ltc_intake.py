"""FK035 介護保険台帳取込 → ltc_premium, and FK120 特別徴収判定 reading it: on the synthetic city
特別徴収 really happens, and without the 介護保険 data it is a warning, never a silent 0."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from jobs import registry
from jobs.common import datasets, errorlist, paths
from jobs.common import fixedwidth as fw
from jobs.runner import run_job

INSURED = 400
SEED = 20260601
INTAKE_DATE = "2026-06-01"
ASSESS_DATE = "2026-07-01"
GEN = "m111007_fy2026_d"
LTC_COLUMNS = ["source_file", "source_sha256", "record_no", "record_kind", "municipality_code", "person_id",
               "ltc_insured_number", "ltc_acquired_date", "ltc_lost_date", "ltc_premium_annual", "ltc_withholding",
               "ltc_payer_code", "ltc_pension_code", "basic_pension_number"]


@pytest.fixture
def city(kokuho_var: Path) -> Path:
    from jobs.synth.cli import main

    assert main(["--insured", str(INSURED), "--seed", str(SEED), "--out", str(kokuho_var / "inbox"), "--quiet"]) == 0
    for job in ("FK020", "FK010", "FK030"):
        r = run_job(job, business_date=INTAKE_DATE)
        assert r.rc == 0, (job, r.log_text)
    return kokuho_var


def test_fk035_is_in_kb100_with_a_soft_wait():
    net = registry.jobnet("KB100")
    assert "FK035" in net.steps
    spec = registry.get("FK035")
    assert spec.inbox == "kaigo" and spec.datasets["data"] == "ltc_premium"
    assert spec.wait.soft_fail and spec.wait.timeout_env == "KOKUHO_KAIGO_FILE_WAIT_MINUTES"
    assert "FK020" in spec.after  # the 個人番号 is verified against person_key


def test_fk035_writes_ltc_premium_and_fk120_withholds(city):
    r = run_job("FK035", business_date=INTAKE_DATE)
    assert r.rc == 0, r.log_text
    t = r.totals
    assert t.read == t.accepted + t.rejected and t.rejected == 0
    prem = datasets.read("ltc_premium", GEN + "20260601")
    assert prem.columns == LTC_COLUMNS
    assert prem["person_id"].is_unique().all() and prem.height > 0
    assert "my_number" not in prem.columns
    manifest = __import__("json").loads((city / "inbox" / "synth_manifest.json").read_text("utf-8"))
    assert prem.height == manifest["city"]["ltc_first_insured"]
    assert int(prem["ltc_premium_annual"].sum()) == manifest["city"]["ltc_premium_total"]
    assert r.totals.money["data.ltc_premium_annual"] == manifest["city"]["ltc_premium_total"]
    # the inbox file was taken in (archived)
    assert not list(paths.inbox("kaigo").glob("*.dat"))

    assert run_job("FK110", business_date=ASSESS_DATE).rc == 0
    r120 = run_job("FK120", business_date=ASSESS_DATE)
    assert r120.rc in (0, 4), r120.log_text
    assert not any(m.msg_id == "KKB500W" for m in r120.messages), r120.log_text
    assert any(m.msg_id == "KKB501I" for m in r120.messages)
    judged = datasets.read("withholding", GEN + "20260701")
    withheld = judged.filter(pl.col("eligible"))
    assert withheld.height > 0
    assert (withheld["annual_tax"] + withheld["ltc_premium_annual"] <= withheld["pension_annual"] // 2).all()
    yen = int(withheld["provisional_total"].sum() + withheld["final_total"].sum())
    assert yen > 0
    print(f"\n特別徴収 {withheld.height} 世帯, 特別徴収額 {yen:,} 円 (of {judged.height} households)")


def test_fk120_without_ltc_premium_is_rc4_with_count(city):
    assert run_job("FK110", business_date=ASSESS_DATE).rc == 0
    r = run_job("FK120", business_date=ASSESS_DATE)
    assert r.rc == 4, r.log_text
    n = r.totals.figures["ltc_premium_missing"]
    judged = datasets.read("withholding", GEN + "20260701")
    assert n == judged.filter(pl.col("reason") == "ltc_premium_unknown").height > 0
    assert any(m.msg_id == "KKB500W" and f"{n:,}件" in m.text for m in r.messages)
    assert r.to_dict()["figures"]["ltc_premium_missing"] == n  # the XCom
    rows = errorlist.read(r.error_list).filter(pl.col("項目") == "ltc_premium_annual")
    assert rows.height == n and rows["理由"].str.contains("介護保険料が不明").all()


def test_fk035_lost_and_not_withheld_persons(city):
    """A 介護 資格喪失 before the judgment date → no premium (→ ordinary, counted); 特別徴収区分 0
    (介護 collected by 普通徴収) → 国保税 not withheld either (ltc_not_withheld)."""
    assert run_job("FK035", business_date=INTAKE_DATE).rc == 0
    prem = datasets.read("ltc_premium", GEN + "20260601")
    assert run_job("FK110", business_date=ASSESS_DATE).rc == 0
    assert run_job("FK120", business_date=ASSESS_DATE).rc in (0, 4)
    judged = datasets.read("withholding", GEN + "20260701")
    first = judged.filter(pl.col("eligible")).sort("household_id").row(0, named=True)
    second = judged.filter(pl.col("eligible")).sort("household_id").row(1, named=True)
    layout = fw.load_layout("ltc_ledger")
    rows = prem.drop("source_file", "source_sha256", "record_no").with_columns(
        pl.when(pl.col("person_id") == first["taxpayer_person_id"]).then(pl.lit(dt.date(2026, 6, 20)))
        .otherwise(pl.col("ltc_lost_date")).alias("ltc_lost_date"),
        pl.when(pl.col("person_id") == second["taxpayer_person_id"]).then(pl.lit("0"))
        .otherwise(pl.col("ltc_withholding")).alias("ltc_withholding"),
        pl.lit(None, dtype=pl.String).alias("my_number"))
    frames = {"header": pl.DataFrame([{"record_kind": "1", "municipality_code": "111007",
                                       "creation_date": dt.date(2026, 6, 30), "base_date": dt.date(2026, 6, 30)}]),
              "data": rows, "trailer": pl.DataFrame([{"record_kind": "3", "municipality_code": "111007"}])}
    (paths.inbox("kaigo") / "KAIGO_DAICHO_20260630.dat").write_bytes(fw.write(layout, frames))
    assert run_job("FK035", business_date="2026-06-30").rc == 0
    r = run_job("FK120", business_date=ASSESS_DATE)
    assert r.rc == 4 and r.totals.figures["ltc_premium_missing"] == 1, r.log_text
    again = datasets.read("withholding", GEN + "20260701").filter(
        pl.col("household_id").is_in([first["household_id"], second["household_id"]])).sort("household_id")
    assert again["reason"].to_list() == ["ltc_premium_unknown", "ltc_not_withheld"]
