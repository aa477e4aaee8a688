"""A pytest plugin (``-p stage_recorder``, tests/ledger on the path) for
test_sql_stages.py: while the 収納 tests run, it records which named statements run and, for each
staged table a statement declares (``-- stage:``), the columns and types the job actually staged.
Written as JSON to ``$KOKUHO_STAGE_RECORD`` at the end of the run."""

from __future__ import annotations

import json
import os

import polars as pl

_TYPES = {pl.String: "VARCHAR", pl.Int32: "INTEGER", pl.Int64: "BIGINT", pl.Date: "DATE", pl.Boolean: "BOOLEAN"}
_seen: dict[str, dict[str, list[str]]] = {}  # statement → table → sorted distinct column lists
_run: set[str] = set()


def _type(dtype) -> str:
    for k, v in _TYPES.items():
        if dtype == k:
            return v
    return str(dtype)


def pytest_configure(config):
    from jobs.ledger import db, sql

    orig_stage, orig_statement, orig_ledger_statement = db.Tx.stage, db.Tx.statement, db.Ledger.statement

    def stage(self, name, frame, order=None):
        self.__dict__.setdefault("_staged", {})[name] = ", ".join(f"{c} {_type(t)}" for c, t in frame.schema.items())
        return orig_stage(self, name, frame, order)

    def statement(self, name, **variables):
        _run.add(name)
        staged = self.__dict__.get("_staged", {})
        for table in sql.stages(name):
            cols = staged.get(table, "<not staged>")
            got = _seen.setdefault(name, {}).setdefault(table, [])
            if cols not in got:
                got.append(cols)
        return orig_statement(self, name, **variables)

    def ledger_statement(self, name, **variables):  # outside a transaction: nothing staged
        _run.add(name)
        return orig_ledger_statement(self, name, **variables)

    db.Tx.stage, db.Tx.statement, db.Ledger.statement = stage, statement, ledger_statement


def pytest_unconfigure(config):
    out = os.environ.get("KOKUHO_STAGE_RECORD")
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump({"run": sorted(_run), "staged": _seen}, fh, ensure_ascii=False, indent=1)
