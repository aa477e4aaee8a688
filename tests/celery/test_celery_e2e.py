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

Then the 消込 on the worker, for the first city: KB300 当初賦課 (2026-07-01) writes the 調定 file, and
KB400 収納消込 on a business day after the first 納期限 registers it (SN100) and posts that day's
synthetic counter and CVS files (SN205, SN215) to the PostgreSQL ledger:
- both runs end success, every task on the session's queue;
- the 期別 the files paid were updated by row address (KKB424I; jobs/collection/reconcile.py
  ``_apply_by_address``: a savepoint, SET LOCAL of the planner's join methods, a TID scan per change),
  as the 5M-payment benchmark does it, here through the task supervisor's process and DB URL;
- Σ 累計収納額 of the city's 期別 = Σ 納付履歴 = what SN205 and SN215 report as posted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import socket
import time
from pathlib import Path

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
COLLECTION_DAGS = ("kokuho_initial_assessment", "kokuho_collection")
ASSESS_DATE = "2026-07-01"  # config/municipalities/111007/fy2026/run_calendar.yaml initial_assessment.run_date
PAY_SEED = 11
#: KKB424I's counts (jobs/common/messages.yaml): 期別 updated, by row address, by key
UPDATED = re.compile(r"期別 ([\d,]+)件 の累計収納額・速報額を更新 \(行アドレス指定 ([\d,]+)件, 通知書番号・期別で照合 ([\d,]+)件\)")


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
    every_dag = [*DAGS, *COLLECTION_DAGS]
    c.wait_until("the DAG processor has the DAGs",
                 lambda: len(c.meta("SELECT dag_id FROM dag WHERE dag_id = ANY(%s)", (every_dag,))) == len(every_dag),
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

    # --- the 消込 on the worker, on the PostgreSQL ledger (the first city) ---------------------------------
    _collection_on_the_worker(c, next(iter(CITIES)), tmp_path)


def _trigger_and_wait(c: cluster.Cluster, dag_id: str, run_id: str, business_date: str, code: str) -> list[tuple]:
    """One run through the REST API, as the UI's trigger form does; its task instances once it ended."""
    c.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    c.api("POST", f"/api/v2/dags/{dag_id}/dagRuns",
          {"dag_run_id": run_id, "logical_date": None, "conf": {"business_date": business_date, "municipality": code}})
    state = c.wait_until(f"{dag_id} {run_id} ends", lambda: (
        s if (s := c.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]) in TERMINAL else None),
        timeout=420, every=5)
    tis = c.meta("SELECT task_id, state, queue FROM task_instance WHERE dag_id = %s AND run_id = %s",
                 (dag_id, run_id))
    assert state == "success", [t for t in tis if t[1] != "success"]
    assert {t[1] for t in tis} == {"success"} and {t[2] for t in tis} == {c.queue}, tis
    return tis


def _collection_on_the_worker(c: cluster.Cluster, code: str, tmp_path: Path) -> None:
    from jobs.common import config
    from jobs.common.bizcal import BusinessCalendar
    from jobs.synth import payments as sp

    _trigger_and_wait(c, "kokuho_initial_assessment", f"celery_kb300_{code}", ASSESS_DATE, code)
    levy_files = sorted((c.var / "outbox" / "ledger").glob(f"levy_initial_m{code}_*.dat"))
    assert len(levy_files) == 1, levy_files
    levy = sp.load_levy(levy_files)
    cal = BusinessCalendar.from_config(config.load(code, 2026))
    pay_date = cal.roll_forward(levy.filter(levy["collection_method"] == "1")["due_date"].min() + dt.timedelta(days=7))
    made = sp.generate(levy_files, tmp_path / "payments", business_date=pay_date, seed=PAY_SEED,
                       channels=("counter", "cvs"), municipality=code)
    for m in made:  # the city's own inbox folders (var/inbox/<団体コード>/counter/, …/cvs/)
        src = Path(m["file"])
        target = c.var / "inbox" / code / src.parent.name / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, target)

    tis = _trigger_and_wait(c, "kokuho_collection", f"celery_kb400_{code}", pay_date.isoformat(), code)
    assert {"sn100", "sn205", "sn215", "sn400"} <= {t[0] for t in tis}
    rows = _xcoms(c, "kokuho_collection", f"celery_kb400_{code}")
    paid_installments = {}
    for job_id in ("SN205", "SN215"):
        row = rows[job_id]
        assert row["municipality"] == code and row["rc"] in (0, 4), (job_id, row["messages"])
        found = [UPDATED.search(m) for m in row["messages"]]
        (n, by_address, by_key), = [tuple(int(g.replace(",", "")) for g in f.groups()) for f in found if f]
        assert n == by_address + by_key and by_address > 0, (job_id, row["messages"])
        paid_installments[job_id] = (n, by_address, by_key)
    # the counter file pays only 期別 it names: every one found by the lookup, so all by address
    assert paid_installments["SN205"][2] == 0, paid_installments

    (paid, booked), = c.meta("SELECT (SELECT COALESCE(SUM(paid_amount), 0) FROM ledger.installment "
                             "WHERE municipality_code = %s), (SELECT COALESCE(SUM(tax_amount), 0) FROM ledger.payment "
                             "WHERE municipality_code = %s)", (code, code))
    assert paid == booked == rows["SN205"]["money"]["posted"] + rows["SN215"]["money"]["posted"] > 0
