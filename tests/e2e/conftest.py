"""The e2e tests' shared fixture: ``ledger_backend``, the 収納台帳 a job net runs against (DuckDB in
this test's var/, or a PostgreSQL schema of its own), for the 滞納 job nets' tests."""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path

import pytest

_COLLECTION_CONFTEST = Path(__file__).resolve().parents[1] / "collection" / "conftest.py"
_spec = importlib.util.spec_from_file_location("_collection_conftest_e2e", _COLLECTION_CONFTEST)
_pg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pg)  # the ledger tests' PostgreSQL server and its skip/fail rule (loaded, not copied)


@pytest.fixture(params=["duckdb", "postgresql"])
def ledger_backend(request, kokuho_var, monkeypatch) -> str:
    """DuckDB: the default ledger of this test's var/; PostgreSQL: a random schema of its own
    (KOKUHO_LEDGER_URL, read by the steps that dag.test() runs in this process)."""
    if request.param == "duckdb":
        monkeypatch.delenv("KOKUHO_LEDGER_URL", raising=False)
        yield request.param
        return
    _pg.require_postgres()
    schema = f"kb_{secrets.token_hex(6)}"
    with _pg._pg_connect() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    monkeypatch.setenv("KOKUHO_LEDGER_URL", f"{_pg.PG_SERVER}?options=-csearch_path%3D{schema}")
    try:
        yield request.param
    finally:
        with _pg._pg_connect() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
