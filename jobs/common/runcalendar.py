"""Run days of the job nets (業務日程): every business day, or the days of a rule.

Airflow schedules each job net on these days only (``plugins/kokuho_timetable.py``, which asks
``next_run_days``), and the job net's first task (``KB300-CAL`` / ``KB310-CAL`` …) asks ``decide``
again whether the business date is a run day (a safety net: the config may have changed since
the run was planned). The days are data in config/, never in code:

- ``business_day`` (開庁日): the daily job nets (KB100, KB400, KB410, KB600, KB620).
- ``initial_assessment`` (KB300 当初賦課): one date per fiscal year, by rule
  ``initial_assessment.month_day`` (``config/common/run_calendar.yaml``) in the fiscal year, or
  ``initial_assessment.run_date`` in ``config/municipalities/<code>/fy<YYYY>/run_calendar.yaml``
  for one year. A date on a closed day runs on the next business day. A new fiscal year needs
  no file.
- ``reassessment`` (KB310 異動賦課): the days of the month in ``reassessment.run_days``
  (``config/common/run_calendar.yaml``, a municipality may override), each moved to the next
  business day when closed (a day past the month's end means its last day). With
  ``reassessment.after_initial_assessment`` the runs of a fiscal year start only after that
  year's 当初賦課 run date: before it there is no assessment of the year to change.
- the monthly rules of run_calendar.yaml (``MonthlyRule``: 督促, 催告, 月次締め, 年金 …).

Manual runs always go on (the operator chose the date): that rule is the DAG task's, not this
module's. Everything here is pure: a date, the config and the calendar in, a ``RunDay`` out.

    decide("initial_assessment", date(2026, 7, 1), config.load("111007", 2026))
    run_days("reassessment", date(2026, 7, 1), date(2026, 9, 30), municipality="111007")
    next_run_days("business_day", date(2026, 12, 28), 2)   # [2027-01-04, 2027-01-05]
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from . import bizcal, paths
from . import config as config_mod

INITIAL_ASSESSMENT = "initial_assessment"
REASSESSMENT = "reassessment"
#: Every business day (開庁日): the daily job nets (KB100, KB400, KB410, KB600, KB620), whose entry
#: check names no rule. ``kokuho rundays business_day`` lists their days.
BUSINESS_DAY = "business_day"
RULES = (INITIAL_ASSESSMENT, REASSESSMENT, BUSINESS_DAY)
#: The job nets and their rule (the CLI accepts either name; it adds every job net of the
#: registry whose entry check names a rule).
JOBNET_RULES = {"KB300": INITIAL_ASSESSMENT, "KB310": REASSESSMENT}
RULE_LABELS = {INITIAL_ASSESSMENT: "当初賦課", REASSESSMENT: "異動賦課", BUSINESS_DAY: "開庁日"}
#: The keys of a monthly rule's section in run_calendar.yaml (see ``MonthlyRule``).
MONTHLY_RULE_KEYS = frozenset({"run_days", "months", "dates", "roll", "after_initial_assessment", "label"})


@dataclass(frozen=True)
class RunDay:
    """The answer for one business date: run or not, why (Japanese, for the task log), and
    whether the reason needs an operator's attention (a missing or odd setting)."""

    run: bool
    reason: str
    warning: bool = False


# --- 当初賦課 -------------------------------------------------------------------------------------


