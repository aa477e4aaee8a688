"""The real-scheduler e2e suite (issue 12): one REAL Airflow per session, driven like the UI.

The launcher is jobs/airflow_live.py (shared with ``make demo-year``). ``live_airflow`` (session)
starts the four components `make up` starts (scheduler, dag-processor,
triggerer, api-server) as child processes in a process group of their own, with:

- its own temporary AIRFLOW_HOME: the project's airflow.cfg applied as AIRFLOW__* variables
  (tests/conftest.py does the same for dag.test), its own SQLite metadata DB (``airflow db migrate``),
  the ``kokuho_ledger`` pool (``airflow pools set``, as ``make airflow-init``), the users of
  config/common/users.yaml with their passwords (``python -m jobs.airflow_auth passwords``);
- FREE ports: the API/UI port, ``[core] execution_api_server_url`` and both log-server ports all
  moved (as ``make up PORT=…``), and one JWT secret shared by every component;
- its own KOKUHO_VAR (the tests wipe it between scenarios: the components only hold its path), its
  own keys' folder, and its own KOKUHO_HOME: links to the checkout's layouts/ and sql/ and a copy of
  config/ with ``notice_output`` of the municipality overridden (several PDF files, 2 workers) and
  its DuckDB 消込 committed 20 records a transaction from 30 records (``SLICED_POSTING``);
- ``[scheduler] use_job_schedule = False``: the scheduler runs only the runs the tests trigger (an
  unpaused DAG would otherwise run its latest schedule slot at once under today's date);
- the live Airflow's own speed settings (jobs/airflow_live.py ``FAST`` and ``PRELOAD``) and, here, file
  waits of 6 s (their trigger fires 20 s after it starts at the soonest: plugins/kokuho_file_trigger.py)
  and dataset waits that poke every 5 s; two cities scheduled (111007 and 112011: each job
  net has a DAG per 団体コード).

Teardown kills the whole process group (TERM, then KILL) even when the session fails, and on a failed
test copies the component logs and the task logs to ``var/ci/live-<time>/``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from jobs.airflow_live import LiveAirflow, timing_report

MUNICIPALITY = "111007"
#: FK150 under the supervisor: several PDF files (a few hundred households), rendered by 2 workers
NOTICE_OUTPUT = {"households_per_pdf": 50, "pdf_workers": 2}
#: the soft file waits (KB100 介護保険台帳, KB400 窓口/コンビニ, KB410 口座振替依頼書, KB500 年金特徴) give up
#: after a few seconds, as they do after their hours in production: the ordinary days of
#: test_live_week.py have no such file most days (the DAG processor reads them when it parses the DAGs)
SHORT_FILE_WAITS = {"KOKUHO_KAIGO_FILE_WAIT_MINUTES": "0.1", "KOKUHO_PAYMENT_FILE_WAIT_MINUTES": "0.1",
                    "KOKUHO_MANDATE_FILE_WAIT_MINUTES": "0.1", "KOKUHO_NENKIN_FILE_WAIT_MINUTES": "0.1",
                    "KOKUHO_DATASET_WAIT_POKE_SECONDS": "5"}
#: the DuckDB 消込 of a file of 30 records or more commits 20 records a transaction (production: 1M
#: a transaction from 1M records, config/common/collection.yaml), so that the sliced posting
#: (reconcile.post_file, KKB429I) runs under the scheduler on the suite's small files
SLICED_POSTING = {f"municipalities/{MUNICIPALITY}/collection.yaml":
                  "collection:\n  reconcile:\n    slice_commit:\n      min_records: 30\n      records: 20\n"}
#: a second city's DAGs beside the default city's (``kokuho_intake_112011`` …: one DAG per 団体コード),
#: for test_live_jobnets.py's two cities at once
SECOND_CITY = "112011"
CITIES = {"KOKUHO_SCHEDULED_MUNICIPALITIES": f"{MUNICIPALITY},{SECOND_CITY}"}


@pytest.fixture(scope="session")
def live_airflow(request: pytest.FixtureRequest):
    base = Path(tempfile.mkdtemp(prefix="kokuho-live-"))
    live = LiveAirflow(base, municipality=MUNICIPALITY, notice_output=NOTICE_OUTPUT,
                      extra_env={**SHORT_FILE_WAITS, **CITIES}, config_files=SLICED_POSTING)
    failed_before = request.session.testsfailed
    started = False
    try:
        live.start()
        started = True
        yield live
    finally:
        if started:
            _write_timing(live)
        live.stop()
        if not started or request.session.testsfailed > failed_before:
            print(f"\nlive Airflow logs: {live.dump_logs()}", file=sys.stderr)
        shutil.rmtree(base, ignore_errors=True)


def _write_timing(live: LiveAirflow) -> None:
    """var/ci/live-timing-<time>.json: where the session's runs spent their time (never gates a test)."""
    import json
    import os
    import time

    try:
        report = timing_report(live.api)
        report["loadavg"] = os.getloadavg()
        out = live.root / "var" / "ci" / f"live-timing-{time.strftime('%Y%m%dT%H%M%S')}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"\nlive timing: {len(report['runs'])} runs, wall {report['wall_s']} s, tasks {report['tasks_s']} s, "
              f"queued {report['queued_s']} s ({out})", file=sys.stderr)
    except Exception as exc:  # a report, not a check
        print(f"\nlive timing report failed: {exc!r}", file=sys.stderr)
