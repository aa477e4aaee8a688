"""The distributed mode end to end (issue 12, "Many cities and more than one machine"): a real
scheduler hands the tasks to a Celery worker through Redis, with the metadata DB and the 収納台帳 on
PostgreSQL (tests/celery/cluster.py: ``make up-celery``'s settings, private to the session).

Two synthetic cities, 111007 and 112011, each in its own inbox (``var/inbox/<団体コード>/``), and for
each one DAG run of KB100 (取込) and one of KB410 (口座振替請求: SN020 registers the 口座振替 in the
ledger), all four triggered at once through the REST API as the UI's trigger form does:
- every run ends success, and the two KB100 runs were active at the same time;
- every task ran on the worker: the task instance's queue is the session's queue that only this
  worker serves, it has a Celery task id (``external_executor_id``) that the Celery result backend
  records as SUCCESS and the worker's log names, and its hostname is the worker's host;
- each run read only its own city's files: its steps' control totals (XCom) equal that city's synth
  manifest and name its 団体コード, each city's datasets are a generation of its own with only its
  code, and both inbox folders are empty afterwards;
- the ledger is the PostgreSQL one (KOKUHO_LEDGER_URL): each city's 口座振替 are there, under its code,
  as many as its file had, and no DuckDB file was made.
"""

from __future__ import annotations

import json
import socket
import time

import cluster
import pytest
from airflow.utils.net import get_hostname

pytestmark = [pytest.mark.e2e, pytest.mark.celery]

CITIES = {"111007": 21, "112011": 22}  # 団体コード: synth seed
INSURED = 120
DATE = "2026-06-01"
INTAKE_FILES = {"FK020": "shikaku", "FK010": "juminzei", "FK030": "nenkin", "FK035": "kaigo"}
DAGS = ("kokuho_intake", "kokuho_direct_debit")
TERMINAL = ("success", "failed")


def _xcoms(c: cluster.Cluster, dag_id: str, run_id: str) -> dict[str, dict]:
    rows = c.meta("SELECT task_id, value FROM xcom WHERE dag_id = %s AND run_id = %s AND key = 'return_value'",
                  (dag_id, run_id))
    out = {}
    for task_id, value in rows:
        value = json.loads(value) if isinstance(value, (str, bytes)) else value
        if isinstance(value, dict) and "rc" in value:
            out[value["job_id"]] = value
    return out


