"""Shared wiring of the kokuho DAG files (tags, defaults, the job-step task).

This folder sits in the DAG bundle (``dags/``), which Airflow puts on ``sys.path`` when it parses
a DAG file or runs a task, so DAG files import it as ``_kokuho``. ``dags/.airflowignore`` keeps
the DAG processor from parsing it as DAG files. No business logic here: jobs live in ``jobs/``.
"""
