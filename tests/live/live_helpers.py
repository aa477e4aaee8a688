"""The REST API of the live Airflow, used as the UI uses it (jobs/airflow_live.py, shared with
``make demo-year``)."""

from __future__ import annotations

from jobs.airflow_live import FINISHED, AirflowApi

__all__ = ["FINISHED", "AirflowApi"]
