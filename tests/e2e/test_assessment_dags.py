"""End to end through Airflow: a small synthetic city through KB100 取込, then KB300 当初賦課 and
KB310 異動賦課, each with ``dag.test(run_conf=...)`` on the real DAG files (tests/conftest.py: the
session's temporary metadata DB; the ``kokuho_var`` fixture: this test's own var/).

1. KB100 takes the city in (2026-06-01); KB300 runs as the operator triggers it on the year's
   当初賦課 date: every task succeeds, the steps' control totals in the XComs reconcile (Σ 年税額 of
   FK110 = Σ 期別 of FK130 = 調定 of FK140 = Σ printed by FK150, to the yen), the print file and the
   PDFs are where the README says, and the print file's trailer Σ equals Σ 年税額.
2. A 住民税 異動 arrives (a later generation of the income dataset, as FK010 writes it) and KB310
   runs: FK210 corrects the affected households, FK220 and FK230 deliver the 更正 調定 file and
   the 税額変更通知書 with the same reconciliation.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
import polars as pl
import pytest
from e2e_helpers import load_dag, run_rows, synth_city, task_logs, ti_states

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

INSURED = 300
SEED = 20260701
INTAKE_DATE = "2026-06-01"
ASSESS_DATE = "2026-07-01"  # config/municipalities/111007/fy2026/run_calendar.yaml initial_assessment.run_date
CHANGE_DATE = "2026-10-16"  # a 異動賦課 day (config/common/run_calendar.yaml: the 1st and the 16th)
GEN = "m111007_fy2026_d"


def _run(dag_id: str, business_date: str, day: int):
    dag = load_dag(dag_id)
    # one logical date per run: dag.test() replaces an earlier run of the same DAG and date
    return dag.test(logical_date=pendulum.datetime(2026, 11, day, 9, 0, tz="Asia/Tokyo"),
                    run_conf={"business_date": business_date})


def _assert_all_success(dr) -> None:
    states = ti_states(dr)
    assert dr.state == "success", states
    assert set(states.values()) == {"success"}, states


def test_initial_assessment_and_reassessment_job_nets(kokuho_var: Path, caplog):
    from jobs.assessment import notice_steps
    from jobs.common import datasets
    from jobs.common import fixedwidth as fw

    synth_city(kokuho_var / "inbox", insured=INSURED, seed=SEED)
    _assert_all_success(_run("kokuho_intake", INTAKE_DATE, 1))

    # --- KB300 当初賦課ジョブネット ------------------------------------------------------------------
    dr = _run("kokuho_initial_assessment", ASSESS_DATE, 2)

    _assert_all_success(dr)
    rows = run_rows(dr)
    assert sorted(rows) == ["FK110", "FK120", "FK130", "FK140", "FK150"]
    for job_id, row in rows.items():
        assert row["rc"] == 0 and row["committed"], (job_id, row["messages"])
        assert row["business_date"] == ASSESS_DATE and row["generation"] == GEN + "20260701"
    assessment = datasets.read("assessment", GEN + "20260701")
    households, annual = assessment.height, int(assessment["annual_tax"].sum())
    assert annual > 0
    fk110, fk130, fk140, fk150 = rows["FK110"], rows["FK130"], rows["FK140"], rows["FK150"]
    assert fk110["accepted"] == households and fk110["rejected"] == 0
    assert fk110["money"]["annual_tax"] == annual
    assert fk130["money"]["installments"] == fk140["money"]["installments"] == annual
    assert fk150["money"]["annual_tax"] == fk150["money"]["printed_annual_tax"] == annual
    assert fk150["read"] == fk150["accepted"] == fk150["written"] == households
    # where the notices went (the XCom names them) and what is in them
    dat, pdf_dir = (Path(f) for f in fk150["files"])
    assert dat == kokuho_var / "outbox" / "print" / f"tax_notice_{GEN}20260701.dat"
    assert pdf_dir == kokuho_var / "reports" / "notices" / f"{GEN}20260701"
    printed = fw.read(fw.load_layout("tax_notice_print"), dat)
    assert printed.frames["data"].height == households
    assert printed.frames["trailer"]["annual_tax_total"][0] == annual
    pdfs = notice_steps.pdf_files(pdf_dir, "tax_notice")
    assert pdfs and all(p.stat().st_size > 0 and p.read_bytes().startswith(b"%PDF") for p in pdfs)
    assert fk150["figures"]["pages"] >= households and fk150["figures"]["pdf_files"] == len(pdfs)
    assert (kokuho_var / "outbox" / "ledger" / f"levy_initial_{GEN}20260701.dat").is_file()
    logs = task_logs(caplog.records)
    assert "手動実行" in logs["check_run_day"]
    assert "FK150 納税通知書作成" in logs["control_totals"] and "統制合計表" in logs["control_totals"]

    # --- a 住民税 異動, then KB310 異動賦課ジョブネット --------------------------------------------------
    income = datasets.read("resident_tax_income", GEN + "20260601")
    heads = assessment.filter(pl.col("annual_tax") > 0).sort("household_id")["taxpayer_person_id"].head(4)
    changed = income.filter(pl.col("person_id").is_in(heads.implode())).with_columns(
        (pl.col("total_income") + 1_500_000).alias("total_income"), pl.lit("2").alias("change_kind"))
    datasets.write("resident_tax_income", GEN + "20261016", changed)

    dr = _run("kokuho_reassessment", CHANGE_DATE, 3)

    _assert_all_success(dr)
    rows = run_rows(dr)
    assert sorted(rows) == ["FK210", "FK220", "FK230"]
    notices = datasets.read("change_notices", GEN + "20261016").filter(pl.col("issue_notice"))
    assert 1 <= notices.height <= 4 and (notices["change"] > 0).all()  # a capped or 擬制 head may not change
    fk210, fk220, fk230 = rows["FK210"], rows["FK220"], rows["FK230"]
    assert fk210["money"]["change"] == fk220["money"]["change"] == fk230["money"]["change"] == int(notices["change"].sum())
    assert fk230["accepted"] == fk230["written"] == notices.height and fk230["rc"] == 0
    dat, pdf_dir = (Path(f) for f in fk230["files"])
    assert dat.name == f"change_notice_{GEN}20261016.dat"
    assert notice_steps.read_trailer(dat)["annual_tax_total"] == int(notices["annual_after"].sum())
    assert notice_steps.pdf_files(pdf_dir, "change_notice")
