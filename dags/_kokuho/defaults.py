"""Defaults every kokuho DAG shares: owner, retries, timezone, start date, the file-wait timeout.

The job nets themselves (schedules, steps, pools, file waits) are stated in jobs.registry.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

from jobs.common.jobspec import LEDGER_POOL, LEDGER_POOL_DESCRIPTION, LEDGER_POOL_SLOTS
from jobs.common.tz import TIMEZONE

__all__ = ["DEFAULT_ARGS", "LEDGER_POOL", "LEDGER_POOL_DESCRIPTION", "LEDGER_POOL_SLOTS", "OWNER", "START_DATE",
           "TIMEZONE", "dataset_wait_poke", "file_wait_timeout", "jobnet_args"]

#: Shown in the UI's Owner column; the NHI tax section's batch operators.
OWNER = "kokuho-ops"

#: Scheduled DAGs start counting from here. catchup is off, so this date never back-fills.
START_DATE = pendulum.datetime(2026, 4, 1, tz=TIMEZONE)


def file_wait_timeout(env_name: str | None, default: timedelta) -> timedelta:
    """How long a file-arrival sensor waits: ``default``, or the minutes in the environment
    variable ``env_name`` of the DAG processor (read when the DAG file is parsed; no Variable,
    so parsing never queries the metadata DB)."""
    value = os.environ.get(env_name, "").strip() if env_name else ""
    return timedelta(minutes=float(value)) if value else default


#: The poke interval in seconds of the waits for another job net's output (DatasetWait), from the
#: environment of the DAG processor (tests set a second); default: the registry's.
DATASET_WAIT_POKE_ENV = "KOKUHO_DATASET_WAIT_POKE_SECONDS"


def dataset_wait_poke(default: int) -> int:
    value = os.environ.get(DATASET_WAIT_POKE_ENV, "").strip()
    return max(1, int(float(value))) if value else default


#: Retries are for infrastructure faults (a killed worker, a full disk). A job that ends with
#: RC >= 8 raises AirflowFailException, which fails at once without retrying: bad data does not
#: get better by reading it again.
DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=4),
}


#: How many runs of one job net may be active at once: 1 (one city), or, when one Airflow serves
#: several municipalities (one DAG run per 団体コード, ``make up-celery``), their number, from the
#: environment of the DAG processor (read when the DAG file is parsed).
MAX_ACTIVE_RUNS_ENV = "KOKUHO_MAX_ACTIVE_RUNS"


def max_active_runs() -> int:
    value = os.environ.get(MAX_ACTIVE_RUNS_ENV, "").strip()
    return max(1, int(value)) if value else 1


#: How long a run waits for the run lock of its job net and 団体コード (another run of them active)
#: before it fails (KKB182E): minutes in this environment variable of the DAG processor, default 6 h.
RUN_LOCK_WAIT_ENV = "KOKUHO_RUN_LOCK_WAIT_MINUTES"
RUN_LOCK_WAIT = timedelta(hours=6)
#: its poke interval in seconds (tests set a second)
RUN_LOCK_POKE_ENV = "KOKUHO_RUN_LOCK_POKE_SECONDS"


def run_lock_poke() -> int:
    value = os.environ.get(RUN_LOCK_POKE_ENV, "").strip()
    return max(1, int(float(value))) if value else 60


def jobnet_args(schedule, municipality: str | None = None) -> dict:
    """The DAG arguments every kokuho job net shares: its schedule, the start date, no catchup,
    one run at a time (``KOKUHO_MAX_ACTIVE_RUNS``: one per municipality), the default task arguments
    and the run parameters (業務日・年度・団体; ``municipality``: a per-city DAG's own, fixed)."""
    from _kokuho.params import run_params

    return {"schedule": schedule, "start_date": START_DATE, "catchup": False, "max_active_runs": max_active_runs(),
            "default_args": DEFAULT_ARGS, "params": run_params(municipality)}
