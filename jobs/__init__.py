"""kokuho-batch: the batch job steps of a city's National Health Insurance tax office.

One module per job step, grouped by business area (``jobs/intake``, ...), plus the shared
runtime in ``jobs/common`` (step runtime, dataset store, fixed-width codec, calendar, config).
Every step runs without Airflow: ``kokuho run <job-id> ...`` or ``jobs.runner.run_job``.
"""
