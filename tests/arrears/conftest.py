"""滞納 tests: the 収納 tests' ledger fixtures (DuckDB and PostgreSQL) and helpers, loaded from
tests/collection (not copied)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_COLLECTION = Path(__file__).resolve().parents[1] / "collection"
sys.path.insert(0, str(_COLLECTION))  # collection_helpers
_spec = importlib.util.spec_from_file_location("_collection_conftest_arrears", _COLLECTION / "conftest.py")
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)

isolated_var = _mod.isolated_var
ledger_url = _mod.ledger_url
_duckdb_template = _mod._duckdb_template
duckdb_url = _mod.duckdb_url
pytest_configure = _mod.pytest_configure
