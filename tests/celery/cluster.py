"""A real Airflow in the distributed mode for the tests of tests/celery: the CeleryExecutor, a Redis
broker, a PostgreSQL metadata DB and 収納台帳, a scheduler, a DAG processor, an API server and one
``airflow celery worker``, each a process of its own, started once per session.

The settings are those of ``make up-celery`` (Makefile, UP_MODE=celery), made private to the session
so that it never meets a developer's Airflow nor another test run:
- the metadata DB is a database of its own on 127.0.0.1:5432 (``kokuho_celery_t<random>``, dropped at
  the end, never ``test``), with the Celery result backend in it and the ledger in its schema ``ledger``;
- the broker is Redis db 5 (this mode's number), and the tasks go to a queue of their own
  (``kokuho_t<random>``) that only this session's worker serves;
- the API server (= execution API) and the worker's log server are on free ports;
- AIRFLOW_HOME, KOKUHO_VAR and the keys are temp folders of the session.
No triggerer: the job nets run here find their files at once (a deferrable sensor pokes first).
Processes are started in their own session and stopped by their process group at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("VIRTUAL_ENV") or ROOT / ".venv") / "bin"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_DB = 5
COMPONENTS = ("scheduler", "dag-processor", "api-server", "worker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_connect(dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(dbname=dbname, connect_timeout=3, autocommit=True, **PG)


def redis_ping() -> str | None:
    """None when Redis answers on 127.0.0.1:6379, else why not."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=3) as s:
            s.sendall(b"PING\r\n")
            answer = s.recv(64)
    except OSError as exc:
        return str(exc)
    return None if answer.startswith(b"+PONG") else f"unexpected answer {answer!r}"


@dataclass
class Cluster:
    home: Path
    var: Path
    db: str
    queue: str
    port: int
    env: dict[str, str]
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ledger_url(self) -> str:
        return self.env["KOKUHO_LEDGER_URL"]

    def log(self, name: str) -> Path:
        return self.home / f"{name}.log"

    def run(self, *args: str, timeout: float = 300) -> str:
        out = subprocess.run([str(BIN / args[0]), *args[1:]], env=self.env, cwd=ROOT, capture_output=True,
                             text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        return out.stdout

    def start(self) -> None:
        worker_cmd = ["airflow", "celery", "worker", "--queues", self.queue, "--concurrency", "2",
                      "--celery-hostname", f"{self.queue}@%h", "--without-gossip", "--without-mingle"]
        cmds = {"scheduler": ["airflow", "scheduler"], "dag-processor": ["airflow", "dag-processor"],
                "api-server": ["airflow", "api-server"], "worker": worker_cmd}
        for name in COMPONENTS:
            with open(self.log(name), "wb") as fh:
                self.procs[name] = subprocess.Popen([str(BIN / cmds[name][0]), *cmds[name][1:]], env=self.env,
                                                    cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL, start_new_session=True)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)

    def forget_queue(self) -> None:
        """Remove what Celery left in the broker's db for this session's queue (kombu's bindings)."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=5)
        try:
            client.delete(self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}")
        finally:
            client.close()

    def keep_logs(self, dest: Path) -> None:
        """Copy the components' logs and the task logs to ``dest`` (replacing an earlier copy)."""
        import shutil

        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True, mode=0o700)
        for name in COMPONENTS:
            if self.log(name).is_file():
                shutil.copy(self.log(name), dest / self.log(name).name)
        if (self.home / "logs").is_dir():
            shutil.copytree(self.home / "logs", dest / "logs", ignore=shutil.ignore_patterns("dag_processor*"))

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.log(name).read_text(errors='replace')[-4000:]}")

    def wait_until(self, what: str, probe, timeout: float, every: float = 2.0):
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not within {timeout:.0f} s (logs: {self.home})")
            time.sleep(every)

    # --- the REST API, as the UI uses it ------------------------------------------------------------
    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {self.token}"} if self.token else {})})
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else {}

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/api/v2/monitor/health", timeout=5) as resp:
                return resp.status == 200
        except OSError:
            return False

    def login(self, user: str = "admin") -> None:
        passwords = json.loads((self.home / "passwords.json").read_text(encoding="utf-8"))
        self.token = self.api("POST", "/auth/token", {"username": user, "password": passwords[user]})["access_token"]

    def meta(self, sql: str, args: tuple = ()) -> list[tuple]:
        """A query on the metadata DB."""
        with pg_connect(self.db) as conn:
            return conn.execute(sql, args).fetchall()


def make_cluster(base: Path) -> Cluster:
    tag = secrets.token_hex(4)
    home, var = base / "airflow", base / "var"
    home.mkdir(parents=True)
    (var / "inbox").mkdir(parents=True)
    db, queue, port = f"kokuho_celery_t{tag}", f"kokuho_t{tag}", free_port()
    with pg_connect() as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    with pg_connect(db) as conn:
        conn.execute("CREATE SCHEMA ledger")
    pg = f"{PG['user']}@{PG['host']}:{PG['port']}/{db}"
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__CORE__UNIT_TEST_MODE"}
    env.update({
        "AIRFLOW_HOME": str(home),
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{pg}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{pg}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        # no scheduled runs: unpausing a DAG would start its latest cron slot for the default
        # municipality at once, and that run would take the test city's files (manual runs only)
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "KOKUHO_VAR": str(var),
        "AIRFLOW_CONN_KOKUHO_INBOX": json.dumps({"conn_type": "fs", "extra": {"path": str(var / "inbox")}}),
        "KOKUHO_LEDGER_URL": f"postgresql+psycopg://{pg}?options=-csearch_path%3Dledger",
        "KOKUHO_MAX_ACTIVE_RUNS": "2",
        "KOKUHO_SECRETS_DIR": str(base / "secrets"),
    })
    return Cluster(home=home, var=var, db=db, queue=queue, port=port, env=env)


def synth(inbox: Path, code: str, *, insured: int, seed: int, scratch: Path) -> dict:
    """``kokuho synth`` of a city with 団体コード ``code`` (config/synth.yaml with that code) into
    ``inbox``; returns its manifest."""
    import yaml

    from jobs.synth.cli import main

    cfg = yaml.safe_load((ROOT / "config" / "synth.yaml").read_text(encoding="utf-8"))
    cfg["city"]["municipality_code"] = code
    cfg_path = scratch / f"synth_{code}_{seed}.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    assert main(["--insured", str(insured), "--seed", str(seed), "--out", str(inbox), "--quiet",
                 "--config", str(cfg_path)]) == 0
    return json.loads((inbox / "synth_manifest.json").read_text(encoding="utf-8"))


def drop_database(db: str) -> None:
    with pg_connect() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
        conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
