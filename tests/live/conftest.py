"""The real-scheduler e2e suite (issue 12): one REAL Airflow per session, driven like the UI.

``live_airflow`` (session) starts the four components `make up` starts (scheduler, dag-processor,
triggerer, api-server) as child processes in a process group of their own, with:

- its own temporary AIRFLOW_HOME: the project's airflow.cfg applied as AIRFLOW__* variables
  (tests/conftest.py does the same for dag.test), its own SQLite metadata DB (``airflow db migrate``),
  the ``kokuho_ledger`` pool (``airflow pools set``, as ``make airflow-init``), the users of
  config/common/users.yaml with their passwords (``python -m jobs.airflow_auth passwords``);
- FREE ports: the API/UI port, ``[core] execution_api_server_url`` and both log-server ports all
  moved (as ``make up PORT=…``), and one JWT secret shared by every component;
- its own KOKUHO_VAR (the tests wipe it between scenarios: the components only hold its path), its
  own keys' folder, and its own KOKUHO_HOME: links to the checkout's layouts/ and sql/ and a copy of
  config/ with ``notice_output`` of the municipality overridden (several PDF files, 2 workers);
- ``[scheduler] use_job_schedule = False``: the scheduler runs only the runs the tests trigger (an
  unpaused DAG would otherwise run its latest schedule slot at once under today's date).

Teardown kills the whole process group (TERM, then KILL) even when the session fails, and on a failed
test copies the component logs and the task logs to ``var/ci/live-<time>/``.
"""

from __future__ import annotations

import atexit
import configparser
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from live_helpers import AirflowApi

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
MUNICIPALITY = "111007"
#: FK150 under the supervisor: several PDF files (a few hundred households), rendered by 2 workers
NOTICE_OUTPUT = {"households_per_pdf": 50, "pdf_workers": 2}
START_TIMEOUT = 240
LOGIN = "unyo01"  # a 運用 user of config/common/users.yaml: triggers, clears, reads logs and XComs
#: the soft file waits (KB100 介護保険台帳, KB400 窓口/コンビニ, KB410 口座振替依頼書, KB500 年金特徴) give up
#: after a few seconds, as they do after their hours in production: the ordinary days of
#: test_live_week.py have no such file most days (the DAG processor reads them when it parses the DAGs)
SHORT_FILE_WAITS = {"KOKUHO_KAIGO_FILE_WAIT_MINUTES": "0.1", "KOKUHO_PAYMENT_FILE_WAIT_MINUTES": "0.1",
                    "KOKUHO_MANDATE_FILE_WAIT_MINUTES": "0.1", "KOKUHO_NENKIN_FILE_WAIT_MINUTES": "0.1",
                    "KOKUHO_DATASET_WAIT_POKE_SECONDS": "5"}

_NOT_COPIED = {("core", "dags_folder"), ("core", "plugins_folder"), ("database", "sql_alchemy_conn")}


def _cfg_as_env(home: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "airflow.cfg", encoding="utf-8")
    env = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            if key.endswith("_cmd") or (section, key) in _NOT_COPIED:
                continue
            env[f"AIRFLOW__{section.upper()}__{key.upper()}"] = value.replace("${AIRFLOW_HOME}", str(home))
    return env


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _kokuho_home(base: Path) -> Path:
    """KOKUHO_HOME of the live Airflow: the checkout's layouts/ and sql/, config/ copied with the
    municipality's notice_output override (config/municipalities/<code>/notice_output.yaml)."""
    home = base / "kokuho_home"
    home.mkdir()
    for name in ("layouts", "sql", "fixtures", "reports"):
        (home / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "config", home / "config", symlinks=True)
    override = home / "config" / "municipalities" / MUNICIPALITY / "notice_output.yaml"
    assert not override.exists(), "the checkout has its own notice_output override: merge it here"
    override.write_text("notice_output:\n" + "".join(f"  {k}: {v}\n" for k, v in NOTICE_OUTPUT.items()),
                        encoding="utf-8")
    return home


