"""What the Makefile, CI and the benchmarks write under var/ is for the owner only (0600 / 0700),
like what the job runtime writes (jobs.common.paths.private_umask, tests/collection/test_trust_pipeline.py):
the Airflow metadata DB and task logs name persons, and so do the demo's and the benchmarks' data."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_make_recipe_runs_with_umask_077(tmp_path):
    out = subprocess.run(["make", "-s", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-p", "-q", "help"],
                         cwd=ROOT, capture_output=True, text=True).stdout
    assert f"BASH_ENV := {ROOT}/umask.sh" in out
    probe = subprocess.run(["bash", "-c", "umask; touch f"], cwd=tmp_path, capture_output=True, text=True,
                           env=dict(os.environ, BASH_ENV=str(ROOT / "umask.sh")), check=True)
    assert probe.stdout.strip() == "0077"
    assert (tmp_path / "f").stat().st_mode & 0o077 == 0


def test_ci_and_the_benchmarks_set_it_too():
    assert "source ./umask.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for bench in sorted((ROOT / "bench").glob("bench_*.py")):
        assert "private_umask()" in bench.read_text(encoding="utf-8"), bench.name


def test_pytest_itself_runs_with_umask_077(tmp_path):
    """tests/conftest.py sets it, so what a test (or an Airflow it starts) writes into var/ci/ is private
    also when pytest is started by hand, without the Makefile's umask.sh."""
    probe = tmp_path / "probe"
    probe.write_text("x")
    assert probe.stat().st_mode & 0o077 == 0
    child = subprocess.run(["bash", "-c", "umask"], capture_output=True, text=True, check=True,
                           env={k: v for k, v in os.environ.items() if k != "BASH_ENV"})
    assert child.stdout.strip() == "0077"
