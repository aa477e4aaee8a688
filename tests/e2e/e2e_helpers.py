"""Helpers of the end-to-end DAG tests: synthesize, run, inspect, clear, re-run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = "kokuho_intake"


def synth_city(inbox: Path, *, insured: int, seed: int, broken_my_numbers: float | None = None) -> dict[str, Any]:
    """Write a synthetic city into ``inbox`` with the real ``kokuho synth``; return its manifest."""
    from jobs.synth.cli import main

    argv = ["--insured", str(insured), "--seed", str(seed), "--out", str(inbox), "--quiet"]
    if broken_my_numbers is not None:
        argv += ["--broken-my-numbers", str(broken_my_numbers)]
    assert main(argv) == 0
    return json.loads((inbox / "synth_manifest.json").read_text(encoding="utf-8"))


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py"))
    assert bag.import_errors == {}, bag.import_errors
    return bag.get_dag(dag_id)


def _task_instances(dr) -> list:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dr.dag_id, TaskInstance.run_id == dr.run_id)
        ).all()
        for ti in tis:
            session.expunge(ti)
        return tis


def ti_states(dr) -> dict[str, str | None]:
    return {ti.task_id: (ti.state.value if hasattr(ti.state, "value") else ti.state) for ti in _task_instances(dr)}


def try_numbers(dr) -> dict[str, int]:
    return {ti.task_id: ti.try_number for ti in _task_instances(dr)}


def run_rows(dr) -> dict[str, dict[str, Any]]:
    """The job steps' XComs (control totals) of the run, by job id."""
    from _kokuho.totals import collect

    _, rows = collect(dr.dag_id, dr.run_id)
    return {r["job_id"]: r for r in rows if "rc" in r}


_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")


def task_logs(records) -> dict[str, str]:
    """Split the log records of ``dag.test()`` (pytest's ``caplog.records``: the tasks run in
    this process) into one log per task, lines as ``LEVEL logger message``.

    A task that ran twice (cleared and re-run) gets both tries, in order."""
    import logging

    lines = []
    for r in records:
        text = f"{r.levelname} {r.name} {r.getMessage()}"
        if r.exc_info:
            text += "\n" + logging.Formatter().formatException(r.exc_info)
        lines.extend(text.splitlines())
    logs: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines:
        if m := _TASK_START.search(line):
            current = m.group(1)
        if current is not None:
            logs.setdefault(current, []).append(line)
        if _TASK_END.search(line):
            current = None
    return {k: "\n".join(v) for k, v in logs.items()}


def clear_like_the_ui(dr, task_ids: list[str]) -> list[str]:
    """Clear failed ``task_ids`` with their downstream tasks, as the UI's Clear button does:
    ``POST /api/v2/dags/{dag_id}/clearTaskInstances`` on the real FastAPI app (in process),
    first a dry run (the dialog's "affected tasks"), then for real. Returns the cleared task ids."""
    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.testclient import TestClient

    app = create_app(apps="core")
    app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username="operator", role="admin")
    body = {
        "dag_run_id": dr.run_id,
        "task_ids": task_ids,
        "only_failed": True,
        "include_downstream": True,
        "include_upstream": False,
        "reset_dag_runs": True,
    }
    url = f"/api/v2/dags/{dr.dag_id}/clearTaskInstances"
    with TestClient(app) as client:
        dry = client.post(url, json={**body, "dry_run": True})
        assert dry.status_code == 200, dry.text
        affected = sorted(ti["task_id"] for ti in dry.json()["task_instances"])
        real = client.post(url, json={**body, "dry_run": False})
        assert real.status_code == 200, real.text
        cleared = sorted(ti["task_id"] for ti in real.json()["task_instances"])
    assert cleared == affected
    return cleared


def drive_run(dag, dr, *, max_loops: int = 200):
    """Run a cleared DAG run's tasks to the end, as the scheduler would: the same loop as
    ``dag.test()`` (which would instead delete the run and start a new one)."""
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dr.dag_id, DagRun.run_id == dr.run_id)).one()
        assert run.state == DagRunState.QUEUED, f"a cleared run is queued, not {run.state}"
        run.state = DagRunState.RUNNING  # the scheduler starts queued runs
        run.dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        session.commit()
        for _ in range(max_loops):
            session.expire_all()
            if run.state != DagRunState.RUNNING:
                break
            schedulable, _ = run.update_state(session=session)
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            for ti in run.get_task_instances(session=session):
                if ti.state == TaskInstanceState.SCHEDULED:
                    _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=True)
    with create_session() as session:  # the in-process task runs share the scoped session: reload
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dr.dag_id, DagRun.run_id == dr.run_id)).one()
        session.expunge(run)
    return run


def bound_file_waits(monkeypatch, seconds: float) -> None:
    """dag.test() runs a deferred sensor's trigger inline and ignores the sensor's timeout, so a
    missing file would hang the test: the file trigger gives up after ``seconds``, as the triggerer
    does at the timeout (the sensor then fails, or is skipped with soft_fail)."""
    import asyncio

    from airflow.providers.standard.triggers.file import FileTrigger

    original = FileTrigger.run

    async def bounded(self):
        event = None
        try:
            async with asyncio.timeout(seconds):
                async for event in original(self):
                    break
        except TimeoutError:
            return
        if event is not None:
            yield event

    monkeypatch.setattr(FileTrigger, "run", bounded)


def assert_all_success(dr) -> None:
    """The run and every task of it succeeded."""
    states = ti_states(dr)
    assert dr.state == "success", states
    assert set(states.values()) == {"success"}, states


def ledger_scalar(sql: str):
    """One value from the 収納台帳 this test's job nets wrote (KOKUHO_LEDGER_URL or var/'s DuckDB)."""
    from jobs.ledger import Ledger

    ledger = Ledger.open()
    try:
        return ledger.scalar(sql)
    finally:
        ledger.dispose()
