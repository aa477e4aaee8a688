"""airflow.cfg settings that the real scheduler path needs (tests/conftest.py applies the file)."""

from __future__ import annotations


def test_the_task_supervisor_waits_for_a_busy_execution_api():
    """Regression (tests/live/test_live_week.py, issue 12): with Airflow's default 5 s a task's start
    call to the execution API timed out on a loaded 2-core machine and the task waited 5 minutes for its
    retry. The timeout is the project's (airflow.cfg [workers]), read as the task supervisor reads it."""
    from airflow.configuration import conf

    assert conf.getfloat("workers", "execution_api_timeout") >= 30
    assert conf.get("workers", "execution_api_timeout", fallback=None) is not None
