"""End to end through Airflow (issue 12): KB410 口座振替請求 waits for that business date's SN100
(KB400 調定登録) before SN120, with ``dag.test()`` on the real DAG file (tests/conftest.py: the
session's metadata DB; ``kokuho_var``: this test's var/ and DuckDB ledger).

1. No SN100 of the day: ``KB410-WAIT 調定登録待ち`` pokes (reschedule mode, every second here) and
   times out (``KOKUHO_LEVY_REGISTRATION_WAIT_MINUTES`` = 3 s) with KKB177E; SN120 does not run
   (upstream_failed), the run fails: nothing is requested without the day's 調定.
2. SN100 runs for the day (``kokuho run SN100``: no 調定 file, an empty ``levy_registration``
   generation), KB410 again: the wait finds it and SN120 runs.

And the other waits: KB300 for the year's 当初 住民税 intake, KB310 for the day's 住民税 異動 intake on a
due day, KB400's SN100 for the 調定 file of the 賦課 job net of the day (then it goes on, KKB179W),
KB600, KB620 and KB530 for the day's KB400 (SN400).
"""

from __future__ import annotations

import datetime as dt
import logging

import pendulum
import polars as pl
import pytest
from e2e_helpers import bound_file_waits, load_dag, run_rows, task_logs, ti_states

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

DAY = dt.date(2026, 7, 27)  # a Monday, a business day of 111007
WAIT_SECONDS = 3


@pytest.fixture
def short_waits(monkeypatch):
    """The dataset wait: a 3 s timeout, a poke a second (read when load_dag parses the DAG file).
    The deferred 口座振替依頼書 wait: dag.test() runs its trigger inline and ignores the timeout, so
    here it gives up after a few seconds, as the triggerer does (soft_fail: SN010 skipped)."""
    monkeypatch.setenv("KOKUHO_LEVY_REGISTRATION_WAIT_MINUTES", str(WAIT_SECONDS / 60))
    monkeypatch.setenv("KOKUHO_DATASET_WAIT_POKE_SECONDS", "1")
    bound_file_waits(monkeypatch, WAIT_SECONDS)


def _run(day: int):
    return load_dag("kokuho_direct_debit").test(
        logical_date=pendulum.datetime(2026, 11, day, 9, 0, tz="Asia/Tokyo"),
        run_conf={"business_date": DAY.isoformat()})


def test_kb410_waits_for_the_days_sn100(kokuho_var, short_waits, caplog):
    from jobs.common import datasets
    from jobs.runner import run_job

    caplog.set_level(logging.INFO)
    # --- without that day's SN100: the wait times out, SN120 does not run ------------------------
    datasets.write("levy_registration", datasets.generation_name("111007", 2026, DAY - dt.timedelta(days=3)),
                   pl.DataFrame({"file_name": ["x"]}))  # the business day before: not enough
    dr = _run(1)
    states = ti_states(dr)
    assert dr.state == "failed", states
    assert states["wait_levy_registration"] == "failed", states
    assert states["sn120"] == "upstream_failed" and states["sn020"] == "success", states
    assert "SN120" not in run_rows(dr)
    log = task_logs(caplog.records)["wait_levy_registration"]
    assert "KKB176I" in log and "KKB177E" in log and "KB400 SN100" in log, log[-2000:]
    assert not (kokuho_var / "outbox" / "bank").exists() or not any((kokuho_var / "outbox" / "bank").rglob("*.dat"))

    # --- SN100 of the day, then KB410 again: the wait finds its generation and SN120 runs -----------
    sn100 = run_job("SN100", business_date=DAY)
    assert sn100.rc == 0, sn100.log_text
    assert datasets.generations("levy_registration")[-1] == "m111007_fy2026_d20260727"
    assert datasets.read("levy_registration", "m111007_fy2026_d20260727").height == 0  # no 調定 file that day
    caplog.clear()
    dr = _run(2)
    states = ti_states(dr)
    assert dr.state == "success", states
    assert states["wait_levy_registration"] == "success" and states["sn120"] == "success", states
    assert run_rows(dr)["SN120"]["rc"] == 0
    assert "KKB178I" in task_logs(caplog.records)["wait_levy_registration"]


