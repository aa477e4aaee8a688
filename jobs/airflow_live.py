"""A REAL Airflow on free ports, driven only through its REST API (issue 12).

Shared by the real-scheduler e2e suite (tests/live) and ``make demo-year`` (jobs/demo_year): the four
components `make up` starts (scheduler, dag-processor, triggerer, api-server) as child processes in a
process group of their own, with

- its own AIRFLOW_HOME under ``base``: the project's airflow.cfg applied as AIRFLOW__* variables, its
  own SQLite metadata DB (``airflow db migrate``), the ``kokuho_ledger`` pool (as ``make
  airflow-init``), the users of config/common/users.yaml with their passwords (``python -m
  jobs.airflow_auth passwords``);
- FREE ports: the API/UI port, ``[core] execution_api_server_url`` and both log-server ports all moved
  (as ``make up PORT=…``), and one JWT secret shared by every component;
- its own KOKUHO_VAR (``base/var``), keys' folder and KOKUHO_HOME: links to the checkout's layouts/
  and sql/ and a copy of config/ (``notice_output`` of the municipality overridden when asked);
- ``[scheduler] use_job_schedule = False``: the scheduler runs only the runs the caller triggers (an
  unpaused DAG would otherwise run its latest schedule slot at once under today's date);
- ``[workers] execution_api_timeout = 60`` (Airflow's 5 s fails tasks when the machine is loaded);
- ``FAST``, settings of this Airflow only (not of airflow.cfg) that cut its fixed costs without
  changing what runs: the DAG processor parses the DAG files once (they do not change during a
  session; the operator's airflow.cfg re-parses every 10 s), the scheduler sleeps 0.2 s instead of 1 s
  after an idle loop (a finished task's downstream task is queued sooner); and ``PRELOAD``: the scheduler imports the
  job steps' libraries once, so every task process its LocalExecutor workers fork starts with them (each
  task process otherwise imports polars, DuckDB and the fixed-width code again: seconds on a loaded
  machine).

``stop()`` kills the whole process group (TERM, then KILL), also at interpreter exit.

    live = LiveAirflow(Path(tempfile.mkdtemp()), notice_output={"households_per_pdf": 50})
    live.start()
    run_id = live.api.trigger("kokuho_intake", {"business_date": "2026-06-01"}, "run1")
    live.api.wait_run("kokuho_intake", run_id)
    live.stop()
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
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
START_TIMEOUT = 240
LOGIN = "unyo01"  # a 運用 user of config/common/users.yaml: triggers, clears, reads logs and XComs
FINISHED = {"success", "failed"}

_NOT_COPIED = {("core", "dags_folder"), ("core", "plugins_folder"), ("database", "sql_alchemy_conn")}

#: Settings of the live Airflow only (see the module docstring); ``extra_env`` may override them.
FAST = {
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "3600",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
    # the scheduler sleeps this long after a loop that found nothing to do (default 1 s): a task that ends
    # during the sleep waits for it before its downstream task is queued, about 0.5 s a task on average
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
}
#: What the scheduler of the live Airflow imports at start (its airflow_local_settings.py), inherited by
#: the task processes it forks: the libraries and the job code every step task imports. No module here
#: starts a thread or opens a file when imported (a fork after that could hang the child).
PRELOAD = ("numpy", "polars", "duckdb", "jobs.airflow_task", "jobs.runner", "jobs.common.step",
           "jobs.common.fixedwidth", "jobs.common.plausibility", "jobs.ledger", "jobs.intake.generic",
           "jobs.intake.inputs")
_LOCAL_SETTINGS = """\"\"\"Written by jobs/airflow_live.py for this live Airflow only (never the operator's): the
scheduler imports the job steps' libraries once; the task processes its LocalExecutor workers fork
inherit them instead of importing them again.\"\"\"
import importlib
import sys

if sys.argv[1:2] == ["scheduler"]:
    for _name in {names!r}:
        try:
            importlib.import_module(_name)
        except Exception as _exc:  # a task imports it again, and says why if it fails
            print(f"preload {{_name}}: {{_exc!r}}", file=sys.stderr)
