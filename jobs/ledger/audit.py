"""Who wrote a ledger row and when: the run a step belongs to, and the audit columns of its rows.

The operator (操作者ID) is the person or service that started the run — the Airflow user who
triggered or cleared the DAG run, ``scheduler`` for a scheduled run, the login (``$USER``) at
``kokuho run`` — and the 処理事由 (``operation_reason``) names the run: ``<job id> <run id>``.
Both are set once per run by ``operator_scope`` (jobs.runner.run_job, from jobs.airflow_task or
jobs.cli) and read by ``Run`` / ``audit_columns``, so a step never passes them along itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from jobs.common.operator import (
    SCHEDULER,
    Operator,
    clean_operator,
    cli_operator,
    current_operator,
    operator_scope,
)

__all__ = ["SCHEDULER", "Operator", "Run", "audit_columns", "clean_operator", "cli_operator", "current_operator",
           "now_stamp", "operator_scope", "reason_text"]

REASON_WIDTH = 100  # operation_reason VARCHAR(100) (migration 002)


def reason_text(job_id: str, run_id: str) -> str:
    """処理事由 of a row: the job id and the run that wrote it (at most 100 characters)."""
    return f"{job_id} {run_id}".strip()[:REASON_WIDTH]


@dataclass(frozen=True)
class Run:
    """The run a posting belongs to: 市区町村コード, 業務日, job id, generation, and who started it
    (operator_id = 操作者ID, run_id → 処理事由); the last two default to ``current_operator()``."""

    municipality: str
    business_date: dt.date
    job_id: str
    generation: str
    operator_id: str = field(default_factory=lambda: current_operator().operator_id)
    run_id: str = field(default_factory=lambda: current_operator().run_id)

    @property
    def reason(self) -> str:
        return reason_text(self.job_id, self.run_id)


def now_stamp() -> tuple[dt.date, str]:
    """操作年月日 and 操作時刻 (HHMMSS) of a posting: wall-clock time (the ledger's audit trail;
    never written to an output file, which stay byte-identical on a rerun)."""
    now = dt.datetime.now()
    return now.date(), now.strftime("%H%M%S")


def audit_columns(who: str | Run, stamp: tuple[dt.date, str] | None = None) -> list[pl.Expr]:
    """削除フラグ, 操作者ID, 操作年月日, 操作時刻, 処理事由 of rows a batch step writes.

    ``who`` is the step's ``Run`` (or, as before, its job id: the operator then comes from
    ``current_operator()``)."""
    if isinstance(who, Run):
        operator_id, reason = who.operator_id, who.reason
    else:
        op = current_operator()
        operator_id, reason = op.operator_id, reason_text(str(who), op.run_id)
    op_date, op_time = stamp or now_stamp()
    return [pl.lit(False).alias("deleted"), pl.lit(operator_id).alias("operator_id"),
            pl.lit(op_date).alias("operated_date"), pl.lit(op_time).alias("operated_time"),
            pl.lit(reason, dtype=pl.String).alias("operation_reason")]