def test_kb300_waits_for_the_years_initial_resident_tax(kokuho_var, short_waits, monkeypatch, caplog):
    """KB300 with only an April 住民税 generation (before the fiscal year's 当初 file due day, 2026-05-29):
    KB300-WAIT times out (KKB177E) and FK110 does not run. (With KB100's 2026-06-01 intake it goes on:
    tests/e2e/test_assessment_dags.py.)"""
    from jobs.common import datasets

    monkeypatch.setenv("KOKUHO_RESIDENT_TAX_WAIT_MINUTES", str(WAIT_SECONDS / 60))
    caplog.set_level(logging.INFO)
    datasets.write("resident_tax_income", datasets.generation_name("111007", 2026, dt.date(2026, 4, 16)),
                   pl.DataFrame({"x": [1]}))
    dr = load_dag("kokuho_initial_assessment").test(
        logical_date=pendulum.datetime(2026, 11, 3, 7, 30, tz="Asia/Tokyo"), run_conf={"business_date": "2026-07-01"})
    states = ti_states(dr)
    assert dr.state == "failed", states
    assert states["check_run_day"] == "success" and states["wait_resident_tax_income"] == "failed", states
    assert states["fk110"] == "upstream_failed", states
    log = task_logs(caplog.records)["wait_resident_tax_income"]
    assert "KKB177E" in log and "KB100 FK010" in log, log[-2000:]


def _states_and_log(dag_id: str, day: str, task_id: str, caplog, hour: int = 7):
    dr = load_dag(dag_id).test(logical_date=pendulum.datetime(2026, 12, 1, hour, 0, tz="Asia/Tokyo"),
                               run_conf={"business_date": day})
    return dr, ti_states(dr), task_logs(caplog.records).get(task_id, "")


def test_kb310_waits_for_the_days_resident_tax_change(kokuho_var, short_waits, monkeypatch, caplog):
    """KB310 on a 住民税 異動 due day (2026-10-16) without that day's FK010 generation: KB310-WAIT times
    out (KKB177E) and FK210 does not run. (With it: tests/e2e/test_assessment_dags.py.)"""
    from jobs.common import datasets

    monkeypatch.setenv("KOKUHO_RESIDENT_TAX_CHANGE_WAIT_MINUTES", str(WAIT_SECONDS / 60))
    caplog.set_level(logging.INFO)
    datasets.write("resident_tax_income", datasets.generation_name("111007", 2026, dt.date(2026, 10, 1)),
                   pl.DataFrame({"x": [1]}))  # the 1st's intake: not the 16th's
    dr, states, log = _states_and_log("kokuho_reassessment", "2026-10-16", "wait_resident_tax_change", caplog)
    assert dr.state == "failed", states
    assert states["wait_resident_tax_change"] == "failed" and states["fk210"] == "upstream_failed", states
    assert "KKB177E" in log and "KB100 FK010" in log, log[-2000:]


def test_kb400_sn100_waits_for_the_days_levy_file_then_goes_on(kokuho_var, short_waits, monkeypatch, caplog):
    """KB400 on a 異動賦課 day (2026-10-16) whose KB310 has not written its 調定 file: KB400-WAIT
    賦課調定ファイル待ち gives up after its timeout with a warning (KKB179W), and SN100 and the 消込 run all
    the same; on a day no 賦課 job net runs (2026-10-20) it ends at once (KKB180I)."""
    monkeypatch.setenv("KOKUHO_LEVY_FILE_WAIT_MINUTES", str(WAIT_SECONDS / 60))
    caplog.set_level(logging.INFO)
    dr, states, log = _states_and_log("kokuho_collection", "2026-10-16", "wait_levy_files", caplog, hour=8)
    assert dr.state == "success", states
    assert states["wait_levy_files"] == "success" and states["sn100"] == "success", states
    assert states["sn400"] == "success", states
    assert "KKB176I" in log and "KKB179W" in log and "KB310 FK220" in log, log[-2000:]
    # at the level its id says (W → WARNING), not as the sensor timeout it recovers from
    assert [r.levelname for r in caplog.records if "KKB179W" in r.getMessage()] == ["WARNING"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and "wait_levy_files" in str(r.__dict__)]
    caplog.clear()
    dr, states, log = _states_and_log("kokuho_collection", "2026-10-20", "wait_levy_files", caplog, hour=9)
    assert dr.state == "success" and states["wait_levy_files"] == "success", states
    assert "KKB180I" in log and "KKB179W" not in log, log[-2000:]