class LiveAirflow:
    def __init__(self, base: Path):
        self.base = base
        self.home = base / "airflow"
        self.var = base / "var"
        self.logs = base / "component-logs"
        for d in (self.home, self.var / "inbox", self.logs):
            d.mkdir(parents=True)
        self.port, worker_log_port, trigger_log_port = _free_ports(3)
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "KOKUHO_"))}
        env.update(_cfg_as_env(self.home))
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),  # the job nets' timetable (once merged)
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "3",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_log_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_log_port),
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(24).hex(),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW_CONN_KOKUHO_INBOX": json.dumps({"conn_type": "fs", "extra": {"path": str(self.var / "inbox")}}),
            "KOKUHO_HOME": str(_kokuho_home(base)),
            "KOKUHO_VAR": str(self.var),
            "KOKUHO_SECRETS_DIR": str(base / "secrets"),
        })
        env.update(SHORT_FILE_WAITS)
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.api: AirflowApi | None = None

    def _run(self, *argv: str) -> None:
        out = subprocess.run(argv, env=self.env, cwd=self.base, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, f"{argv}: {out.stdout[-3000:]}\n{out.stderr[-3000:]}"

    def start(self) -> None:
        self._run(str(BIN / "airflow"), "db", "migrate")
        self._run(str(BIN / "airflow"), "pools", "set", "kokuho_ledger", "1", "収納台帳 (DuckDB: 書き込みは1プロセスずつ)")
        passwords = self.home / "passwords.json"
        self._run(str(BIN / "python"), "-m", "jobs.airflow_auth", "passwords", str(passwords))
        self.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(passwords)
        self._run(str(BIN / "kokuho"), "keys", "init")
        script = " ".join(f"airflow {c} > {self.logs / c}.log 2>&1 &" for c in COMPONENTS) + " wait"
        # a process group of its own: teardown kills the components and every task process
        self.proc = subprocess.Popen(["bash", "-c", script], env=self.env, cwd=self.base,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        atexit.register(self.stop)  # even if the fixture's finalizer never runs
        deadline = time.monotonic() + START_TIMEOUT
        import httpx

        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Airflow components exited ({self.proc.returncode}): {self.tail()}")
            try:
                if httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Airflow did not answer on {self.url} within {START_TIMEOUT} s: {self.tail()}")
            time.sleep(2)
        password = json.loads(passwords.read_text(encoding="utf-8"))[LOGIN]
        self.api = AirflowApi(self.url, LOGIN, password)

    def tail(self, lines: int = 30) -> str:
        parts = []
        for f in sorted(self.logs.glob("*.log")):
            parts.append(f"--- {f.name}\n" + "\n".join(f.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(parts)

    def stop(self) -> None:
        """TERM, then KILL, to the components' process group (their task processes included). The
        group id is the bash's pid; Linux gives no new process a pid that is a live group's id."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            self._kill_group(proc)
        finally:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    @staticmethod
    def _kill_group(proc: subprocess.Popen) -> None:
        pgid = proc.pid
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                proc.poll()  # reap the bash, or the zombie keeps the group "alive"
                try:
                    os.killpg(pgid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.5)

    def dump_logs(self) -> Path:
        dest = ROOT / "var" / "ci" / f"live-{time.strftime('%Y%m%dT%H%M%S')}"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.logs, dest / "components", dirs_exist_ok=True)
        task_logs = self.home / "var" / "airflow" / "logs"
        if task_logs.is_dir():
            shutil.copytree(task_logs, dest / "task-logs", dirs_exist_ok=True)
        return dest

    def wipe_var(self) -> None:
        """A fresh var/ (the same folder: the components hold its path): inbox, datasets, ledger …"""
        for child in self.var.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        (self.var / "inbox").mkdir()


@pytest.fixture(scope="session")
def live_airflow(request: pytest.FixtureRequest):
    base = Path(tempfile.mkdtemp(prefix="kokuho-live-"))
    live = LiveAirflow(base)
    failed_before = request.session.testsfailed
    started = False
    try:
        live.start()
        started = True
        yield live
    finally:
        live.stop()
        if not started or request.session.testsfailed > failed_before:
            print(f"\nlive Airflow logs: {live.dump_logs()}", file=sys.stderr)
        shutil.rmtree(base, ignore_errors=True)
