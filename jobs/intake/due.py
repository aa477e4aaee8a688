"""取込ファイルの到着予定: what an intake step does when its inbox is empty (issue 12).

KB100 runs every business day, but most of its files do not come every day. A step listed in
``intake_due.files`` (config/common/intake_due.yaml) that finds no input file asks:

- when was its file last due (the last run day of its rules on or before the business date, or
  the business date itself for ``every_business_day``), and when was one last taken (the newest
  generation of its main dataset, any fiscal year, of this municipality)?
- taken on or after the last due day, or nothing due yet (never taken and last due in an
  earlier fiscal year counts as nothing due: a new installation): **not due**: the step is skipped with
  the reason and the next due day (KKB109I, ``StepSkip``: nothing written, a skipped task);
- otherwise the file is **missing** since the first due day after the last one taken: RC 4
  (KKB110W, nothing written) on that day and for ``grace_business_days`` business days after
  it, then RC 8 (KKB110E).

A step not listed keeps the plain rule (no file: KKB103E). A file present is always taken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from jobs.common import config as config_mod
from jobs.common import datasets, paths, runcalendar
from jobs.common.step import StepContext, StepEnd, StepError, StepSkip


@dataclass(frozen=True)
class Due:
    """The arrival plan of one intake step's file (one entry of ``intake_due.files``)."""

    job_id: str
    label: str
    every_business_day: bool
    rules: tuple[runcalendar.MonthlyRule, ...]
    grace: int

    def last_due(self, d: dt.date, cal) -> dt.date | None:
        """The last due day on or before ``d``."""
        if self.every_business_day:
            return d if cal.is_business_day(d) else cal.previous_business_day(d)
        days = [x for x in (r.previous_run_day(d, cal) for r in self.rules) if x is not None]
        return max(days, default=None)

    def next_due(self, d: dt.date, cal) -> dt.date | None:
        """The first due day strictly after ``d``."""
        if self.every_business_day:
            return cal.next_business_day(d)
        days = [x for x in (r.next_run_day(d, cal) for r in self.rules) if x is not None]
        return min(days, default=None)

    def describe(self) -> str:
        if self.every_business_day:
            return "毎開庁日"
        return " / ".join(f"{r.label} {r.describe()}" for r in self.rules)


def due_of(job_id: str, cfg: config_mod.Config) -> Due | None:
    """The arrival plan of ``job_id`` from config, or None when the step has none (checked: a
    ConfigError names the key)."""
    files = cfg.get("intake_due.files", None)
    if not isinstance(files, Mapping) or job_id not in files:
        return None
    entry = files[job_id]
    key = f"intake_due.files.{job_id}"
    if not isinstance(entry, Mapping):
        raise config_mod.ConfigError(f"{key} は label / every_business_day / rules の項目です: {entry!r}")
    every = bool(entry.get("every_business_day", False))
    names = entry.get("rules") or []
    if every == bool(names):
        raise config_mod.ConfigError(f"{key}: every_business_day: true か rules のどちらか一方を指定してください")
    rules = tuple(runcalendar.monthly_rule(str(n), cfg) for n in names)
    grace = int(cfg.get("intake_due.grace_business_days"))
    if grace < 0:
        raise config_mod.ConfigError(f"intake_due.grace_business_days は 0 以上です: {grace}")
    return Due(job_id, str(entry.get("label") or job_id), every, rules, grace)


def last_taken(dataset: str, municipality: str, upto: dt.date) -> dt.date | None:
    """The business date of the newest generation of ``dataset`` on or before ``upto`` (any
    fiscal year), or None."""
    dates = [datasets.parse_generation(g)[2] for g in datasets.generations(dataset, municipality=municipality)]
    dates = [d for d in dates if d <= upto]
    return max(dates, default=None)


def no_input(ctx: StepContext, dataset: str) -> None:
    """Called by an intake step that found no input file and has no generation to re-read.
    Returns only when the step has no arrival plan (the caller then reports KKB103E); otherwise
    raises StepSkip (not due), StepEnd after KKB110W (due, within the grace) or StepError
    KKB110E (due, past the grace)."""
    due = due_of(ctx.job_id, ctx.config)
    if due is None:
        return
    cal, today = ctx.calendar, ctx.business_date
    inbox, pattern = paths.relative(paths.inbox(ctx.spec.inbox, ctx.municipality)), ctx.spec.pattern
    last = due.last_due(today, cal)
    taken = last_taken(dataset, ctx.municipality, today)
    nxt = due.next_due(today, cal)
    if taken is None and last is not None and last < cal.fiscal_year_first_day(cal.fiscal_year(today)):
        last = None  # never taken, last due in an earlier fiscal year: a new installation
    if last is None or (taken is not None and taken >= last):
        received = f"、前回の取込 {taken.isoformat()}" if taken is not None else ""
        raise StepSkip.of("KKB109I", inbox=inbox, pattern=pattern, file_label=due.label, due_text=due.describe(),
                          received_text=received, next_due=nxt.isoformat() if nxt else "なし")
    missed = last if taken is None else (due.next_due(taken, cal) or last)
    late = max(cal.business_days_between(missed, today), 0)
    if late > due.grace:
        raise StepError.of("KKB110E", inbox=inbox, pattern=pattern, file_label=due.label, due=missed.isoformat(),
                           late=late, grace=due.grace)
    ctx.message("KKB110W", inbox=inbox, pattern=pattern, file_label=due.label, due=missed.isoformat(),
                late=late, grace=due.grace)
    raise StepEnd()
