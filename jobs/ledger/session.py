"""The ledger of a job step: opened (and migrated) from the step's config, with the run's audit
identity."""

from __future__ import annotations

from jobs.common.step import StepContext, StepError

from .audit import Run, current_operator
from .db import Ledger
from .errors import LedgerError


def open_ledger(ctx: StepContext) -> Ledger:
    """The step's ledger; a ledger that cannot be opened ends the step (KKB400S, severe)."""
    try:
        ledger = Ledger.open(cfg=ctx.config)
    except LedgerError as exc:
        raise StepError.of("KKB400S", error=exc) from exc
    ctx.message("KKB401I", url=ledger.url, schema_version=ledger.schema_version())
    return ledger


def run_of(ctx: StepContext) -> Run:
    """The step's run; 操作者ID and the run id (処理事由) come from the run's ``operator_scope``
    (jobs.runner.run_job: the Airflow user, ``scheduler``, or the CLI login)."""
    op = current_operator()
    return Run(ctx.municipality, ctx.business_date, ctx.job_id, ctx.generation, op.operator_id, op.run_id)
