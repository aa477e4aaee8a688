"""End to end through Airflow (issue 12): one run per job net and 団体コード at a time, with ``dag.test()``
on the real DAG file (KB410 口座振替請求; tests/conftest.py: the session's metadata DB).

1. A run takes the lock first (``KB410-LOCK 同時実行制御``, KKB184I) and gives it back at its END (KKB185I).
2. While the lock names another run that Airflow says is running, a second run waits (KKB181W) and after
   its timeout fails (KKB182E); none of its steps runs.
3. Once that run is over (here: marked success without its END having released), the next run takes the
   lock over and runs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import pendulum
import pytest
from e2e_helpers import bound_file_waits, load_dag, task_logs, ti_states

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

DAY = dt.date(2026, 7, 27)
WAIT_SECONDS = 3


@pytest.fixture
def short_waits(monkeypatch):
    monkeypatch.setenv("KOKUHO_RUN_LOCK_WAIT_MINUTES", str(WAIT_SECONDS / 60))
    monkeypatch.setenv("KOKUHO_RUN_LOCK_POKE_SECONDS", "1")
    monkeypatch.setenv("KOKUHO_DATASET_WAIT_POKE_SECONDS", "1")
    bound_file_waits(monkeypatch, WAIT_SECONDS)


def _run(day: int):
    return load_dag("kokuho_direct_debit").test(
        logical_date=pendulum.datetime(2026, 10, day, 9, 0, tz="Asia/Tokyo"),
        run_conf={"business_date": DAY.isoformat()})


def _set_state(dr, state: str) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagRun).where(DagRun.dag_id == dr.dag_id, DagRun.run_id == dr.run_id)
                        .values(state=state))


def test_one_run_per_job_net_and_city(kokuho_var, short_waits, caplog):
    from jobs.common import runlock
    from jobs.runner import run_job

    caplog.set_level(logging.INFO)
    assert run_job("SN100", business_date=DAY).rc == 0  # KB410-WAIT 調定登録待ち: that day's SN100
    lock = kokuho_var / "locks" / "KB410_111007.json"

    # --- 1. taken by the first task, given back by the END -------------------------------------------------
    first = _run(1)
    states = ti_states(first)
    assert first.state == "success", states
    assert states["run_lock"] == "success" and states["sn120"] == "success", states
    logs = task_logs(caplog.records)
    assert "KKB184I" in logs["run_lock"] and "KB410 (団体 111007)" in logs["run_lock"], logs["run_lock"]
    assert "KKB185I" in logs["control_totals"], logs["control_totals"][-2000:]
    assert not lock.exists()

    # --- 2. the lock names the first run, which Airflow says is running: the second run waits, then fails -
    lock.parent.mkdir(exist_ok=True)
    lock.write_text(json.dumps({"jobnet": "KB410", "municipality": "111007", "dag_id": first.dag_id,
                                "run_id": first.run_id, "taken_at": "2026-10-01T09:00:00+09:00", "host": "h"}),
                    encoding="utf-8")
    _set_state(first, "running")
    caplog.clear()
    second = _run(2)
    states = ti_states(second)
    assert second.state == "failed", states
    assert states["run_lock"] == "failed", states
    assert all(s in ("upstream_failed", None) for t, s in states.items() if t != "run_lock"), states
    log = task_logs(caplog.records)["run_lock"]
    assert "KKB181W" in log and "KKB182E" in log and first.run_id in log, log[-2000:]
    assert runlock.holder("KB410", "111007").run_id == first.run_id

    # --- 3. the first run is over (its END never released): the next run takes the lock over ----------------
    _set_state(first, "success")
    caplog.clear()
    third = _run(3)
    states = ti_states(third)
    assert third.state == "success", states
    assert "KKB184I" in task_logs(caplog.records)["run_lock"]
    assert not lock.exists()  # released by its END
