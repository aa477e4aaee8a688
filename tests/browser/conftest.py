"""An Airflow UI of its own for the browser check (tests/browser/test_ui.py).

``airflow_ui`` (module scope) starts, as ``make up PORT=…`` does but with nothing of the
checkout's var/ or metadata DB:

- a temporary AIRFLOW_HOME with its own SQLite metadata DB (``airflow db migrate``), its own
  passwords file (``python -m jobs.airflow_auth passwords``: the users of config/common/users.yaml,
  the 運用 user's password from ``KOKUHO_AIRFLOW_PASSWORD_<LOGIN>``), its own JWT secret and logs;
- a failed run of KB100 beforehand: ``airflow dags test kokuho_intake`` on a business day with a
  broken 資格 file (one line of text, no fixed-width record) in a temporary var/inbox/shikaku/, so
  FK020 ends RC 8 and the run is failed (its downstream upstream_failed);
- ``airflow api-server`` (the UI) on a free port, with every port moved as ``make up PORT=`` does:
  ``[api] port`` and ``base_url``, ``[core] execution_api_server_url`` and the two log-server
  ports, so it never talks to an operator's Airflow on 8080 nor to the tests/live suite's.

Only the API server runs: the UI reads the DAGs (serialized by ``dags test``) and the run from the
metadata DB; no scheduler, so nothing is ever started from the UI here. The server is started in
its own process group and stopped with it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.airflow_live import free_ports

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

#: the UI user of the check: a 運用 (Airflow role "user") login of config/common/users.yaml
LOGIN = "unyo01"
DAG_ID = "kokuho_intake"
#: a Monday, a business day of the city's calendar (KB100-CAL lets the run go on)
BUSINESS_DATE = "2026-06-01"
#: the broken 資格 file: no header, no fixed-width record; the codec refuses it (RC 8)
BROKEN_FILE = "SHIKAKU_20260601.dat"

_START_TIMEOUT = 90.0


@dataclass(frozen=True)
class AirflowUI:
    url: str
    login: str
    password: str
    run_id: str
    home: Path
    ports: dict[str, int]


def _env(home: Path, var: Path, ports: dict[str, int], password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    url = f"http://127.0.0.1:{ports['api']}"
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),  # the job nets' timetable (KokuhoRunDayTimetable)
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Tokyo",
        "AIRFLOW__CORE__AUTH_MANAGER": "jobs.airflow_auth.KokuhoAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY": str(home / "logs" / "dag_processor"),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "dag_bundles"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        # every port, as `make up PORT=` moves them
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(ports["api"]),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports["worker_log"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports["trigger_log"]),
        "KOKUHO_HOME": str(ROOT),
        "KOKUHO_VAR": str(var),
        "AIRFLOW_CONN_KOKUHO_INBOX": json.dumps({"conn_type": "fs", "extra": {"path": str(var / "inbox")}}),
        "KOKUHO_AIRFLOW_PASSWORD_" + LOGIN.upper(): password,
    })
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    return env


def _run(args: list[str], env: dict[str, str], log: Path, timeout: float) -> subprocess.CompletedProcess:
    with log.open("ab") as fh:
        return subprocess.run(args, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout, check=False)


def _failed_run(db: Path) -> tuple[str, dict[str, str]]:
    """The run of ``dags test`` in the metadata DB: its run id, and the task states."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ?", (DAG_ID,)).fetchall()
        assert len(rows) == 1, rows
        run_id, state = rows[0]
        tis = dict(con.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
                               (DAG_ID, run_id)).fetchall())
    assert state == "failed", (state, tis)
    return run_id, tis


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"airflow api-server exited {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(f"airflow api-server did not answer on {url} within {_START_TIMEOUT:.0f} s:\n"
                f"{log.read_text(errors='replace')[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    pgid = os.getpgid(proc.pid)
    for sig, wait in ((signal.SIGINT, 15), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def airflow_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowUI]:
    base = tmp_path_factory.mktemp("browser")
    home, var = base / "airflow", base / "var"
    (var / "inbox" / "shikaku").mkdir(parents=True)
    home.mkdir()
    (var / "inbox" / "shikaku" / BROKEN_FILE).write_bytes(b"this is not a fixed-width file\n")
    api, worker_log, trigger_log = free_ports(3)
    ports = {"api": api, "worker_log": worker_log, "trigger_log": trigger_log}
    password = secrets.token_urlsafe(12)
    env = _env(home, var, ports, password)
    log = home / "setup.log"

    steps = [
        ([str(BIN / "airflow"), "db", "migrate"], 180),
        ([sys.executable, "-m", "jobs.airflow_auth", "passwords", str(home / "passwords.json")], 60),
    ]
    for args, timeout in steps:
        done = _run(args, env, log, timeout)
        assert done.returncode == 0, (args, log.read_text(errors="replace")[-3000:])
    # dags test exits non-zero or zero depending on the Airflow version when a task fails: the DB says.
    _run([str(BIN / "airflow"), "dags", "test", DAG_ID, BUSINESS_DATE, "-c",
          json.dumps({"business_date": BUSINESS_DATE})], env, log, 240)
    run_id, tis = _failed_run(home / "airflow.db")
    assert tis.get("fk020") == "failed", (tis, log.read_text(errors="replace")[-3000:])

    server_log = home / "api-server.log"
    with server_log.open("ab") as fh:
        proc = subprocess.Popen([str(BIN / "airflow"), "api-server", "--port", str(api)], env=env, cwd=ROOT,
                                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        url = f"http://127.0.0.1:{api}"
        _wait_healthy(url, proc, server_log)
        yield AirflowUI(url=url, login=LOGIN, password=password, run_id=run_id, home=home, ports=ports)
    finally:
        _stop(proc)
