"""`make up PORT=…` (issue 12): every port an Airflow instance uses moves with PORT, so a second
instance (another checkout, the e2e suite) never reports to the first. Checked on the commands
make would run (`make -n`), without starting Airflow; the real start was tried by hand
(`make up PORT=8180`: UI on 8180, log servers 8181/8182, nothing on 8080/8793/8794)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.fail("make is not installed (the README's two commands need it)")
    # -n: print the recipe lines; -W on the stamps so the prerequisites' recipes (db migrate) are not shown
    out = subprocess.run(["make", "-n", "-o", "var/airflow/.migrated", "-o", "var/airflow/.pools",
                          "-o", "var/airflow/.users", "up", *args],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout


@pytest.mark.parametrize(("port", "worker", "trigger"), [("8080", "8793", "8794"), ("8180", "8181", "8182")])
def test_every_port_moves_with_port(port: str, worker: str, trigger: str) -> None:
    text = _dry_run(f"PORT={port}")
    start = next(line for line in text.splitlines() if "setsid bash" in line)
    for setting in (f"AIRFLOW__API__PORT={port}", f"AIRFLOW__API__BASE_URL=http://127.0.0.1:{port}",
                    f"AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:{port}/execution/",
                    f"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT={worker}",
                    f"AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT={trigger}"):
        assert setting in start, setting
    assert f"http://127.0.0.1:{port}/api/v2/monitor/health" in text
    other = "8080" if port != "8080" else "8180"
    assert f"127.0.0.1:{other}" not in text


def test_up_prints_the_passwords_and_stops_airflow_that_never_answers() -> None:
    text = _dry_run("PORT=8180")
    assert "jobs.airflow_auth users" in text
    assert "simple_auth_manager_passwords.json.generated" in text
    assert "down" in text  # a health-check timeout stops what it started
