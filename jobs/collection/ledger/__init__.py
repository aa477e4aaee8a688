"""The 収納 ledger (SQLAlchemy 2): DuckDB file by default, PostgreSQL in production."""

from .db import Ledger, LedgerError, ledger_url

__all__ = ["Ledger", "LedgerError", "ledger_url"]