"""


class LiveAirflowError(RuntimeError):
    """The live Airflow did not start, or the API answered an error (``status``: its HTTP status)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def cfg_as_env(home: Path, root: Path = ROOT) -> dict[str, str]:
    """The checkout's airflow.cfg as AIRFLOW__SECTION__KEY variables (``${AIRFLOW_HOME}`` = ``home``)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(root / "airflow.cfg", encoding="utf-8")
    env = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            if key.endswith("_cmd") or (section, key) in _NOT_COPIED:
                continue
            env[f"AIRFLOW__{section.upper()}__{key.upper()}"] = value.replace("${AIRFLOW_HOME}", str(home))
    return env


def free_ports(n: int) -> list[int]:
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


def kokuho_home(base: Path, *, municipality: str, notice_output: Mapping[str, Any] | None = None,
                config_files: Mapping[str, str] | None = None, root: Path = ROOT) -> Path:
    """KOKUHO_HOME of the live Airflow: the checkout's layouts/, sql/, fixtures/ and reports/ linked,
    config/ copied, with the municipality's notice_output override when given
    (config/municipalities/<code>/notice_output.yaml) and ``config_files`` (path under config/ → YAML
    text: overrides that must not exist in the checkout)."""
    home = base / "kokuho_home"
    home.mkdir()
    for name in ("layouts", "sql", "fixtures", "reports"):
        (home / name).symlink_to(root / name)
    shutil.copytree(root / "config", home / "config", symlinks=True)
    if notice_output:
        override = home / "config" / "municipalities" / municipality / "notice_output.yaml"
        if override.exists():
            raise LiveAirflowError(f"the checkout has its own notice_output override: merge it ({override})")
        override.write_text("notice_output:\n" + "".join(f"  {k}: {v}\n" for k, v in notice_output.items()),
                            encoding="utf-8")
    for rel, text in (config_files or {}).items():
        target = home / "config" / rel
        if target.exists():
            raise LiveAirflowError(f"the checkout has its own {rel}: merge it ({target})")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return home


class LiveAirflow:
    def __init__(self, base: Path, *, municipality: str = "111007", notice_output: Mapping[str, Any] | None = None,
                 parallelism: int = 3, extra_env: Mapping[str, str] | None = None,
                 config_files: Mapping[str, str] | None = None, root: Path = ROOT, preload: bool = True):
        self.base = base
        self.root = root
        self.home = base / "airflow"
        self.var = base / "var"
        self.logs = base / "component-logs"
        for d in (self.home, self.var / "inbox", self.logs):
            d.mkdir(parents=True)
        self.port, worker_log_port, trigger_log_port = free_ports(3)
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "KOKUHO_"))}
        env.update(cfg_as_env(self.home, root))
        env.update(FAST)
        if preload:  # ${AIRFLOW_HOME}/config is on every component's sys.path
            (self.home / "config").mkdir()
            (self.home / "config" / "airflow_local_settings.py").write_text(
                _LOCAL_SETTINGS.format(names=PRELOAD), encoding="utf-8")
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),  # the job nets' timetable
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_log_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_log_port),
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(24).hex(),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            # the task supervisor's calls to the execution API: 5 s by default, which a starved API
            # server on a loaded 2-core machine missed (the first task of a run failed, retried 5 min later)
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            "AIRFLOW_CONN_KOKUHO_INBOX": json.dumps({"conn_type": "fs", "extra": {"path": str(self.var / "inbox")}}),
            "KOKUHO_HOME": str(kokuho_home(base, municipality=municipality, notice_output=notice_output,
                                           config_files=config_files, root=root)),
            "KOKUHO_VAR": str(self.var),
            "KOKUHO_SECRETS_DIR": str(base / "secrets"),
        })
        env.update(extra_env or {})
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.api: AirflowApi | None = None

    def _run(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
        out = subprocess.run(argv, env=self.env, cwd=self.base, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise LiveAirflowError(f"{argv}: {out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        return out

    def start(self) -> None:
        self._run(str(BIN / "airflow"), "db", "migrate")
        self._run(str(BIN / "airflow"), "pools", "set", "kokuho_ledger", "1", "収納台帳 (DuckDB: 書き込みは1プロセスずつ)")
        passwords = self.home / "passwords.json"
        self._run(str(BIN / "python"), "-m", "jobs.airflow_auth", "passwords", str(passwords))
        self.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(passwords)
        self._run(str(BIN / "kokuho"), "keys", "init")
        script = " ".join(f"airflow {c} > {self.logs / c}.log 2>&1 &" for c in COMPONENTS) + " wait"
        # a process group of its own: stop() kills the components and every task process
        self.proc = subprocess.Popen(["bash", "-c", script], env=self.env, cwd=self.base,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        atexit.register(self.stop)  # even if the caller's finalizer never runs
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise LiveAirflowError(f"the Airflow components exited ({self.proc.returncode}): {self.tail()}")
            try:
                if httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise LiveAirflowError(f"Airflow did not answer on {self.url} within {START_TIMEOUT} s: {self.tail()}")
            time.sleep(2)
        password = json.loads(passwords.read_text(encoding="utf-8"))[LOGIN]
        self.api = AirflowApi(self.url, LOGIN, password)

    def kokuho(self, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """``kokuho …`` with the live Airflow's KOKUHO_VAR, KOKUHO_HOME and keys (as its tasks see them)."""
        return self._run(str(BIN / "kokuho"), *argv, timeout=timeout)

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

    def dump_logs(self, dest: Path | None = None) -> Path:
        """The component logs and the task logs, copied to ``dest`` (default var/ci/live-<time>/)."""
        dest = dest or self.root / "var" / "ci" / f"live-{time.strftime('%Y%m%dT%H%M%S')}"
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


