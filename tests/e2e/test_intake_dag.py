"""End to end through Airflow: the KB100 取込ジョブネット on a small synthetic city.

``dag.test()`` runs the real DAG file's tasks in this process against the session's temporary
metadata DB (tests/conftest.py), each test with its own var/ (the ``kokuho_var`` fixture):

1. a clean city: every task succeeds and the control totals in the XComs equal the synth
   manifest (records per type, money totals to the yen);
2. a city with invalid 個人番号 check digits: FK020 ends with RC 4, its task still succeeds,
   the stream goes on, and the RC is visible (XCom, WARNING banner in the task log);
3. the operator's rerun story: a truncated 資格 file fails FK020 (the error is in the task
   log, downstream is upstream_failed, nothing is committed); the operator replaces the file
   and clears the failed task with its downstream through the REST API endpoint the UI's
   Clear button calls; the cleared tasks run again (try 2) and the run ends SUCCESS.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pendulum
import pytest
from e2e_helpers import (
    DAG_ID,
    clear_like_the_ui,
    drive_run,
    load_dag,
    run_rows,
    synth_city,
    task_logs,
    ti_states,
    try_numbers,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

INSURED = 300
SEED = 20260601
BUSINESS_DATE = "2026-06-01"
#: manifest key of each job's input (= its inbox folder in jobs.registry)
JOB_FILES = {"FK020": "shikaku", "FK010": "juminzei", "FK030": "nenkin", "FK035": "kaigo"}  # koufuri: KB410 (SN010)


def _logical_date(day: int):
    # One logical date per test: dag.test() replaces an earlier run of the same date.
    return pendulum.datetime(2026, 6, day, 9, 0, tz="Asia/Tokyo")


def _assert_totals_match_manifest(rows: dict[str, dict], manifest: dict) -> None:
    for job_id, key in JOB_FILES.items():
        got, want = rows[job_id], manifest["files"][key]
        reads = {rt: v["read"] for rt, v in got["by_record_type"].items() if rt != "lead_in"}
        assert reads == want["records"], f"{job_id}: records per type"
        lead_in = got["by_record_type"].get("lead_in", {}).get("read", 0)  # 特別徴収 files: one lead-in
        assert got["read"] == sum(want["records"].values()) + lead_in and lead_in <= 1, job_id
        assert got["accepted"] == got["read"] and got["rejected"] == 0, job_id
        assert got["money"] == want["money"], f"{job_id}: money totals"


def test_intake_end_to_end(kokuho_var: Path, caplog):
    manifest = synth_city(kokuho_var / "inbox", insured=INSURED, seed=SEED)
    dag = load_dag(DAG_ID)

    dr = dag.test(logical_date=_logical_date(1), run_conf={"business_date": BUSINESS_DATE})

    assert dr.state == "success", ti_states(dr)
    assert set(ti_states(dr).values()) == {"success"}
    rows = run_rows(dr)
    assert sorted(rows) == sorted(JOB_FILES)
    for job_id, row in rows.items():
        assert row["rc"] == 0 and row["status"] == "success", (job_id, row["messages"])
        assert row["business_date"] == BUSINESS_DATE and row["fy"] == manifest["fiscal_year"]
        assert row["municipality"] == manifest["municipality_code"]
        assert row["committed"] is True
    _assert_totals_match_manifest(rows, manifest)
    summary = task_logs(caplog.records)["control_totals"]
    assert "統制合計表" in summary and "FK020 国保資格取込" in summary


def test_rc4_warning_is_visible_and_the_stream_goes_on(kokuho_var: Path, caplog):
    synth_city(kokuho_var / "inbox", insured=INSURED, seed=SEED + 1, broken_my_numbers=0.05)
    dag = load_dag(DAG_ID)

    dr = dag.test(logical_date=_logical_date(2), run_conf={"business_date": BUSINESS_DATE})

    assert dr.state == "success", ti_states(dr)
    assert set(ti_states(dr).values()) == {"success"}  # RC 4 does not fail a task
    fk020 = run_rows(dr)["FK020"]
    assert fk020["rc"] == 4 and fk020["status"] == "warning"
    assert fk020["rejected"] > 0 and fk020["read"] == fk020["accepted"] + fk020["rejected"]
    assert fk020["error_list"] and Path(fk020["error_list"]).is_file()
    logs = task_logs(caplog.records)
    assert "警告終了 RC=0004" in logs["fk020"]  # the banner execute_job logs at WARNING level
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("警告終了 RC=0004 FK020" in w for w in warnings), warnings
    assert re.search(r"^WARNING .*警告終了 \(RC=0004\) のジョブがあります: FK020", logs["control_totals"], re.M)


def test_operator_rerun_after_fixing_a_truncated_file(kokuho_var: Path, caplog):
    manifest = synth_city(kokuho_var / "inbox", insured=INSURED, seed=SEED + 2)
    shikaku = kokuho_var / "inbox" / manifest["files"]["shikaku"]["path"]
    good = shikaku.read_bytes()
    shikaku.write_bytes(good[: len(good) - 150])  # cut inside the last records: the transfer broke
    dag = load_dag(DAG_ID)

    dr = dag.test(logical_date=_logical_date(3), run_conf={"business_date": BUSINESS_DATE})

    states = ti_states(dr)
    assert dr.state == "failed", states
    assert states["fk020"] == "failed"
    assert {states[t] for t in ("fk010", "fk030", "control_totals")} == {"upstream_failed"}
    log = task_logs(caplog.records)["fk020"]
    # The operator sees why: the codec's refusal (file, record, byte offset) at ERROR level, and RC 8.
    assert re.search(rf"^ERROR kokuho\.step KKB\d{{3}}E .*{re.escape(shikaku.name)}.*レコード", log, re.M), log
    assert "COND CODE 0008" in log and "RC=0008" in log
    assert not (kokuho_var / "datasets" / "nhi_qualification").exists() or not any(
        (kokuho_var / "datasets" / "nhi_qualification").iterdir()
    ), "RC >= 8 must commit nothing"

    # The operator puts the complete file back and clicks Clear on FK020 (with downstream).
    shikaku.write_bytes(good)
    cleared = clear_like_the_ui(dr, ["fk020"])
    assert set(cleared) == {"fk020", "fk010", "fk030", "wait_kaigo_file", "fk035", "control_totals"}
    dr = drive_run(dag, dr)

    states = ti_states(dr)
    assert dr.state == "success", states
    assert set(states.values()) == {"success"}
    rows = run_rows(dr)
    _assert_totals_match_manifest(rows, manifest)
    assert json.loads(json.dumps(rows))  # XComs are plain JSON
    assert try_numbers(dr)["fk020"] == 2 and try_numbers(dr)["check_business_day"] == 1


def test_an_ordinary_day_stays_green_with_the_files_not_due_skipped(kokuho_var: Path, caplog, tmp_path: Path):
    """Issue 12: KB100 runs every business day, but the 住民税 file comes 5月末 / the 1st and 16th and
    the Z21 in May (config intake_due.yaml). On 2026-06-05 only the 資格 (and the month's 介護) file
    is there: FK010 and FK030 are skipped with their reason (KKB109I, shown in the 統制合計表), the
    run is green, and nothing of theirs is written."""
    synth_city(kokuho_var / "inbox", insured=INSURED, seed=SEED + 3)
    dag = load_dag(DAG_ID)
    dr = dag.test(logical_date=_logical_date(4), run_conf={"business_date": BUSINESS_DATE})
    assert dr.state == "success", ti_states(dr)

    # the next days' deliveries: a new 資格 file (and a 介護 file), nothing else
    other = synth_city(tmp_path / "other", insured=INSURED, seed=SEED + 4)
    for key in ("shikaku", "kaigo"):
        src = tmp_path / "other" / other["files"][key]["path"]
        (kokuho_var / "inbox" / other["files"][key]["path"]).write_bytes(src.read_bytes())
    income_generations = sorted((kokuho_var / "datasets" / "resident_tax_income").iterdir())
    caplog.clear()

    dr = dag.test(logical_date=_logical_date(5), run_conf={"business_date": "2026-06-05"})

    states = ti_states(dr)
    assert dr.state == "success", states
    assert states["fk020"] == "success" and states["fk010"] == "skipped" and states["fk030"] == "skipped", states
    rows = run_rows(dr)
    assert rows["FK010"]["status"] == "skipped" and "次回 2026-06-16" in rows["FK010"]["skipped"]
    assert rows["FK030"]["status"] == "skipped" and "年金特徴対象者ファイル" in rows["FK030"]["skipped"]
    assert sorted((kokuho_var / "datasets" / "resident_tax_income").iterdir()) == income_generations
    logs = task_logs(caplog.records)
    assert "KKB109I" in logs["fk010"], sorted(logs)
    assert re.search(r"FK010 住民税所得取込\s+0000\s+スキップ", logs["control_totals"]), logs["control_totals"]
