"""Defaults every kokuho DAG shares: owner, retries, timezone, start date, business-day cron."""

from __future__ import annotations

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
