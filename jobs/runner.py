"""Run a job step by its id: the registry lookup over the step runtime (``jobs.common.step``).

``kokuho run <job-id>`` (jobs.cli) and the Airflow tasks (jobs.airflow_task) run steps through
``run_job``; ``jobs.common.step.run_step`` runs a ``JobSpec`` and knows no registry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobs import registry

if TYPE_CHECKING:
    from jobs.common.step import StepResult


def run_job(job_id: str, *, fy: int | None = None, business_date: dt.date | str,
            municipality: str | None = None, echo: Callable[[str], None] | None = None,
            **options: Any) -> StepResult:
    """Run the registered step ``job_id``. ``fy`` defaults to the fiscal year of the date.
    An unknown id raises KeyError (with the nearest ids)."""
    from jobs.common.step import run_step

    return run_step(registry.get(job_id), fy=fy, business_date=business_date,
                    municipality=municipality, echo=echo, **options)
