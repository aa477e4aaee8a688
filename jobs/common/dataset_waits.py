"""The conditions of the waits for another job net's output (``DatasetWait``, issue 12).

Airflow 3 has no time schedule gated on assets, so a job net that reads another's output keeps its
time and, before the step that reads it, waits (a sensor in reschedule mode) until a generation
of the dataset that meets the step's condition is there. A condition is called with the dataset
and the run's parameters and returns the generation it found, or None (not yet):

- ``resident_tax_initial`` (KB300 FK110): a ``resident_tax_income`` generation of the run's fiscal
  year written on or after that year's 住民税 当初 file due day (run_calendar
  ``resident_tax_initial_file``) and on or before the business date;
- ``same_business_date`` (KB410 SN120, KB600 TN010): a generation with the run's business date (KB400
  SN100's ``levy_registration``, SN400's ``daily_collection`` of the day);
- ``resident_tax_change`` (KB310 FK210): on a 住民税 異動 due day (run_calendar
  ``resident_tax_change_file``), the ``resident_tax_income`` generation of the day (KB100 FK010); on
  other days nothing to wait for;
- ``assessment_levy_files`` (KB400 SN100): on a run day of KB300 (当初賦課), KB310 (異動賦課) or KB520
  (年金特徴結果反映), that net's 調定 file of the day in the ledger outbox (FK140 ``levy_initial_<gen>``,
  FK220 ``levy_correction_<gen>``; KB520: TK325's ``pension_change_results`` of the day, and TK340's
  ``levy_correction_<gen>`` when TK330 corrected that day); on other days nothing to wait for.

A condition returns ``Nothing(reason)`` (a str) when the day has nothing to wait for: the wait ends
at once and logs the reason (KKB180I).

The generation name says its fiscal year and business date (``datasets.generation_name``), so
the conditions read folder names only, never a Parquet file.
"""

from __future__ import annotations

import datetime as dt

from jobs.common import bizcal, datasets, paths, runcalendar
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


class Nothing(str):
    """A condition's answer "nothing to wait for today", with the reason (KKB180I)."""


#: the run_calendar rule of the 住民税 異動 files' due days (the 1st and the 16th)
RESIDENT_TAX_CHANGE_RULE = "resident_tax_change_file"


def resident_tax_change(dataset: str, *, business_date: dt.date, fy: int, municipality: str,
                        cfg: config_mod.Config | None = None) -> str | None:
    """On a 住民税 異動 due day: the generation of ``dataset`` with the business date, or None; on
    another day ``Nothing``."""
    cfg = cfg or config_mod.load(municipality, fy)
    cal = bizcal.BusinessCalendar.from_config(cfg)
    rule = runcalendar.monthly_rule(RESIDENT_TAX_CHANGE_RULE, cfg)
    if not rule.is_run_day(business_date, cal):
        return Nothing(f"{business_date.isoformat()} は{rule.label}日ではありません ({rule.describe()})")
    return same_business_date(dataset, business_date=business_date, fy=fy, municipality=municipality, cfg=cfg)


#: the job nets that write a 調定 file in the morning before KB400, by their run-day rule
LEVY_NETS: tuple[tuple[str, str], ...] = (("initial_assessment", "KB300"), ("reassessment", "KB310"),
                                          ("pension_apply", "KB520"))


def levy_files_due(business_date: dt.date, fy: int, municipality: str,
                   cfg: config_mod.Config | None = None) -> dict[str, list[str]]:
    """The job nets (KB300, KB310, KB520) that run on ``business_date``, each with what it has not
    written yet (empty: done)."""
    cfg = cfg or config_mod.load(municipality, fy)
    gen = datasets.generation_name(municipality, int(fy), business_date)
    folder = paths.outbox(str(cfg.get("collection.levy_outbox")))
    initial, correction = folder / f"levy_initial_{gen}.dat", folder / f"levy_correction_{gen}.dat"
    due: dict[str, list[str]] = {}
    for rule, net in LEVY_NETS:
        if not runcalendar.decide(rule, business_date, cfg).run:
            continue
        if net == "KB300":
            due[net] = [] if initial.is_file() else [f"FK140 {initial.name}"]
        elif net == "KB310":
            due[net] = [] if correction.is_file() else [f"FK220 {correction.name}"]
        else:
            missing = [] if gen in datasets.generations("pension_change_results") else [
                f"TK325 pension_change_results {gen}"]
            if (gen in datasets.generations("corrections")
                    and datasets.read_totals("corrections", gen).get("job_id") == "TK330"
                    and not correction.is_file()):
                missing.append(f"TK340 {correction.name}")
            due[net] = missing
    return due


def assessment_levy_files(dataset: str, *, business_date: dt.date, fy: int, municipality: str,
                          cfg: config_mod.Config | None = None) -> str | None:
    """On a run day of KB300/KB310/KB520: the 調定 file(s) of the day once every one of them has
    written its own (None before); on another day ``Nothing``."""
    due = levy_files_due(business_date, fy, municipality, cfg)
    if not due:
        return Nothing(f"{business_date.isoformat()} は当初賦課・異動賦課・年金特徴結果反映の実行日ではありません")
    if any(due.values()):
        return None
    return "・".join(sorted(due)) + " 終了"


def describe(condition: str) -> str:
    """What a condition waits for, for the operator (the sensor's log and KKB177E)."""
    name = condition.rpartition(":")[2]
    return {"resident_tax_initial": "年度の住民税当初ファイル到着予定日以降の世代",
            "same_business_date": "同じ業務日の世代",
            "resident_tax_change": "住民税異動ファイル到着予定日の同じ業務日の世代",
            "assessment_levy_files": "同じ業務日の賦課ジョブネット (KB300/KB310/KB520) の調定ファイル"}.get(name, name)
