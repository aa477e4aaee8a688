"""The ledger's one error type."""

from __future__ import annotations


class LedgerError(RuntimeError):
    """The ledger cannot be used (URL, schema version, lock). The message is for operators."""
