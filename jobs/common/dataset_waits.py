"""The conditions of the waits for another job net's output (``DatasetWait``, issue 12).

Airflow 3 has no time schedule gated on assets, so a job net that reads another's output keeps its
time and, before the step that reads it, waits (a sensor in reschedule mode) until a generation
of the dataset that meets the step's condition is there. A condition is called with the dataset
and the run's parameters and returns the generation it found, or None (not yet):

- ``resident_tax_initial`` (KB300 FK110): a ``resident_tax_income`` generation of the run's fiscal
  year written on or after that year's 住民税 当初 file due day (run_calendar
  ``resident_tax_initial_file``) and on or before the business date;
- ``same_business_date`` (KB410 SN120): a generation with the run's business date (KB400 SN100's
  ``levy_registration`` of the day).

The generation name says its fiscal year and business date (``datasets.generation_name``), so
the conditions read folder names only, never a Parquet file.
"""

from __future__ import annotations

import datetime as dt

from jobs.common import bizcal, datasets, runcalendar
from jobs.common import config as config_mod

#: the run_calendar rule of the 住民税 当初 file's due day
RESIDENT_TAX_INITIAL_RULE = "resident_tax_initial_file"


def initial_file_due(fy: int, cfg: config_mod.Config) -> dt.date | None:
    """The 住民税 当初 file's due day of fiscal year ``fy``: the first day of the rule
    ``resident_tax_initial_file`` in the fiscal year (05-31, rolled)."""
    cal = bizcal.BusinessCalendar.from_config(cfg)
    rule = runcalendar.monthly_rule(RESIDENT_TAX_INITIAL_RULE, cfg)
    first = cal.fiscal_year_first_day(fy)
    due = rule.next_run_day(first - dt.timedelta(days=1), cal)
    return due if due is not None and due <= cal.fiscal_year_last_day(fy) else None


def resident_tax_initial(dataset: str, *, business_date: dt.date, fy: int, municipality: str,
                         cfg: config_mod.Config | None = None) -> str | None:
    """The newest generation of ``dataset`` of fiscal year ``fy`` dated from its 当初 file due day
    up to ``business_date``, or None."""
    cfg = cfg or config_mod.load(municipality, fy)
    due = initial_file_due(int(fy), cfg)
    if due is None:
        return None
    found = [g for g in datasets.generations(dataset, municipality=municipality)
             if (lambda p: p[1] == int(fy) and due <= p[2] <= business_date)(datasets.parse_generation(g))]
    return found[-1] if found else None


def same_business_date(dataset: str, *, business_date: dt.date, fy: int, municipality: str,
                       cfg: config_mod.Config | None = None) -> str | None:
    """The generation of ``dataset`` with the run's business date (any fiscal year), or None."""
    found = [g for g in datasets.generations(dataset, municipality=municipality)
             if datasets.parse_generation(g)[2] == business_date]
    return found[-1] if found else None


def describe(condition: str) -> str:
    """What a condition waits for, for the operator (the sensor's log and KKB177E)."""
    name = condition.rpartition(":")[2]
    return {"resident_tax_initial": "年度の住民税当初ファイル到着予定日以降の世代",
            "same_business_date": "同じ業務日の世代"}.get(name, name)
