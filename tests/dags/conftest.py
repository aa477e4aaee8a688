"""DAG tests: one DagBag over dags/ per session, and the parse-time report.

``parse_report`` parses every DAG file in a fresh interpreter (as the DAG processor does), so
the timing and the list of modules a DAG file drags in are not hidden by what other tests of
the session have already imported. The times are printed at the end of the pytest run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"

#: Filled by the parse_report fixture, printed by pytest_terminal_summary.
PARSE_TIMES: dict[str, float] = {}

_PARSE_SCRIPT = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
import_airflow = time.perf_counter() - t0
before = set(sys.modules)
out = {"import_airflow_s": import_airflow, "files": {}}
for f in sorted(Path(sys.argv[1]).glob("*.py")):
    t = time.perf_counter()
    bag = DagBag(dag_folder=str(f))
    out["files"][f.name] = {
        "seconds": time.perf_counter() - t,
        "dag_ids": sorted(bag.dag_ids),
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    }
new = set(sys.modules) - before
out["new_top_level_modules"] = sorted({m.split(".")[0] for m in new})
out["new_jobs_modules"] = sorted(m for m in new if m == "jobs" or m.startswith("jobs."))
print("PARSE_REPORT " + json.dumps(out))
"""


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    """All DAGs of dags/ (no include_examples argument: it raises TypeError on 3.3.0-3.3.2)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


@pytest.fixture(scope="session")
def parse_report() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(DAGS_FOLDER), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", _PARSE_SCRIPT, str(DAGS_FOLDER)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("PARSE_REPORT ")]
    assert proc.returncode == 0 and lines, f"parsing dags/ failed:\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(lines[-1].removeprefix("PARSE_REPORT "))
    for name, info in report["files"].items():
        PARSE_TIMES[name] = info["seconds"]
    return report


def pytest_terminal_summary(terminalreporter):
    if not PARSE_TIMES:
        return
    terminalreporter.section("DAG parse time (fresh interpreter, after `import airflow`)")
    for name, seconds in sorted(PARSE_TIMES.items()):
        terminalreporter.write_line(f"{name:<32} {seconds * 1000:8.1f} ms")
