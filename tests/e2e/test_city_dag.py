"""End to end through Airflow (issue 12): a per-city DAG (``kokuho_direct_debit_112011``, made by the DAG
factory when 112011 is scheduled) runs with its own 団体コード without any conf, as its scheduled runs do:
its datasets, its run lock and its wait are 112011's, and the default city's are not touched."""

from __future__ import annotations

import datetime as dt
import logging

import pendulum
import pytest
from e2e_helpers import DAGS_FOLDER, bound_file_waits, ti_states

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

DAY = dt.date(2026, 7, 27)


def test_the_city_dag_runs_for_its_city(kokuho_var, monkeypatch, caplog):
    from airflow.dag_processing.dagbag import DagBag

    from jobs.common import datasets
    from jobs.runner import run_job

    monkeypatch.setenv("KOKUHO_SCHEDULED_MUNICIPALITIES", "all")
    monkeypatch.setenv("KOKUHO_DATASET_WAIT_POKE_SECONDS", "1")
    monkeypatch.setenv("KOKUHO_LEVY_REGISTRATION_WAIT_MINUTES", str(3 / 60))
    bound_file_waits(monkeypatch, 3)
    caplog.set_level(logging.INFO)
    bag = DagBag(dag_folder=str(DAGS_FOLDER / "kokuho_direct_debit.py"))
    assert bag.import_errors == {}
    dag = bag.get_dag("kokuho_direct_debit_112011")
    assert dag.dag_display_name == "KB410 口座振替請求ジョブネット (第二合成市 112011)"

    # the default city's SN100 of the day does not let 112011's SN120 go: its wait fails
    assert run_job("SN100", business_date=DAY, municipality="111007").rc == 0
    dr = dag.test(logical_date=pendulum.datetime(2026, 10, 5, 9, 0, tz="Asia/Tokyo"),
                  run_conf={"business_date": DAY.isoformat()})
    states = ti_states(dr)
    assert dr.state == "failed" and states["wait_levy_registration"] == "failed", states

    # with 112011's own SN100: the run goes through, on 112011's datasets
    assert run_job("SN100", business_date=DAY, municipality="112011").rc == 0
    dr = dag.test(logical_date=pendulum.datetime(2026, 10, 6, 9, 0, tz="Asia/Tokyo"),
                  run_conf={"business_date": DAY.isoformat()})
    states = ti_states(dr)
    assert dr.state == "success", states
    assert datasets.generations("debit_requests", municipality="112011") == ["m112011_fy2026_d20260727"]
    assert datasets.generations("debit_requests", municipality="111007") == []
    assert not (kokuho_var / "locks" / "KB410_112011.json").exists()  # taken and released: 112011's lock