def initial_assessment_date(cfg: config_mod.Config, fy: int | None = None) -> dt.date | None:
    """The fiscal year's 当初賦課 date: ``initial_assessment.run_date`` of the fiscal-year config
    (``config/municipalities/<code>/fy<YYYY>/run_calendar.yaml``) when a file states one, else by
    rule: ``initial_assessment.month_day`` (MM-DD, ``config/common/run_calendar.yaml``, a
    municipality may override) in the fiscal year ``fy`` (default ``cfg.fy``); a month before the
    fiscal year's start month falls in the next calendar year. None when neither is configured
    (or the config has no fiscal year)."""
    value = cfg.get("initial_assessment.run_date", None)
    if value not in (None, ""):
        return _as_date(value, "initial_assessment.run_date")
    month_day = cfg.get("initial_assessment.month_day", None)
    year = fy if fy is not None else cfg.fy
    if month_day in (None, "") or year is None:
        return None
    try:
        m, d = (int(x) for x in str(month_day).split("-"))
        start_month = bizcal.BusinessCalendar.from_config(cfg).fiscal_year_start[0]
        return dt.date(int(year) + (1 if m < start_month else 0), m, d)
    except (TypeError, ValueError) as exc:
        raise config_mod.ConfigError(f"initial_assessment.month_day は MM-DD です: {month_day!r}") from exc


def initial_assessment_run_day(run_date: dt.date, cal: bizcal.BusinessCalendar) -> dt.date:
    """The business day the 当初賦課 runs: the configured date, or the next business day."""
    return cal.roll_forward(run_date)


def decide_initial_assessment(d: dt.date, run_date: dt.date | None, cal: bizcal.BusinessCalendar,
                              fy: int) -> RunDay:
    if run_date is None:
        return RunDay(False, f"{fy}年度の当初賦課日 (initial_assessment.run_date / month_day) が設定されていません: "
                             "定時実行はしません (手動実行はできます)", warning=True)
    if cal.fiscal_year(run_date) != fy:
        return RunDay(False, f"{fy}年度の当初賦課日 {run_date.isoformat()} が年度の外です "
                             "(initial_assessment.run_date を確認してください)", warning=True)
    day = initial_assessment_run_day(run_date, cal)
    if d == day:
        moved = "" if day == run_date else f" (設定日 {run_date.isoformat()} は閉庁日のため翌開庁日)"
        return RunDay(True, f"{d.isoformat()} は{fy}年度の当初賦課日です{moved}")
    return RunDay(False, f"{d.isoformat()} は当初賦課日ではありません ({fy}年度の当初賦課日 {day.isoformat()})")


# --- 異動賦課 -------------------------------------------------------------------------------------


def run_days_of_month(year: int, month: int, days: Iterable[int], cal: bizcal.BusinessCalendar) -> list[dt.date]:
    """The run days scheduled in ``year``-``month``: each configured day of the month (past the
    month's end: its last day), moved to the next business day when closed; sorted, unique. A
    moved day may fall in the next month."""
    last = _calendar.monthrange(year, month)[1]
    out = {cal.roll_forward(dt.date(year, month, min(int(day), last))) for day in days}
    return sorted(out)


def is_monthly_run_day(d: dt.date, days: Iterable[int], cal: bizcal.BusinessCalendar) -> bool:
    """Is ``d`` one of the run days of its month or of the month before (a day moved forward
    across the month's end, e.g. the 31st of a month ending on a weekend)?"""
    days = list(days)
    prev = (d.replace(day=1) - dt.timedelta(days=1))
    return d in run_days_of_month(d.year, d.month, days, cal) or d in run_days_of_month(prev.year, prev.month, days, cal)


def monthly_days(cfg: config_mod.Config, key: str) -> list[int]:
    """A list of days of the month (1–31) from config, checked."""
    raw = cfg.get(key)
    if isinstance(raw, int | str):
        raw = [raw]
    try:
        days = sorted({int(x) for x in raw})
    except (TypeError, ValueError) as exc:
        raise config_mod.ConfigError(f"{key} は日 (1〜31) のリストです: {raw!r}") from exc
    if not days or days[0] < 1 or days[-1] > 31:
        raise config_mod.ConfigError(f"{key} は日 (1〜31) のリストです: {raw!r}")
    return days


