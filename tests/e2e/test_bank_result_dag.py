"""End to end through Airflow: KB210 口座振替結果ジョブネット (file-arrival wait, then SN110).

The deferrable FileSensor runs its trigger inline under ``dag.test()``: the bank's result file
(the committed golden Zengin 種別91 result fixture) arrives in var/inbox/bank/ and SN110 takes it
in, with the totals of the file in the XCom.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pendulum
import pytest
from e2e_helpers import load_dag, run_rows, ti_states

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "zengin_91_result" / "result_multi_crlf.dat"


def test_bank_result_file_drop(kokuho_var: Path):
    assert FIXTURE.is_file(), f"fixture missing: {FIXTURE}"  # committed (fixtures/build_golden.py)
    from jobs import registry

    inbox = kokuho_var / "inbox" / registry.JOBS["SN110"].inbox
    inbox.mkdir(parents=True)
    shutil.copy(FIXTURE, inbox / "KOFURI_KEKKA_0001.dat")
    dag = load_dag("kokuho_bank_result")

    dr = dag.test(logical_date=pendulum.datetime(2026, 6, 29, 9, 0, tz="Asia/Tokyo"),
                  run_conf={"business_date": "2026-06-29"})

    assert dr.state == "success", ti_states(dr)
    row = run_rows(dr)["SN110"]
    expected = [json.loads(x) for x in FIXTURE.with_name(FIXTURE.name + ".expected.jsonl").read_text().splitlines() if x]
    assert row["rc"] in (0, 4)
    assert row["read"] == len(expected) == row["accepted"] + row["rejected"]


def test_the_wait_fires_only_when_the_file_is_complete(kokuho_var: Path, monkeypatch):
    """Issue 12: with a marker profile the wait sees the file (the FileTrigger fires) but waits on
    until its ``.done`` arrives; SN110 then takes the file and the marker goes with it."""
    import threading
    import time

    from jobs import registry
    from jobs.common import config

    real_get = config.Config.get
    monkeypatch.setattr(config.Config, "get", lambda self, key, *d: {"rule": "marker"}
                        if key == "handoff.inbox.bank.complete" else real_get(self, key, *d))
    inbox = kokuho_var / "inbox" / registry.JOBS["SN110"].inbox
    inbox.mkdir(parents=True)
    data = inbox / "KOFURI_KEKKA_0001.dat"
    shutil.copy(FIXTURE, data)
    dag = load_dag("kokuho_bank_result")
    (wait,) = [t for t in dag.tasks if "wait" in t.task_id]
    wait.poke_interval = 1
    marker = inbox / "KOFURI_KEKKA_0001.dat.done"
    started = time.monotonic()
    threading.Timer(3.0, marker.touch).start()

    dr = dag.test(logical_date=pendulum.datetime(2026, 6, 29, 9, 0, tz="Asia/Tokyo"),
                  run_conf={"business_date": "2026-06-29"})

    assert dr.state == "success", ti_states(dr)
    assert time.monotonic() - started >= 3.0  # it did not fire on the file alone
    assert run_rows(dr)["SN110"]["rc"] in (0, 4)
    assert not data.exists() and not marker.exists()