def test_two_cities_at_once_on_a_celery_worker(celery_cluster: cluster.Cluster, tmp_path):
    c = celery_cluster
    manifests = {code: cluster.synth(c.var / "inbox" / code, code, insured=INSURED, seed=seed, scratch=tmp_path)
                 for code, seed in CITIES.items()}
    c.wait_until("the DAG processor has both DAGs",
                 lambda: len(c.meta("SELECT dag_id FROM dag WHERE dag_id = ANY(%s)", (list(DAGS),))) == len(DAGS),
                 timeout=180)
    for code in CITIES:  # the day's SN100 (KB400 調定登録), which KB410-WAIT waits for (issue 12)
        c.run("kokuho", "run", "SN100", "--date", DATE, "--municipality", code)
    t0 = time.monotonic()
    runs = []
    for dag_id in DAGS:
        c.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        for code in CITIES:
            run_id = f"celery_{dag_id}_{code}"
            c.api("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                  {"dag_run_id": run_id, "logical_date": None, "conf": {"business_date": DATE, "municipality": code}})
            runs.append((dag_id, code, run_id))

    def finished():
        states = {r[2]: s for r, s in ((r, c.api("GET", f"/api/v2/dags/{r[0]}/dagRuns/{r[2]}")["state"]) for r in runs)}
        return states if all(s in TERMINAL for s in states.values()) else None

    states = c.wait_until("all four runs end", finished, timeout=420, every=5)
    elapsed = time.monotonic() - t0
    tis = c.meta("SELECT dag_id, run_id, task_id, state, queue, hostname, external_executor_id, start_date, end_date "
                 "FROM task_instance WHERE run_id = ANY(%s)", ([r[2] for r in runs],))
    assert states == {r[2]: "success" for r in runs}, [t[:4] for t in tis if t[3] != "success"]
    print(f"4 runs (2 x KB100, 2 x KB410, {INSURED} insured each) on the Celery worker in {elapsed:.0f} s")

    # --- every task ran on the session's Celery worker ------------------------------------------------
    # KB100: LOCK, CAL, FK020, FK010, FK030, WAIT, FK035, END; KB410: LOCK, CAL, WAIT, SN010, SN020,
    # KB410-WAIT 調定登録待ち, SN120, END (the two cities' runs each take their own lock: they run at once)
    assert len(tis) == 8 * 2 + 8 * 2, [t[:3] for t in tis]
    assert {t[3] for t in tis} == {"success"}
    assert {t[4] for t in tis} == {c.queue}  # the queue only this session's worker serves
    assert {t[5] for t in tis} == {get_hostname()}  # the worker's host (Airflow's name of this machine)
    celery_ids = [t[6] for t in tis]
    assert all(celery_ids) and len(set(celery_ids)) == len(tis)

    def worker_done():
        # the worker records a task's result (and logs it) just after the task told the API server
        backend = dict(c.meta("SELECT task_id, status FROM celery_taskmeta WHERE task_id = ANY(%s)", (celery_ids,)))
        log = c.log("worker").read_text(errors="replace")
        done = len(backend) == len(celery_ids) and not {"PENDING", "STARTED"} & set(backend.values())
        return (backend, log) if done and all(f"execute_workload[{i}] succeeded" in log for i in celery_ids) else None

    backend, worker_log = c.wait_until("the Celery worker has recorded every result", worker_done, timeout=60, every=1)
    assert backend == {i: "SUCCESS" for i in celery_ids}
    assert f"{c.queue}@{socket.gethostname()}" in worker_log  # the worker's Celery node name
    # the two KB100 runs were active at once (max_active_runs = one per 団体コード)
    spans = {}
    for dag_id, run_id, _, _, _, _, _, start, end in tis:
        if dag_id == "kokuho_intake":
            lo, hi = spans.get(run_id, (start, end))
            spans[run_id] = (min(lo, start), max(hi, end))
    (a0, a1), (b0, b1) = spans.values()
    assert a0 < b1 and b0 < a1, spans

    # --- each run read only its own city's files --------------------------------------------------------
    from jobs.common import datasets, paths

    for code, manifest in manifests.items():
        rows = _xcoms(c, "kokuho_intake", f"celery_kokuho_intake_{code}")
        assert sorted(rows) == sorted(INTAKE_FILES)
        for job_id, source in INTAKE_FILES.items():
            row, want = rows[job_id], manifest["files"][source]
            assert row["municipality"] == code and row["rc"] == 0, (code, job_id, row["messages"])
            reads = {rt: v["read"] for rt, v in row["by_record_type"].items() if rt != "lead_in"}
            assert reads == want["records"] and row["money"] == want["money"], (code, job_id)
            assert row["rejected"] == 0
        left = [p for p in (c.var / "inbox" / code).rglob("*") if p.is_file() and p.name != "synth_manifest.json"]
        assert left == [], left  # every file taken in, from its own folder only

    import os

    os.environ["KOKUHO_VAR"], saved = str(c.var), os.environ["KOKUHO_VAR"]
    try:
        gens = datasets.generations("nhi_qualification")
        assert gens == [f"m{code}_fy2026_d20260601" for code in sorted(CITIES)]
        for code in CITIES:
            got = datasets.read("nhi_qualification", municipality=code)
            assert set(got["municipality_code"].to_list()) == {code}
        assert not (paths.var_root() / "ledger" / "ledger.duckdb").exists()  # the ledger is PostgreSQL's
    finally:
        os.environ["KOKUHO_VAR"] = saved

    # --- the ledger on PostgreSQL: each city's 口座振替 under its code ------------------------------------
    mandates = dict(c.meta("SELECT municipality_code, COUNT(*) FROM ledger.debit_mandate GROUP BY municipality_code"))
    for code, manifest in manifests.items():
        sn020 = _xcoms(c, "kokuho_direct_debit", f"celery_kokuho_direct_debit_{code}")["SN020"]
        assert sn020["municipality"] == code and sn020["rc"] == 0, sn020["messages"]
        assert mandates[code] == manifest["files"]["koufuri"]["records"]["data"] == sn020["accepted"] > 0
