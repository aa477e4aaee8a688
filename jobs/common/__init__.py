"""Shared runtime of the job steps.

- ``paths``: where things live (project root, ``var/`` folders)
- ``config``: per-municipality, per-fiscal-year settings (``config/``)
- ``bizcal``: business-day calendar (土日・祝日・年末年始)
- ``step``: the step contract (RC, control totals, job log, commit)
- ``datasets``: Parquet dataset generations (a GDG), written atomically
- ``errorlist``: operator error lists (CSV, UTF-8 with BOM)
- ``gs1``: GS1-128 コンビニ収納 barcode
- ``jobspec``: the JobSpec / JobNet dataclasses (``jobs.registry`` states every step and job net)
- ``tz``: the one time zone (Asia/Tokyo)
- ``matching_keys``: 通知書番号, the GS1-128 自由使用欄, the 口座振替 顧客番号
- ``fixedwidth``: the fixed-width codec (layouts/)

Import submodules explicitly; this package imports nothing at import time, and nothing in it
imports from above it (``jobs.ledger``, the business areas, ``jobs.registry``; tests/test_layers.py).
"""
