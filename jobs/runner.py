"""Run a job step by its id: the registry lookup over the step runtime (``jobs.common.step``).

``kokuho run <job-id>`` (jobs.cli) and the Airflow tasks (jobs.airflow_task) run steps through
``run_job``; ``jobs.common.step.run_step`` runs a ``JobSpec`` and knows no registry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobs import registry

if TYPE_CHECKING:
    from jobs.common.step import StepResult


def run_job(job_id: str, *, fy: int | None = None, business_date: dt.date | str,
            municipality: str | None = None, echo: Callable[[str], None] | None = None,
            operator: str | None = None, run_id: str | None = None, **options: Any) -> StepResult:
    """Run the registered step ``job_id``. ``fy`` defaults to the fiscal year of the date.
    An unknown id raises KeyError (with the nearest ids).

    ``operator`` (操作者ID: the Airflow user, ``scheduler``, the CLI login when None) and
    ``run_id`` (処理事由) go into every ledger row the step writes (jobs.common.operator); whose
    records each committed ledger transaction of the step wrote goes to the access log
    (jobs.common.access_log), one line per transaction, written when it commits."""
    from jobs.common import access_log
    from jobs.common import operator as operator_module
    from jobs.common.step import run_step

    spec = registry.get(job_id)
    if operator is None and run_id is None and operator_module.in_scope():
        scope = contextlib.nullcontext()  # inside a scope already (a job net run by the CLI)
    else:
        scope = operator_module.operator_scope(operator, run_id or _cli_run_id())
    with scope, access_log.collect(job_id, {"business_date": str(business_date)}):
        return run_step(spec, fy=fy, business_date=business_date, municipality=municipality, echo=echo,
                        **options)


def _cli_run_id() -> str:
    """The run id of a run started outside Airflow: ``cli__<local time>``."""
    return f"cli__{dt.datetime.now():%Y-%m-%dT%H:%M:%S}"
