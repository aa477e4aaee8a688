"""Defaults every kokuho DAG shares: owner, retries, timezone, start date, business-day cron."""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

TIMEZONE = "Asia/Tokyo"

#: Shown in the UI's Owner column; the NHI tax section's batch operators.
OWNER = "kokuho-ops"

#: Scheduled DAGs start counting from here. catchup is off, so this date never back-fills.
START_DATE = pendulum.datetime(2026, 4, 1, tz=TIMEZONE)

#: Weekday mornings, Asia/Tokyo. Holidays and 年末年始 are skipped by the business-calendar
#: check task (jobs.common.bizcal), not by the cron: the calendar is data in config/.
BUSINESS_MORNING_CRON = "30 6 * * 1-5"

#: The assessment job nets (KB300 当初賦課, KB310 異動賦課): weekday mornings an hour after the
#: intake (KB100), whose datasets they read. Their -CAL task goes on only on a run day of the
#: configured 業務日程 (jobs.common.runcalendar; config/, not the cron).
ASSESSMENT_MORNING_CRON = "30 7 * * 1-5"

#: KB400 収納消込: weekday mornings after KB100 (06:30) and after the assessment job nets (07:30),
#: so a 調定 file written that morning is registered (SN100) the same day. Its -CAL task is the
#: business-day check; the channels' files are then awaited up to PAYMENT_FILE_WAIT.
COLLECTION_MORNING_CRON = "30 8 * * 1-5"

#: KB410 口座振替請求: weekday mornings after KB400 has registered the day's 調定 (SN100), so the
#: request files hold every installment of the 振替日. SN120 decides which 振替日 are due today.
DIRECT_DEBIT_MORNING_CRON = "0 9 * * 1-5"

#: Every task that writes the 収納台帳 runs in this Airflow pool. The default ledger is one DuckDB
#: file, which one process at a time may open for writing, so the pool has 1 slot (``make
#: airflow-init`` creates it); with KOKUHO_LEDGER_URL on PostgreSQL it may be raised. The
#: scheduler never starts a task of a pool that does not exist: create it on every deployment.
LEDGER_POOL = "kokuho_ledger"
LEDGER_POOL_SLOTS = 1
LEDGER_POOL_DESCRIPTION = "収納台帳 (DuckDB: 書き込みは1プロセスずつ)"


def file_wait(env_name: str, default: timedelta) -> timedelta:
    """How long a file-arrival sensor waits: ``default``, or the minutes in the environment
    variable ``env_name`` of the DAG processor (read when the DAG file is parsed; no Variable,
    so parsing never queries the metadata DB)."""
    value = os.environ.get(env_name, "").strip()
    return timedelta(minutes=float(value)) if value else default


#: KB400: how long it waits for the day's counter / CVS file before that channel is skipped.
PAYMENT_FILE_WAIT_ENV = "KOKUHO_PAYMENT_FILE_WAIT_MINUTES"
PAYMENT_FILE_WAIT = timedelta(hours=3)

#: KB410: how long it waits for a 口座振替依頼書 file before SN010 is skipped (most days have none).
MANDATE_FILE_WAIT_ENV = "KOKUHO_MANDATE_FILE_WAIT_MINUTES"
MANDATE_FILE_WAIT = timedelta(minutes=15)

#: Retries are for infrastructure faults (a killed worker, a full disk). A job that ends with
#: RC >= 8 raises AirflowFailException, which fails at once without retrying: bad data does not
#: get better by reading it again.
DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=4),
}


def jobnet_args(schedule) -> dict:
    """The DAG arguments every kokuho job net shares: its schedule, the start date, no catchup,
    one run at a time, the default task arguments and the run parameters (業務日・年度・団体)."""
    from _kokuho.params import run_params

    return {"schedule": schedule, "start_date": START_DATE, "catchup": False, "max_active_runs": 1,
            "default_args": DEFAULT_ARGS, "params": run_params()}
