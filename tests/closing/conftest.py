"""月次締め・年次 tests (a copy of tests/collection/conftest.py's ledger fixtures): each ledger test its own var/ (KOKUHO_VAR) and, through ``ledger_url``, its own ledger on
DuckDB (a file in tmp_path) and on PostgreSQL (a fresh schema ``kb_<random>`` in database
``test`` at 127.0.0.1:5432, dropped afterwards).

PostgreSQL unreachable: the postgresql cases are skipped, unless ``KOKUHO_REQUIRE_POSTGRES=1``
(CI), then they fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collection"))  # collection_helpers
sys.path.insert(0, str(Path(__file__).resolve().parent))  # closing_helpers

import collection_helpers as helpers  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
_pg_state: dict[str, object] = {}


@pytest.fixture
def isolated_var(kokuho_var, monkeypatch):
    """This test's own var/ (KOKUHO_VAR) and no inherited kokuho settings. Not autouse: the
    refund tests of this folder need none (and check what their tmp_path holds)."""
    monkeypatch.delenv("KOKUHO_MYNUMBER_KEY", raising=False)
    monkeypatch.delenv("KOKUHO_MUNICIPALITY", raising=False)
    monkeypatch.delenv("KOKUHO_LEDGER_URL", raising=False)
    return kokuho_var


def _pg_connect():
    import psycopg

    return psycopg.connect(PG_DSN, autocommit=True)


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else why not (checked once per session)."""
    if "why" not in _pg_state:
        try:
            with _pg_connect() as conn:
                conn.execute("SELECT 1")
            _pg_state["why"] = None
        except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
            _pg_state["why"] = f"{type(exc).__name__}: {exc}"
    return _pg_state["why"]  # type: ignore[return-value]


def require_postgres() -> None:
    why = _pg_available()
    if why is None:
        return
    if os.environ.get("KOKUHO_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL 127.0.0.1:5432 に接続できません (KOKUHO_REQUIRE_POSTGRES=1): {why}")
    pytest.skip(f"PostgreSQL 127.0.0.1:5432 unreachable: {why}")


def pytest_configure(config):
    config.addinivalue_line("markers", "fresh_ledger: ledger_url gives an empty database (no schema yet)")


@pytest.fixture(scope="session")
def _duckdb_template(tmp_path_factory) -> Path:
    """A DuckDB ledger migrated once per session; each test gets a copy (creating the schema
    takes about a second on DuckDB, the copy a millisecond)."""
    from jobs.ledger import Ledger

    path = tmp_path_factory.mktemp("ledger_template") / "ledger.duckdb"
    Ledger.open(f"duckdb:///{path}").dispose()
    return path


@pytest.fixture(params=["duckdb", "postgresql"])
def ledger_url(request, tmp_path, monkeypatch, isolated_var, _duckdb_template) -> str:
    """The ledger URL of this test (KOKUHO_LEDGER_URL is set to it for the job steps). DuckDB:
    a copy of the migrated template, or an empty file for tests marked ``fresh_ledger``."""
    fresh = request.node.get_closest_marker("fresh_ledger") is not None
    if request.param == "duckdb":
        path = tmp_path / "ledger.duckdb"
        if not fresh:
            shutil.copyfile(_duckdb_template, path)
        url = f"duckdb:///{path}"
        monkeypatch.setenv("KOKUHO_LEDGER_URL", url)
        if not fresh:
            helpers.hold_duckdb(url)
        try:
            yield url
        finally:
            helpers.release_duckdb()
        return
    require_postgres()
    schema = f"kb_{secrets.token_hex(6)}"
    with _pg_connect() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("KOKUHO_LEDGER_URL", url)
    try:
        yield url
    finally:
        with _pg_connect() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def duckdb_url(tmp_path, monkeypatch, isolated_var, _duckdb_template) -> str:
    """DuckDB only (the property test): a copy of the migrated template."""
    shutil.copyfile(_duckdb_template, tmp_path / "ledger.duckdb")
    url = f"duckdb:///{tmp_path / 'ledger.duckdb'}"
    monkeypatch.setenv("KOKUHO_LEDGER_URL", url)
    helpers.hold_duckdb(url)
    try:
        yield url
    finally:
        helpers.release_duckdb()