def test_kb600_waits_for_the_days_kb400(kokuho_var, short_waits, monkeypatch, caplog):
    """KB600 督促 without that day's KB400 (no ``daily_collection`` of the day): KB600-WAIT 収納消込待ち
    times out (KKB177E) and TN010 does not run: no 督促状 before the morning's payments are posted.
    (With it: tests/e2e/test_arrears_dags.py.)"""
    from jobs.common import datasets

    monkeypatch.setenv("KOKUHO_COLLECTION_WAIT_MINUTES", str(WAIT_SECONDS / 60))
    caplog.set_level(logging.INFO)
    datasets.write("daily_collection", datasets.generation_name("111007", 2026, dt.date(2026, 10, 19)),
                   pl.DataFrame({"x": [1]}))  # the business day before
    dr, states, log = _states_and_log("kokuho_dunning", "2026-10-20", "wait_daily_collection", caplog, hour=12)
    assert dr.state == "failed", states
    assert states["wait_daily_collection"] == "failed" and states["tn010"] == "upstream_failed", states
    assert "KKB177E" in log and "KB400 SN400" in log, log[-2000:]


@pytest.mark.parametrize(("dag_id", "day", "hour", "steps"), [
    ("kokuho_arrears_records", "2026-10-20", 11, ("tn210", "tn220", "tn410")),
    ("kokuho_pension_handover", "2027-01-20", 13, ("tk290",)),
])
def test_kb620_and_kb530_wait_for_the_days_kb400(kokuho_var, short_waits, monkeypatch, caplog, dag_id, day, hour,
                                                 steps):
    """KB620 滞納記録 and KB530 社会保険料控除引継 without that day's KB400: their KB620-WAIT / KB530-WAIT
    収納消込待ち time out (KKB177E) and the steps that read the day's postings do not run (KB620's 返戻
    steps, which do not, run); with the day's ``daily_collection`` the wait goes on (KKB178I)."""
    from jobs.common import datasets

    monkeypatch.setenv("KOKUHO_COLLECTION_WAIT_MINUTES", str(WAIT_SECONDS / 60))
    caplog.set_level(logging.INFO)
    before = dt.date.fromisoformat(day) - dt.timedelta(days=1)
    datasets.write("daily_collection", datasets.generation_name("111007", before.year - (before.month < 4), before),
                   pl.DataFrame({"x": [1]}))  # the day before: not enough
    dr, states, log = _states_and_log(dag_id, day, "wait_daily_collection", caplog, hour=hour)
    assert dr.state == "failed", states
    assert states["wait_daily_collection"] == "failed", states
    assert {states[s] for s in steps} == {"upstream_failed"}, states
    assert "KKB177E" in log and "KB400 SN400" in log, log[-2000:]
    if dag_id == "kokuho_arrears_records":
        assert states["tn310"] == states["tn320"] == "success", states

    d = dt.date.fromisoformat(day)
    datasets.write("daily_collection", datasets.generation_name("111007", d.year - (d.month < 4), d),
                   pl.DataFrame({"x": [1]}))
    caplog.clear()
    dr, states, log = _states_and_log(dag_id, day, "wait_daily_collection", caplog, hour=hour + 1)
    assert states["wait_daily_collection"] == "success" and "KKB178I" in log, (states, log[-2000:])
    assert all(states[s] != "upstream_failed" for s in steps), states