def decide_reassessment(d: dt.date, days: Iterable[int], cal: bizcal.BusinessCalendar, *,
                        not_before: dt.date | None, require_initial: bool, fy: int) -> RunDay:
    days = list(days)
    if not is_monthly_run_day(d, days, cal):
        nxt = next_monthly_run_day(d, days, cal)
        return RunDay(False, f"{d.isoformat()} は異動賦課日ではありません (毎月 {', '.join(map(str, days))} 日、"
                             f"閉庁日は翌開庁日; 次回 {nxt.isoformat()})")
    if require_initial:
        if not_before is None:
            return RunDay(False, f"{fy}年度の当初賦課日 (initial_assessment.run_date) が設定されていないため、"
                                 "異動賦課を定時実行しません (手動実行はできます)", warning=True)
        if d <= not_before:
            return RunDay(False, f"{d.isoformat()} は{fy}年度の当初賦課 ({not_before.isoformat()}) 以前のため、"
                                 "異動賦課はしません")
    return RunDay(True, f"{d.isoformat()} は異動賦課日です (毎月 {', '.join(map(str, days))} 日、閉庁日は翌開庁日)")


def next_monthly_run_day(d: dt.date, days: Iterable[int], cal: bizcal.BusinessCalendar) -> dt.date:
    """The first monthly run day strictly after ``d``."""
    days = list(days)
    year, month = d.year, d.month
    for _ in range(14):
        for day in run_days_of_month(year, month, days, cal):
            if day > d:
                return day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise bizcal.CalendarError(f"{d} から1年以内に異動賦課日がありません")


# --- one entry point ---------------------------------------------------------------------------


def rule_of(name: str, cfg: config_mod.Config | None = None,
            jobnet_rules: dict[str, str] | None = None) -> str:
    """``initial_assessment`` / ``reassessment`` / any monthly rule of run_calendar.yaml (a section
    with ``run_days`` or ``dates``), or a job net id (KB300, KB310, or one of ``jobnet_rules``)."""
    key = name.strip()
    nets = {**JOBNET_RULES, **(jobnet_rules or {})}
    rule = nets.get(key.upper(), key.lower())
    known = set(RULES) | set(monthly_rule_names(cfg if cfg is not None else config_mod.load()))
    if rule not in known:
        raise ValueError(f"業務日程の種類が不明です: {name!r} (使えるもの: {', '.join(sorted(known))}, "
                         f"{', '.join(sorted(nets))})")
    return rule


# --- monthly rules of config (督促, 催告, 月次締め, 年金 …) ---------------------------------------


@dataclass(frozen=True)
class MonthlyRule:
    """A run-day rule stated wholly in run_calendar.yaml, under the rule's name::

        pension_apply:
          label: 年金特徴結果反映        # for the task log and ``kokuho rundays``
          run_days: [20]                # days of the month (past the month's end: its last day)
          months: odd                   # all (default) | odd | even | a list of months 1–12
          dates: ["05-31"]              # and/or fixed MM-DD days of every year
          roll: forward                 # a closed day moves to the next (forward) or previous
                                        # (backward) business day
          after_initial_assessment: false   # true: only after the fiscal year's 当初賦課 run date

    ``run_days`` [1] with roll forward is "the first business day of the month"; [31] with roll
    backward "the last business day of the month"."""

    name: str
    label: str
    run_days: tuple[int, ...]
    months: tuple[int, ...]
    dates: tuple[tuple[int, int], ...]
    roll: str
    after_initial_assessment: bool

    def days_of_month(self, year: int, month: int, cal: bizcal.BusinessCalendar) -> list[dt.date]:
        """The run days scheduled in ``year``-``month`` (rolled; a rolled day may leave the month)."""
        last = _calendar.monthrange(year, month)[1]
        wanted = []
        if month in self.months:
            wanted += [dt.date(year, month, min(day, last)) for day in self.run_days]
        wanted += [dt.date(year, m, min(d, last)) for m, d in self.dates if m == month]
        move = cal.roll_forward if self.roll == "forward" else _roll_backward(cal)
        return sorted({move(day) for day in wanted})

    def is_run_day(self, d: dt.date, cal: bizcal.BusinessCalendar) -> bool:
        for delta in (-1, 0, 1):  # a day rolled across a month's end belongs to the month before/after
            y, m = d.year, d.month + delta
            y, m = (y - 1, 12) if m < 1 else (y + 1, 1) if m > 12 else (y, m)
            if d in self.days_of_month(y, m, cal):
                return True
        return False

    def next_run_day(self, d: dt.date, cal: bizcal.BusinessCalendar) -> dt.date | None:
        year, month = d.year, d.month
        for _ in range(14):
            for day in self.days_of_month(year, month, cal):
                if day > d:
                    return day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return None

    def previous_run_day(self, d: dt.date, cal: bizcal.BusinessCalendar) -> dt.date | None:
        """The last run day on or before ``d`` (None if there is none within 14 months)."""
        year, month = d.year, d.month + 1
        year, month = (year + 1, 1) if month > 12 else (year, month)
        for _ in range(15):
            for day in reversed(self.days_of_month(year, month, cal)):
                if day <= d:
                    return day
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        return None

    def describe(self) -> str:
        parts = []
        if self.run_days:
            months = "毎月" if len(self.months) == 12 else "/".join(map(str, self.months)) + "月"
            parts.append(f"{months} {', '.join(map(str, self.run_days))} 日")
        if self.dates:
            parts.append("毎年 " + ", ".join(f"{m}月{d}日" for m, d in self.dates))
        closed = "翌開庁日" if self.roll == "forward" else "前開庁日"
        return f"{'・'.join(parts)}、閉庁日は{closed}"


