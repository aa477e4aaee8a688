"""Task factories: each Airflow task runs one job step through ``jobs.common.airflow_task``.

Nothing here is imported from ``jobs`` at parse time: the DAG processor only builds the graph;
the job code (Polars, DuckDB ...) is imported when a task runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator, ShortCircuitOperator
from airflow.providers.standard.sensors.filesystem import FileSensor

#: The fs connection whose ``path`` is the inbox root (var/inbox/); the Makefile and the tests set
#: it as AIRFLOW_CONN_KOKUHO_INBOX, production points it at the real drop folder.
INBOX_CONN_ID = "kokuho_inbox"


def run_job_step(job_id: str, **context: Any) -> dict[str, Any]:
    """Run job step ``job_id`` for this DAG run; return its control totals (the XCom).

    RC 0 and 4 return normally (the task succeeds; RC 4 is flagged in the log and the XCom),
    RC >= 8 raises AirflowFailException (the task fails at once, no retry).
    """
    from jobs.common.airflow_task import execute_job

    return execute_job(job_id, **context)


def job_task(job_id: str, name_ja: str, **kwargs: Any) -> PythonOperator:
    """The task of one job step: task_id ``fk020``, display name ``FK020 国保資格取込``."""
    return PythonOperator(
        task_id=job_id.lower(),
        task_display_name=f"{job_id} {name_ja}",
        python_callable=run_job_step,
        op_args=[job_id],
        **kwargs,
    )


def ledger_task(job_id: str, name_ja: str, **kwargs: Any) -> PythonOperator:
    """A job step that writes the 収納台帳: a job_task in the ledger pool (one writer at a time
    on the default DuckDB ledger, across all job nets; _kokuho.defaults.LEDGER_POOL)."""
    from _kokuho.defaults import LEDGER_POOL

    return job_task(job_id, name_ja, pool=LEDGER_POOL, **kwargs)


def file_wait(task_id: str, name_ja: str, filepath: str, *, timeout: timedelta, soft_fail: bool,
              poke_interval: int = 60) -> FileSensor:
    """A deferrable FileSensor on ``filepath`` under the ``kokuho_inbox`` connection's path.

    It holds no worker slot while it waits (the triggerer polls). After ``timeout`` it fails
    (``soft_fail=False``: a missing file is an error to look at) or is skipped with the steps of
    that file (``soft_fail=True``: a day without a file is normal). The file is not consumed
    here: the intake step after it archives it under its SHA-256 when it commits.
    """
    return FileSensor(
        task_id=task_id,
        task_display_name=name_ja,
        fs_conn_id=INBOX_CONN_ID,
        filepath=filepath,
        deferrable=True,
        poke_interval=poke_interval,
        timeout=timeout.total_seconds(),
        soft_fail=soft_fail,
        execution_timeout=timeout + timedelta(hours=1),  # the default 4 h must not cut the wait short
        retries=0,
    )


def is_business_day(**context: Any) -> bool:
    """Scheduled runs go on only on a business day (開庁日) of the municipality's calendar.

    Manual runs always go on: the operator chose the date. Returning False skips every
    downstream task and the run ends as success (nothing to do today).
    """
    from jobs.common import bizcal
    from jobs.common.airflow_task import resolve_business_date

    if context["dag_run"].run_type != "scheduled":
        return True
    business_date = resolve_business_date(context)
    return bizcal.calendar(context["params"].get("municipality")).is_business_day(business_date)


def business_day_check(jobnet_id: str) -> ShortCircuitOperator:
    """The first task of a scheduled job net: ``KB100-CAL 開庁日判定``."""
    return ShortCircuitOperator(
        task_id="check_business_day",
        task_display_name=f"{jobnet_id}-CAL 開庁日判定",
        python_callable=is_business_day,
        ignore_downstream_trigger_rules=True,
    )


def is_run_day(rule: str, **context: Any) -> bool:
    """Scheduled runs go on only on the job net's run days (jobs.common.runcalendar: 当初賦課 on the
    fiscal year's configured date, 異動賦課 on the configured days of the month, each moved to the
    next business day). Manual runs always go on. False skips every downstream task."""
    import logging

    from jobs.common import runcalendar
    from jobs.common.airflow_task import run_parameters

    log = logging.getLogger("kokuho.runcalendar")
    if context["dag_run"].run_type != "scheduled":
        log.info("手動実行のため業務日程によらず実行します")
        return True
    run = run_parameters(context)
    decision = runcalendar.scheduled_run_day(rule, run["business_date"], municipality=run["municipality"],
                                             fy=run["fy"])
    log.log(logging.WARNING if decision.warning else logging.INFO, "%s", decision.reason)
    return decision.run


def run_day_check(jobnet_id: str, name_ja: str, rule: str) -> ShortCircuitOperator:
    """The first task of a job net that runs on configured days only: ``KB300-CAL 当初賦課日判定``."""
    return ShortCircuitOperator(
        task_id="check_run_day",
        task_display_name=f"{jobnet_id}-CAL {name_ja}",
        python_callable=is_run_day,
        op_kwargs={"rule": rule},
        ignore_downstream_trigger_rules=True,
    )
