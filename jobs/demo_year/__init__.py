"""``make demo-year``: a whole fiscal year of a synthetic city through a REAL Airflow (issue 12).

- ``plan``: the pure year plan (business day → ordered job nets + counterparty events), from the
  city's calendar (``jobs.common.runcalendar``, the 納期限 of ``jobs.assessment.installments``);
- ``driver``: starts a real Airflow (``jobs.airflow_live``), walks the plan through its REST API with
  the counterparty simulators between runs, and writes the year report (``python -m jobs.demo_year``).
"""