def _roll_backward(cal: bizcal.BusinessCalendar):
    def move(day: dt.date) -> dt.date:
        while not cal.is_business_day(day):
            day -= dt.timedelta(days=1)
        return day
    return move


def monthly_rule_names(cfg: config_mod.Config) -> list[str]:
    """The monthly rules configured (every run_calendar section with ``run_days`` or ``dates``,
    besides the 当初賦課)."""
    names = []
    for key in ("reassessment", *sorted(_sections(cfg))):
        if key != INITIAL_ASSESSMENT and key not in names:
            section = cfg.get(key, None)
            if isinstance(section, Mapping) and ("run_days" in section or "dates" in section):
                names.append(key)
    return names


def _sections(cfg: config_mod.Config) -> list[str]:
    data = getattr(cfg, "data", None)
    return [k for k, v in (data or {}).items() if isinstance(v, Mapping)]


def monthly_rule(name: str, cfg: config_mod.Config) -> MonthlyRule:
    """The rule ``name`` from config, checked (a ConfigError names the key)."""
    section = cfg.get(name, None)
    if not isinstance(section, Mapping):
        raise config_mod.ConfigError(f"業務日程 {name} が run_calendar.yaml にありません")
    unknown = set(section) - MONTHLY_RULE_KEYS
    if unknown:
        raise config_mod.ConfigError(f"{name} に不明な項目があります: {sorted(unknown)} "
                                     f"(使えるもの: {sorted(MONTHLY_RULE_KEYS)})")
    days = tuple(monthly_days(cfg, f"{name}.run_days")) if section.get("run_days") not in (None, []) else ()
    raw_months = section.get("months", "all")
    if raw_months in ("all", None):
        months = tuple(range(1, 13))
    elif raw_months == "odd":
        months = tuple(range(1, 13, 2))
    elif raw_months == "even":
        months = tuple(range(2, 13, 2))
    else:
        try:
            months = tuple(sorted({int(m) for m in raw_months}))
        except (TypeError, ValueError) as exc:
            raise config_mod.ConfigError(f"{name}.months は all / odd / even か月 (1〜12) のリストです: "
                                         f"{raw_months!r}") from exc
        if not months or months[0] < 1 or months[-1] > 12:
            raise config_mod.ConfigError(f"{name}.months は all / odd / even か月 (1〜12) のリストです: {raw_months!r}")
    dates = []
    for value in section.get("dates") or []:
        try:
            m, d = (int(x) for x in str(value).split("-"))
            dt.date(2024, m, d)  # a leap year: 02-29 is allowed (it means the month's last day)
        except (TypeError, ValueError) as exc:
            raise config_mod.ConfigError(f"{name}.dates は MM-DD のリストです: {value!r}") from exc
        dates.append((m, d))
    if not days and not dates:
        raise config_mod.ConfigError(f"{name} に run_days も dates もありません")
    roll = section.get("roll", "forward")
    if roll not in ("forward", "backward"):
        raise config_mod.ConfigError(f"{name}.roll は forward か backward です: {roll!r}")
    label = section.get("label") or RULE_LABELS.get(name, name)
    return MonthlyRule(name, str(label), days, months, tuple(sorted(dates)), roll,
                       bool(section.get("after_initial_assessment", False)))


