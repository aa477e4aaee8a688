"""tests/celery: the distributed mode (``make up-celery``). ``celery_cluster`` starts one real
Airflow with the CeleryExecutor per session (tests/celery/cluster.py) and stops it at the end.

Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432) must be running: with CI=true or
KOKUHO_REQUIRE_POSTGRES=1 (.ci/run) a missing one fails the tests, otherwise they are skipped
with the reason. The components' logs and the task logs of the last session are kept in
var/ci/celery/ (git-ignored, owner only)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cluster  # noqa: E402


def _require_services() -> None:
    why = cluster.redis_ping()
    what = "Redis 127.0.0.1:6379"
    if why is None:
        try:
            with cluster.pg_connect():
                pass
        except Exception as exc:  # psycopg.OperationalError and friends
            why, what = str(exc), "PostgreSQL 127.0.0.1:5432"
    if why is None:
        return
    if os.environ.get("CI") == "true" or os.environ.get("KOKUHO_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"distributed mode: {what} に接続できません: {why}")
    pytest.skip(f"distributed mode: {what} unreachable: {why}")


@pytest.fixture(scope="session")
def celery_cluster(tmp_path_factory) -> Iterator[cluster.Cluster]:
    _require_services()
    c = cluster.make_cluster(tmp_path_factory.mktemp("celery"))
    try:
        c.run("airflow", "db", "migrate")
        c.run("airflow", "pools", "set", "kokuho_ledger", "1", "収納台帳")
        c.run("python", "-m", "jobs.airflow_auth", "passwords", str(c.home / "passwords.json"))
        c.run("kokuho", "keys", "init")  # before two tasks at once would make them
        c.start()
        c.wait_until("the API server answers", c.healthy, timeout=180)
        c.login()
        yield c
    finally:
        c.stop()
        c.forget_queue()
        c.keep_logs(cluster.ROOT / "var" / "ci" / "celery")
        cluster.drop_database(c.db)
