"""Ledger tests: an empty database per test on DuckDB (a file in tmp_path) and on PostgreSQL (a
fresh schema in database ``test`` at 127.0.0.1:5432, dropped afterwards).

The PostgreSQL helpers are tests/collection/conftest.py's (loaded from there, not copied):
unreachable → the postgresql cases are skipped, unless ``KOKUHO_REQUIRE_POSTGRES=1`` (CI), then
they fail.
"""

from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "_collection_conftest", Path(__file__).resolve().parents[1] / "collection" / "conftest.py")
collection_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(collection_conftest)

DIALECTS = ("duckdb", "postgresql")


@pytest.fixture(params=DIALECTS)
def new_ledger_url(request, tmp_path) -> Iterator[Callable[[], str]]:
    """A factory of empty databases of this test's dialect (each call: a new one)."""
    schemas: list[str] = []
    counter = iter(range(1_000))

    if request.param == "postgresql":
        collection_conftest.require_postgres()

    def make() -> str:
        if request.param == "duckdb":
            return f"duckdb:///{tmp_path / f'ledger_{next(counter)}.duckdb'}"
        schema = f"kb_{secrets.token_hex(6)}"
        with collection_conftest._pg_connect() as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        schemas.append(schema)
        return f"{collection_conftest.PG_SERVER}?options=-csearch_path%3D{schema}"

    try:
        yield make
    finally:
        if schemas:
            with collection_conftest._pg_connect() as conn:
                for schema in schemas:
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
