"""One run per job net and 団体コード (issue 12; jobs/common/runlock.py, jobs/airflow_task.py): the lock file
in var/locks/, its holder a DAG run; taken over from a run that is over, refused while the holder is active."""

from __future__ import annotations

import json
import threading

import pytest

from jobs.common import runlock

NET, CITY, OTHER = "KB100", "111007", "112011"


def take(run_id: str, *, alive=lambda h: True, dag_id: str = "kokuho_intake", city: str = CITY):
    return runlock.acquire(NET, city, dag_id=dag_id, run_id=run_id, alive=alive)


def test_taken_held_again_by_its_run_and_released(kokuho_var):
    assert take("run_a") is None
    path = kokuho_var / "locks" / "KB100_111007.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["run_id"] == "run_a" and data["dag_id"] == "kokuho_intake" and data["municipality"] == CITY
    assert take("run_a") is None  # a retry or an operator's 消去 and rerun: the same run id
    assert take("run_b", city=OTHER) is None  # another city: another lock
    assert not runlock.release(NET, CITY, dag_id="kokuho_intake", run_id="run_b")  # not its lock
    assert path.is_file()
    assert runlock.release(NET, CITY, dag_id="kokuho_intake", run_id="run_a")
    assert not path.exists() and runlock.holder(NET, CITY) is None
    assert not any(p.name.startswith(".") for p in path.parent.iterdir())  # no temporary left


def test_a_second_run_is_refused_while_the_first_is_active(kokuho_var):
    assert take("run_a") is None
    held = take("run_b", alive=lambda h: h.run_id == "run_a")
    assert held is not None and held.run_id == "run_a" and "run_a" in held.describe()
    # the same run id in another DAG (the per-city DAG) is another run
    assert take("run_a", dag_id="kokuho_intake_112011") is not None
    assert runlock.holder(NET, CITY).run_id == "run_a"


def test_a_run_that_is_over_leaves_the_lock_to_the_next(kokuho_var):
    """A worker crash or a run marked failed: its END never released; the next run finds the holder not
    active and takes it over."""
    assert take("run_a") is None
    asked = []
    assert take("run_b", alive=lambda h: asked.append(h.run_id) or False) is None
    assert asked == ["run_a"] and runlock.holder(NET, CITY).run_id == "run_b"
    # the failed run_a cleared and rerun by the operator while run_b is active: refused
    assert take("run_a", alive=lambda h: h.run_id == "run_b").run_id == "run_b"


def test_an_unreadable_lock_is_taken_over(kokuho_var):
    path = runlock.lock_path(NET, CITY)
    path.parent.mkdir(parents=True)
    path.write_text("{broken", encoding="utf-8")
    assert runlock.holder(NET, CITY).run_id == "?"
    assert take("run_a", alive=lambda h: h.run_id != "?") is None
    assert runlock.holder(NET, CITY).run_id == "run_a"


def test_racing_runs_get_one_lock(kokuho_var):
    winners, barrier = [], threading.Barrier(8)

    def go(i: int) -> None:
        barrier.wait()
        if take(f"run_{i}") is None:
            winners.append(i)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and runlock.holder(NET, CITY).run_id == f"run_{winners[0]}"


class _TI:
    dag_id = "kokuho_intake"

    def __init__(self, states):
        self.states = states

    def get_dagrun_state(self, dag_id, run_id):
        if run_id not in self.states:
            raise RuntimeError("DagRun not found")
        return self.states[run_id]


class _Run:
    dag_id = "kokuho_intake"

    def __init__(self, run_id):
        self.run_id = run_id


def _context(run_id, states):
    return {"ti": _TI(states), "dag_run": _Run(run_id), "params": {"municipality": CITY, "business_date": "2026-06-01"}}


def test_steps_check_the_lock_against_airflow(kokuho_var):
    """The step's check (``ensure_run_lock``) asks Airflow for the holder's run state: queued/running is
    active (KKB183E, the task fails, nothing done), any other state or an unknown run is over."""
    from airflow.sdk.exceptions import AirflowFailException

    from jobs import airflow_task

    assert airflow_task.take_run_lock(NET, **_context("run_a", {})) is True
    for state in ("running", "queued"):
        with pytest.raises(AirflowFailException, match="KKB183E.*FK020.*run_a"):
            airflow_task.ensure_run_lock(NET, "FK020", CITY, _context("run_b", {"run_a": state}))
    assert airflow_task.take_run_lock(NET, **_context("run_b", {"run_a": "running"})) is False
    airflow_task.ensure_run_lock(NET, "FK020", CITY, _context("run_b", {"run_a": "failed"}))  # taken over
    assert runlock.holder(NET, CITY).run_id == "run_b"
    airflow_task.ensure_run_lock(NET, "FK010", CITY, _context("run_c", {}))  # run_b deleted: over
    assert airflow_task.release_run_lock(NET, _context("run_c", {})) is True
    assert runlock.holder(NET, CITY) is None