class AirflowApi:
    """The REST API of the live Airflow, used as the UI uses it: a JWT from /auth/token, then /api/v2."""

    #: A busy machine (the API server starved of CPU) answers late: a request that times out or loses
    #: its connection is sent again, up to ATTEMPTS times, TIMEOUT seconds each.
    ATTEMPTS = 5
    TIMEOUT = 120

    def __init__(self, url: str, username: str, password: str):
        self.url = url
        r = self._send(lambda: httpx.post(f"{url}/auth/token", json={"username": username, "password": password},
                                          timeout=self.TIMEOUT))
        if r.status_code not in (200, 201):
            raise LiveAirflowError(f"login {username}: {r.status_code} {r.text[:500]}")
        self.client = httpx.Client(base_url=f"{url}/api/v2", timeout=self.TIMEOUT,
                                   headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        self.retried = 0

    def _send(self, request) -> httpx.Response:
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                return request()
            except httpx.TransportError:   # timeouts, refused or dropped connections
                if attempt == self.ATTEMPTS:
                    raise
                self.retried = getattr(self, "retried", 0) + 1
                time.sleep(2 * attempt)
        raise AssertionError("unreachable")

    def _ok(self, r: httpx.Response) -> Any:
        if not r.is_success:
            raise LiveAirflowError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:2000]}",
                                   r.status_code)
        return r.json() if r.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self._ok(self._send(lambda: self.client.get(path, params=params)))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._ok(self._send(lambda: self.client.post(path, json=body)))

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._ok(self._send(lambda: self.client.patch(path, json=body)))

    # --- DAGs and runs --------------------------------------------------------------------------

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict[str, Any]:
        """The DAG processor has parsed the file (the DAG exists in the API)."""
        deadline = time.monotonic() + timeout
        while True:
            r = self._send(lambda: self.client.get(f"/dags/{dag_id}"))
            if r.status_code == 200:
                return r.json()
            if time.monotonic() > deadline:
                raise LiveAirflowError(f"{dag_id} did not appear within {timeout} s: {r.status_code} {r.text[:500]}")
            time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        if self.patch(f"/dags/{dag_id}", {"is_paused": False})["is_paused"] is not False:
            raise LiveAirflowError(f"{dag_id} is still paused")

    def trigger(self, dag_id: str, conf: dict[str, Any], run_id: str) -> str:
        """As the 実行 (trigger) form does: no logical date, the params form's values as conf."""
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf, "note": None}
        before = self.retried
        try:
            return self.post(f"/dags/{dag_id}/dagRuns", body)["dag_run_id"]
        except LiveAirflowError as exc:
            # a POST sent again after a timeout: the first one made the run (409: it exists)
            if exc.status == 409 and self.retried > before and self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["conf"] == conf:
                return run_id
            raise

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 300, poll: float = 1) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = self.run_state(dag_id, run_id)
            if state in FINISHED:
                return state
            if time.monotonic() > deadline:
                raise LiveAirflowError(f"{dag_id} {run_id} still {state} after {timeout} s: "
                                       f"{self.states(dag_id, run_id)}")
            time.sleep(poll)

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        tis = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]
        return {ti["task_id"]: ti for ti in tis}

    def states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {t: ti["state"] for t, ti in self.task_instances(dag_id, run_id).items()}

    def try_numbers(self, dag_id: str, run_id: str) -> dict[str, int]:
        return {t: ti["try_number"] for t, ti in self.task_instances(dag_id, run_id).items()}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """The XCom as the UI's ストレージ → XCom tab reads it (deserialized JSON)."""
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
                        deserialize=True, stringify=False)["value"]

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The task log of one try as text (the structured lines' events joined)."""
        data = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                        full_content=True)
        content = data.get("content", [])
        if isinstance(content, str):
            return content
        lines = []
        for item in content:
            if isinstance(item, dict):
                lines.append(" ".join(str(item.get(k, "")) for k in ("level", "logger", "event") if item.get(k)))
            else:
                lines.append(str(item))
        return "\n".join(lines)

    def clear_like_the_ui(self, dag_id: str, run_id: str, task_ids: list[str]) -> list[str]:
        """The 消去 dialog of a failed task instance: first the dry run (the affected tasks it lists),
        then the same body with dry_run false; 下流 (downstream) pre-selected, 失敗のみ (only failed) on."""
        body = {"dag_run_id": run_id, "dry_run": True, "include_downstream": True, "include_upstream": False,
                "include_past": False, "include_future": False, "only_failed": True,
                "run_on_latest_version": False, "task_ids": [[t, -1] for t in task_ids]}
        affected = self.post(f"/dags/{dag_id}/clearTaskInstances", body)["task_instances"]
        self.post(f"/dags/{dag_id}/clearTaskInstances", {**body, "dry_run": False})
        return sorted(ti["task_id"] for ti in affected)