def label_of(rule: str, cfg: config_mod.Config | None = None) -> str:
    """The Japanese name of a rule (当初賦課, 異動賦課, or the ``label`` of its section)."""
    if rule in RULE_LABELS:
        return RULE_LABELS[rule]
    try:
        return monthly_rule(rule, cfg if cfg is not None else config_mod.load()).label
    except config_mod.ConfigError:
        return rule


def decide_monthly(d: dt.date, rule: MonthlyRule, cal: bizcal.BusinessCalendar, *,
                   not_before: dt.date | None, fy: int) -> RunDay:
    if not rule.is_run_day(d, cal):
        nxt = rule.next_run_day(d, cal)
        nxt_text = f"; 次回 {nxt.isoformat()}" if nxt else ""
        return RunDay(False, f"{d.isoformat()} は{rule.label}の実行日ではありません ({rule.describe()}{nxt_text})")
    if rule.after_initial_assessment:
        if not_before is None:
            return RunDay(False, f"{fy}年度の当初賦課日 (initial_assessment.run_date) が設定されていないため、"
                                 f"{rule.label}を定時実行しません (手動実行はできます)", warning=True)
        if d <= not_before:
            return RunDay(False, f"{d.isoformat()} は{fy}年度の当初賦課 ({not_before.isoformat()}) 以前のため、"
                                 f"{rule.label}はしません")
    return RunDay(True, f"{d.isoformat()} は{rule.label}の実行日です ({rule.describe()})")


def decide(rule: str, d: dt.date, cfg: config_mod.Config, cal: bizcal.BusinessCalendar | None = None) -> RunDay:
    """Does the scheduled run of ``rule`` go on on business date ``d``? ``cfg`` is the config of
    the municipality and of ``d``'s fiscal year (``config.load(code, fy)``). A closed day never
    runs (the job nets run on business days only)."""
    rule = rule_of(rule, cfg)
    cal = cal or bizcal.BusinessCalendar.from_config(cfg)
    reason = cal.closure_reason(d)
    if reason is not None:
        return RunDay(False, f"{d.isoformat()} は閉庁日です ({reason})")
    if rule == BUSINESS_DAY:
        return RunDay(True, f"{d.isoformat()} は開庁日です")
    fy = int(cfg.fy) if cfg.fy is not None else cal.fiscal_year(d)
    run_date = initial_assessment_date(cfg, fy)
    if rule == INITIAL_ASSESSMENT:
        return decide_initial_assessment(d, run_date, cal, fy)
    not_before = initial_assessment_run_day(run_date, cal) if run_date is not None else None
    if rule == REASSESSMENT:
        days = monthly_days(cfg, "reassessment.run_days")
        require = bool(cfg.get("reassessment.after_initial_assessment"))
        return decide_reassessment(d, days, cal, not_before=not_before, require_initial=require, fy=fy)
    return decide_monthly(d, monthly_rule(rule, cfg), cal, not_before=not_before, fy=fy)


