"""Who wrote a ledger row and when: the run a step belongs to, and the audit columns of its rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Run:
    """The run a posting belongs to: 市区町村コード, 業務日, job id (the 操作者ID), generation."""

    municipality: str
    business_date: dt.date
    job_id: str
    generation: str


def now_stamp() -> tuple[dt.date, str]:
    """操作年月日 and 操作時刻 (HHMMSS) of a posting: wall-clock time (the ledger's audit trail;
    never written to an output file, which stay byte-identical on a rerun)."""
    now = dt.datetime.now()
    return now.date(), now.strftime("%H%M%S")


def audit_columns(job_id: str, stamp: tuple[dt.date, str] | None = None) -> list[pl.Expr]:
    """削除フラグ, 操作者ID (the job id), 操作年月日, 操作時刻 of rows a batch step writes."""
    op_date, op_time = stamp or now_stamp()
    return [pl.lit(False).alias("deleted"), pl.lit(job_id).alias("operator_id"),
            pl.lit(op_date).alias("operated_date"), pl.lit(op_time).alias("operated_time")]
