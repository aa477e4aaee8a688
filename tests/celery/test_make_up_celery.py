"""`make up-celery` (UP_MODE=celery): the settings it gives every Airflow command, the components it
starts, and that tests/celery/cluster.py runs Airflow with the same settings. Checked on what make
would do (`make -n`, and the environment make exports), without starting anything; the real start
was tried by hand (`make up-celery PORT=8280`: a KB100 run on the worker) and the e2e test starts the
same components."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import cluster
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW_ENV = "kokuho-show-env:\n\t@env | grep -E '^(AIRFLOW__|KOKUHO_)' | sort\n"


def _make(*args: str, stdin: str | None = None) -> str:
    if shutil.which("make") is None:
        pytest.fail("make is not installed (the README's commands need it)")
    # what the shell of a developer would give make: none of the settings under test (the test
    # session's own AIRFLOW__* and ledger URL are dropped)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AIRFLOW__") and k not in ("KOKUHO_LEDGER_URL", "KOKUHO_MAX_ACTIVE_RUNS")}
    out = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                         input=stdin, check=True, env=env)
    return out.stdout


def _env(*args: str) -> dict[str, str]:
    text = _make("-s", *args, "-f", "Makefile", "-f", "-", "kokuho-show-env", stdin=SHOW_ENV)
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_celery_mode_settings():
    env = _env("UP_MODE=celery")
    municipalities = len(list((ROOT / "config" / "municipalities").glob("*/municipality.yaml")))
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6379/5"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://postgres@127.0.0.1:5432/kokuho_airflow"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql://postgres@127.0.0.1:5432/kokuho_airflow"
    assert env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "kokuho"
    assert env["KOKUHO_LEDGER_URL"] == "postgresql+psycopg://postgres@127.0.0.1:5432/kokuho_ledger"
    assert env["KOKUHO_MAX_ACTIVE_RUNS"] == str(municipalities) and municipalities >= 2
    # overridable, and the default mode sets none of it
    moved = _env("UP_MODE=celery", "CELERY_DB=kokuho_airflow2", "CELERY_REDIS_DB=7", "CELERY_QUEUE=city2")
    assert moved["AIRFLOW__CELERY__BROKER_URL"].endswith(":6379/7")
    assert moved["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("/kokuho_airflow2")
    assert moved["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "city2"
    local = _env()
    assert not any(k.startswith("AIRFLOW__CELERY__") or k == "AIRFLOW__CORE__EXECUTOR" for k in local)
    assert "KOKUHO_LEDGER_URL" not in local and "KOKUHO_MAX_ACTIVE_RUNS" not in local


def test_up_celery_starts_a_worker_and_moves_every_port():
    stamps = ["-o", "var/airflow/.migrated-celery-kokuho_airflow", "-o", "var/airflow/.pools-celery-kokuho_airflow",
              "-o", "var/airflow/.users"]
    text = _make("-n", *stamps, "up", "UP_MODE=celery", "PORT=8180")
    start = next(line for line in text.splitlines() if "setsid bash" in line)
    assert "airflow celery worker --queues kokuho --concurrency 2 &" in start
    for component in ("airflow scheduler", "airflow dag-processor", "airflow triggerer", "airflow api-server"):
        assert component in start
    for setting in ("AIRFLOW__API__PORT=8180", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:8180/execution/",
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=8181", "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=8182"):
        assert setting in start
    local = _make("-n", "-o", "var/airflow/.migrated", "-o", "var/airflow/.pools", "-o", "var/airflow/.users", "up")
    assert "airflow celery worker" not in next(line for line in local.splitlines() if "setsid bash" in line)
    assert re.search(r"^make .*up UP_MODE=celery", _make("-n", "up-celery"), re.M)
    worker = _make("-n", "celery-worker")
    assert "airflow celery worker --queues kokuho --concurrency 2" in worker


def test_the_e2e_cluster_runs_what_make_up_celery_runs(tmp_path, monkeypatch):
    """The test cluster differs only in names (database, queue, ports, folders), not in kind."""
    monkeypatch.setattr(cluster, "pg_connect", _NoDatabase)
    c = cluster.make_cluster(tmp_path)
    env = _env("UP_MODE=celery")
    assert c.env["AIRFLOW__CORE__EXECUTOR"] == env["AIRFLOW__CORE__EXECUTOR"]
    assert c.env["AIRFLOW__CELERY__BROKER_URL"] == env["AIRFLOW__CELERY__BROKER_URL"]  # this mode's Redis db
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND", "KOKUHO_LEDGER_URL"):
        assert c.env[key].split("://")[0] == env[key].split("://")[0], key
    assert c.db != "test" and c.db.startswith("kokuho_celery_t")


class _NoDatabase:
    """pg_connect stand-in: make_cluster creates its database; here nothing is created."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, *args, **kwargs):
        return None