def scheduled_run_day(rule: str, d: dt.date, *, municipality: str | None = None, fy: int | None = None) -> RunDay:
    """``decide`` with the config of ``municipality`` (default: the default one) and of ``fy``
    (default: the fiscal year of ``d``): what the ``-CAL`` task of a scheduled run calls."""
    base = config_mod.load(municipality)
    year = int(fy) if fy is not None else bizcal.BusinessCalendar.from_config(base).fiscal_year(d)
    return decide(rule, d, config_mod.load(municipality, year))


def resolve_municipality(municipality: str | None = None) -> str:
    """``municipality``, or the default one (``config.default_municipality``), read once per
    change of config/common (the Airflow timetable asks many times a minute)."""
    if municipality:
        return str(municipality)
    env = os.environ.get("KOKUHO_MUNICIPALITY")
    if env:
        return env
    root = paths.config_root() / "common"
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(root.glob("*.yaml"))) if root.is_dir() else ()
    return _default_municipality(str(paths.config_root()), stamp)


@functools.lru_cache(maxsize=8)
def _default_municipality(root: str, _stamp: tuple) -> str:
    from pathlib import Path

    return config_mod.default_municipality(root=Path(root))


def run_days(rule: str, start: dt.date, end: dt.date, *, municipality: str | None = None) -> list[dt.date]:
    """Every run day of ``rule`` in [start, end] (for operators: ``kokuho rundays``)."""
    municipality = resolve_municipality(municipality)
    base = config_mod.load(municipality)
    cal = bizcal.BusinessCalendar.from_config(base)
    out, cfgs = [], {}
    for d in cal.business_days(start, end):
        fy = cal.fiscal_year(d)
        if fy not in cfgs:
            cfgs[fy] = config_mod.load(municipality, fy)
        if decide(rule, d, cfgs[fy], cal).run:
            out.append(d)
    return out


def next_run_days(rule: str, after: dt.date, count: int = 1, *, municipality: str | None = None,
                  horizon_days: int = 800) -> list[dt.date]:
    """The first ``count`` run days of ``rule`` strictly after ``after`` (fewer when the rule has
    none within ``horizon_days``): what the job nets' Airflow timetable schedules
    (``plugins/kokuho_timetable.py``). The same days as ``run_days``. Cached until a config file
    changes: the DAG processor asks for every job net at each parse."""
    municipality = resolve_municipality(municipality)
    return list(_next_run_days(rule, after, count, municipality, horizon_days, _config_stamp()))


def _config_stamp() -> tuple:
    """Names, modification times and sizes of every config file (a cache key)."""
    root = paths.config_root()
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(root.rglob("*.yaml")))


@functools.lru_cache(maxsize=256)
def _next_run_days(rule: str, after: dt.date, count: int, municipality: str, horizon_days: int,
                   _stamp: tuple) -> tuple[dt.date, ...]:
    out: list[dt.date] = []
    start = after + dt.timedelta(days=1)
    limit = after + dt.timedelta(days=horizon_days)
    window = 7  # grows: most rules have a run day within days, the yearly ones within a year
    while len(out) < count and start <= limit:
        end = min(start + dt.timedelta(days=window), limit)
        out += run_days(rule, start, end, municipality=municipality)
        start, window = end + dt.timedelta(days=1), min(window * 3, 120)
    return tuple(out[:count])


def previous_run_day(rule: str, before: dt.date, *, municipality: str | None = None,
                     horizon_days: int = 800) -> dt.date | None:
    """The last run day of ``rule`` strictly before ``before`` (None within ``horizon_days``)."""
    municipality = resolve_municipality(municipality)
    end = before - dt.timedelta(days=1)
    limit = before - dt.timedelta(days=horizon_days)
    while end >= limit:
        start = max(end - dt.timedelta(days=92), limit)
        days = run_days(rule, start, end, municipality=municipality)
        if days:
            return days[-1]
        end = start - dt.timedelta(days=1)
    return None


def _as_date(value, key: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise config_mod.ConfigError(f"{key} は日付 (YYYY-MM-DD) です: {value!r}") from exc
