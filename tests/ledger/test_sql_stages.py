"""The ``-- stage:`` header lines against the code: the 収納 tests (DuckDB half) run in a child
pytest with the stage_recorder plugin, which notes every named statement run and the columns the
job staged for each staged table the statement declares. Every sql/collection statement must run
there, and each declaration must be exactly the staged columns and types — so the headers that
test_sql_statements.py creates its temporary tables from are the code's staging schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.ledger import sql

ROOT = Path(__file__).resolve().parents[2]
#: the test folders whose ledger steps run the staged statements (the 滞納 areas keep theirs in
#: tests/arrears and tests/closing, the 年金特徴 areas in tests/pension): the ones that exist are run
#: the tests that run every statement with a stage (FK210 reads the ledger: test_reassessment_ledger)
STAGE_TEST_DIRS = ("tests/collection", "tests/arrears", "tests/pension", "tests/closing",
                   "tests/assessment/test_reassessment_ledger.py")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("stages") / "stages.json"
    env = {**os.environ, "KOKUHO_STAGE_RECORD": str(out),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    dirs = [d for d in STAGE_TEST_DIRS if (ROOT / d).exists()]
    proc = subprocess.run([sys.executable, "-m", "pytest", *dirs, "-q", "-x", "-p", "stage_recorder",
                           "-k", "not postgresql", "-p", "no:cacheprovider"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def test_every_collection_statement_runs_in_the_collection_tests(recorded):
    missing = [n for n in sql.names("collection") if n not in recorded["run"]]
    assert not missing, f"not run by tests/collection: {missing}"
    assert "ledger/installment_apply_delta" in recorded["run"]


def test_stage_headers_are_the_staged_schema(recorded):
    checked = 0
    for name in sql.names():
        declared = sql.stages(name)
        if not declared or name.startswith("bench/"):
            continue
        seen = recorded["staged"].get(name)
        assert seen, f"sql/{name}.sql declares {sorted(declared)} but never ran in {STAGE_TEST_DIRS}"
        for table, columns in declared.items():
            assert seen.get(table) == [columns], (
                f"sql/{name}.sql: -- stage: {table}({columns}) but the code staged {seen.get(table)}")
            checked += 1
    assert checked >= 15