def _ts(value: str | None) -> float | None:
    import datetime as dt

    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def timing_report(api: AirflowApi) -> dict[str, Any]:
    """Where the wall time of every run of the live Airflow went, from the REST API (as the UI's Gantt
    shows it): per run its wall time (start → end), the tasks' own time, the scheduling latency
    (queued → running of each task, summed) and the rest (the gaps between a task's end and the next
    task's queueing: the scheduler loop, sensor reschedules, deferrals on the triggerer). Each task:
    its try, its time queued, its time running."""
    runs = []
    for dag in api.get("/dags", limit=100)["dags"]:
        for run in api.get(f"/dags/{dag['dag_id']}/dagRuns", limit=100)["dag_runs"]:
            start, end = _ts(run.get("start_date")), _ts(run.get("end_date"))
            tis = api.get(f"/dags/{dag['dag_id']}/dagRuns/{run['dag_run_id']}/taskInstances",
                          limit=100)["task_instances"]
            tasks, own, queued = {}, 0.0, 0.0
            for ti in tis:
                q, s, e = _ts(ti.get("queued_when")), _ts(ti.get("start_date")), _ts(ti.get("end_date"))
                run_s = round(e - s, 1) if s and e else None
                wait_s = round(s - q, 1) if q and s and s >= q else None
                own += run_s or 0.0
                queued += wait_s or 0.0
                tasks[ti["task_id"]] = {"state": ti["state"], "try": ti["try_number"], "queued_s": wait_s,
                                        "run_s": run_s, "start": ti.get("start_date")}
            wall = round(end - start, 1) if start and end else None
            runs.append({"dag_id": dag["dag_id"], "run_id": run["dag_run_id"], "state": run["state"],
                         "start": run.get("start_date"), "wall_s": wall, "tasks_s": round(own, 1),
                         "queued_s": round(queued, 1), "tasks": tasks})
    runs.sort(key=lambda r: r["start"] or "")
    return {"runs": runs, "wall_s": round(sum(r["wall_s"] or 0 for r in runs), 1),
            "tasks_s": round(sum(r["tasks_s"] for r in runs), 1),
            "queued_s": round(sum(r["queued_s"] for r in runs), 1)}
