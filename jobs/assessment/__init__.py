"""賦課 (assessment): the NHI tax engine and the jobs around it.

The contract between the modules (member-year frame, assessment frame, installments) is
jobs/assessment/README.md. Tax engine: ``rates`` (TaxRates from config/), ``members`` (the
member-year frame from the intake datasets), ``engine`` (vectorized ``assess``), ``reference``
(per-household reference of the same rules), ``shisan`` (`kokuho shisan`).
"""
