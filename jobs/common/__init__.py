"""Shared runtime of the job steps.

- ``paths``: where things live (project root, ``var/`` folders)
- ``config``: per-municipality, per-fiscal-year settings (``config/``)
- ``bizcal``: business-day calendar (土日・祝日・年末年始)
- ``step``: the step contract (RC, control totals, job log, commit)
- ``datasets``: Parquet dataset generations (a GDG), written atomically
- ``errorlist``: operator error lists (CSV, UTF-8 with BOM)
- ``gs1``: GS1-128 コンビニ収納 barcode
- ``airflow_task``: the one wrapper the DAGs call
- ``fixedwidth``: the fixed-width codec (layouts/)

Import submodules explicitly; this package imports nothing at import time.
"""
