"""The year plan of ``make demo-year``: which job nets run on which business day, and which
counterparty answers arrive before them. Pure: the city's config and calendar in, a list of ``Day``.

A production year runs the daily job nets (KB100, KB400, KB410, KB600, KB620) on every business day,
about 1,200 runs; most of them have nothing to do. The demo runs a daily job net only on the days it
has work (``Reason`` says which), and every other job net on all its run days (``kokuho rundays``)
from the 当初賦課 on:

- KB100 取込 on the synthetic city's intake day (its only delivery: 資格, 住民税 当初, Z21, 介護);
- KB300 当初賦課 on the fiscal year's ``initial_assessment`` day;
- for each 普通徴収 納期限 D (``installments.Schedule``): on D's 口座振替 request day KB400 (SN100
  registers the day's 調定, the counter/CVS files since the last run are posted) and KB410
  (口座振替請求); on D itself the banks answer and KB210 takes the results in; on D's 督促 day
  (``dunning.dunning_day``) KB400 (the payments up to that day), KB620 and KB600 (督促, 延滞金);
- KB610 催告 on its ``reminder`` days after the first 督促 day;
- KB700 月次締め on its ``month_close`` days after the first KB400 day (the ledger exists), and KB400
  on the business day before each (the month's payments posted before the month is closed);
- KB500 年金特徴受信 on its ``pension_intake`` days when the insurer simulator delivers a file
  (``if_files``), KB510 on ``pension_send``, KB520 on ``pension_apply`` followed by KB400 (SN235
  posts the pension results the same morning), KB530 on ``pension_deduction_handover``;
- with the 出納整理期間: KB400 on the business day before the 出納閉鎖 day (the last payments of the
  year), KB710 on the 出納閉鎖 day.

Within a day the job nets run in the order of their cron times (``jobs.registry``: KB700 06:30,
KB610 07:00, … KB600 12:00, KB530 13:00); KB210 (manual, after the banks' answer) at 10:00.
KB310 異動賦課 does not run: the synthetic city sends no 住民税 異動 after its one delivery.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from jobs.common import bizcal, runcalendar
from jobs.common import config as config_mod

#: Counterparty events (simulated before the day's runs).
PAYMENTS = "payments"          # the counter and CVS files of the payments since the last KB400
BANK_RESULTS = "bank_results"  # the banks answer the 口座振替 request files of the day's 振替日
NENKIN = "nenkin"              # the pension-insurer simulator delivers what is due by the day
EVENT_LABELS = {PAYMENTS: "窓口・コンビニ収納ファイル", BANK_RESULTS: "口座振替結果ファイル", NENKIN: "年金保険者ファイル"}

#: Manual job nets and the time of day the demo runs them at.
MANUAL_TIMES = {"KB210": (10, 0)}


@dataclass(frozen=True)
class Run:
    jobnet_id: str
    reason: str
    if_files: bool = False   # run only when the day's counterparty event delivered a file (KB500)


@dataclass
class Day:
    date: dt.date
    runs: list[Run] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @property
    def nets(self) -> list[str]:
        return [r.jobnet_id for r in self.runs]


def cron_time(jobnet_id: str) -> tuple[int, int]:
    """(hour, minute) of the job net's cron (``jobs.registry``), or its MANUAL_TIMES entry."""
    from jobs.registry import JOBNETS

    if jobnet_id in MANUAL_TIMES:
        return MANUAL_TIMES[jobnet_id]
    cron = JOBNETS[jobnet_id].schedule
    if not cron:
        raise ValueError(f"{jobnet_id} has no cron and no MANUAL_TIMES entry")
    minute, hour = cron.split()[:2]
    return int(hour), int(minute)


#: Ties at one cron time: the order the day needs (KB520 reflects the results KB400 then posts;
#: KB510 sends after KB520 applied; KB400 before KB410, whose wait needs the day's SN100).
_TIE = {"KB700": 0, "KB710": 1, "KB100": 2, "KB610": 3, "KB500": 4, "KB300": 5, "KB520": 6, "KB510": 7,
        "KB400": 8, "KB410": 9, "KB210": 10, "KB620": 11, "KB600": 12, "KB530": 13}


def _order(run: Run) -> tuple:
    return (cron_time(run.jobnet_id), _TIE.get(run.jobnet_id, 99))


def year_plan(fy: int, *, municipality: str, intake_date: dt.date, with_closing_period: bool = True,
              cfg: config_mod.Config | None = None) -> list[Day]:
    """The demo's days of fiscal year ``fy`` from ``intake_date`` to March 31st (with the 出納整理期間:
    to the 出納閉鎖 day in May), in date order."""
    cfg = cfg or config_mod.load(municipality, fy)
    cal = bizcal.BusinessCalendar.from_config(cfg)
    first, last = cal.fiscal_year_first_day(fy), cal.fiscal_year_last_day(fy)
    if not first <= intake_date <= last:
        raise ValueError(f"the intake day {intake_date} is not in fiscal year {fy} ({first}–{last})")

    def days(rule: str, start: dt.date, end: dt.date) -> list[dt.date]:
        return runcalendar.run_days(rule, start, end, municipality=municipality)

    end = last
    close_day = None
    if with_closing_period:
        close_day = days("year_close", last + dt.timedelta(days=1), last + dt.timedelta(days=92))[0]
        end = close_day
    plan: dict[dt.date, Day] = {}

    def add(d: dt.date, jobnet_id: str, reason: str, *events: str, if_files: bool = False) -> None:
        day = plan.setdefault(d, Day(d))
        if jobnet_id not in day.nets:
            day.runs.append(Run(jobnet_id, reason, if_files))
        for e in events:
            if e not in day.events:
                day.events.append(e)

    add(intake_date, "KB100", "合成市の取込ファイル到着日")
    (assess,) = days(runcalendar.INITIAL_ASSESSMENT, first, last) or [None]
    if assess is None or assess <= intake_date:
        raise ValueError(f"no 当初賦課 run day after the intake day {intake_date} in fiscal year {fy}")
    add(assess, "KB300", "当初賦課日")

    from jobs.arrears import dunning
    from jobs.assessment.installments import Schedule
    from jobs.collection import direct_debit as dd

    rules = dunning.DunningRules.from_config(cfg)
    dues = [p.due_date for p in Schedule.from_config(cfg, fy, cal).periods]
    collect_days: list[dt.date] = []
    dunning_days: list[dt.date] = []
    for due in dues:
        request = dd.request_day(cal, cfg, due)
        add(request, "KB400", f"口座振替請求日 (納期限 {due}): 調定登録と収納消込", PAYMENTS)
        add(request, "KB410", f"口座振替請求日 (納期限 {due})")
        add(due, "KB210", f"振替日 (納期限 {due}): 口座振替結果", BANK_RESULTS)
        dun = dunning.dunning_day(due, rules, cal)
        if dun <= end:
            add(dun, "KB400", f"督促日 (納期限 {due}): 収納消込", PAYMENTS)
            add(dun, "KB620", f"督促日 (納期限 {due}): 滞納記録")
            add(dun, "KB600", f"督促日 (納期限 {due})")
            dunning_days.append(dun)
        collect_days.append(request)
    for d in days("pension_apply", assess + dt.timedelta(days=1), end):
        add(d, "KB520", "年金特徴結果反映日")
        add(d, "KB400", "年金特徴結果反映日: 年金特徴収納消込 (SN235)", PAYMENTS)
        collect_days.append(d)
    for d in days("pension_send", assess + dt.timedelta(days=1), end):
        add(d, "KB510", "年金特徴依頼送信日")
    for d in days("pension_intake", assess + dt.timedelta(days=1), end):
        add(d, "KB500", "年金特徴受信日 (保険者ファイルがある日)", NENKIN, if_files=True)
    for d in days("pension_deduction_handover", assess + dt.timedelta(days=1), end):
        add(d, "KB530", "社会保険料控除引継日")
    if dunning_days:
        for d in days("reminder", min(dunning_days) + dt.timedelta(days=1), end):
            add(d, "KB610", "催告日")
    first_collect = min(collect_days)
    for d in days("month_close", first_collect + dt.timedelta(days=1), end):
        add(d, "KB700", "月次締め日")
        # the month's payments posted in the month: KB700 (06:30) closes it before the day's KB400 (08:30)
        add(cal.previous_business_day(d), "KB400", "月次締め前日: 月末までの収納消込", PAYMENTS)
    if close_day is not None:
        # the 出納整理期間's last payments, posted the business day before KB710 (06:30) closes the year
        add(cal.previous_business_day(close_day), "KB400", "出納閉鎖前日: 出納整理期間の収納消込", PAYMENTS)
        add(close_day, "KB710", "出納閉鎖日")
    out = [plan[d] for d in sorted(plan)]
    for day in out:
        day.runs.sort(key=_order)
    return out


def cut_at_late_fee_rates(plan: Sequence[Day], rates_end: dt.date, pay_by_days: int) -> tuple[list[Day], Day | None]:
    """The plan up to the day before the first day that needs a 延滞金 rate past ``rates_end`` (the last
    day of ``late_fee.rates``), and that first day (None: the whole plan is covered). A day past
    ``rates_end`` needs one; so does a 催告 day (KB610) whose 指定期限 (``pay_by_days`` later, moved to
    the next business day: a week of slack) is past it — its 催告書 state the 延滞金 to that day. The
    job nets refuse such a day (TN120 KKB650E): the demo stops before it instead, and says so."""
    slack = dt.timedelta(days=pay_by_days + 7)
    for i, day in enumerate(plan):
        if day.date > rates_end or (any(r.jobnet_id == "KB610" for r in day.runs) and day.date + slack > rates_end):
            return list(plan[:i]), day
    return list(plan), None


# --- which fiscal year the demo can run whole -------------------------------------------------------


@dataclass(frozen=True)
class YearNeeds:
    """What fiscal year ``fy``'s whole demo year needs from config and does not find there (empty: covered)."""

    fy: int
    label: str                     # 令和7年度
    closing_day: dt.date           # its 出納閉鎖 (closing.cash_closing_date of the next calendar year)
    missing: tuple[str, ...] = ()

    @property
    def covered(self) -> bool:
        return not self.missing


def first_uncovered_day(periods: Iterable[tuple[dt.date, dt.date]], start: dt.date, end: dt.date) -> dt.date | None:
    """The first day of ``start``…``end`` in no (from, to) period (both inclusive); None: all covered."""
    day = start
    for a, b in sorted(periods):
        if a > day:
            break
        if b >= day:
            day = b + dt.timedelta(days=1)
        if day > end:
            return None
    return day if day <= end else None


def year_needs(fy: int, *, label: str, first_day: dt.date, closing_day: dt.date, tax_years: Iterable[int],
               city_tax_years: Iterable[int], rate_periods: Iterable[tuple[dt.date, dt.date]],
               refund_periods: Iterable[tuple[dt.date, dt.date]] | None = None) -> YearNeeds:
    """The statutory figures fiscal year ``fy`` needs to run from its first day to its 出納閉鎖: the
    common tax config of the year (config/common/tax/fyNNNN.yaml), the city's (fyNNNN/tax.yaml), and a
    延滞金 rate (late_fee.rates) for every day up to the 出納閉鎖 (a 納期限 passed in the year accrues
    延滞金 to the day it is paid, at the latest the 出納閉鎖) and, when given, a 還付加算金 rate
    (refund.interest.rates) for every such day as well (a 過誤納金 of the year is refunded with it)."""
    missing = []
    if fy not in set(tax_years):
        missing.append(f"the {fy} tax config (config/common/tax/fy{fy}.yaml)")
    elif fy not in set(city_tax_years):
        missing.append(f"the city's {fy} tax rates (fy{fy}/tax.yaml)")
    gap = first_uncovered_day(rate_periods, first_day, closing_day)
    if gap is not None:
        missing.append(f"the {gap.year} 延滞金 rate (late_fee.rates has none for {gap})")
    gap = first_uncovered_day(refund_periods, first_day, closing_day) if refund_periods is not None else None
    if gap is not None:
        missing.append(f"the {gap.year} 還付加算金 rate (refund.interest.rates has none for {gap})")
    return YearNeeds(fy, label, closing_day, tuple(missing))


def fiscal_year_label(fy: int, first_day: dt.date, eras: Iterable[dict]) -> str:
    """令和7年度: the era (config/common/eras.yaml) of the fiscal year's first day."""
    for era in sorted(eras, key=lambda e: str(e["start"]), reverse=True):
        start = era["start"] if isinstance(era["start"], dt.date) else dt.date.fromisoformat(str(era["start"]))
        if start <= first_day:
            n = first_day.year - start.year + 1
            return f"{era['name']}{'元' if n == 1 else n}年度"
    return f"{fy}年度"


def _day(v) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def config_year_needs(municipality: str, *, root=None) -> list[YearNeeds]:
    """``year_needs`` of every fiscal year config/common/tax has, and of the one after the last (what it
    lacks), read from config (``root``: config/ by default)."""
    from pathlib import Path

    from jobs.arrears.late_fee import LateFeeRules
    from jobs.assessment.rates import RatesError, TaxRates
    from jobs.common import paths

    base = Path(root) if root is not None else paths.config_root()
    tax_years = sorted(int(p.stem[2:]) for p in (base / "common" / "tax").glob("fy*.yaml") if p.stem[2:].isdigit())
    common = config_mod.load_common(root=base)
    cal = bizcal.BusinessCalendar.from_config(common)
    month, day = (int(x) for x in str(common.get("closing.cash_closing_date")).split("-"))
    eras = common.get("eras")
    out = []
    for fy in (tax_years + [max(tax_years) + 1]) if tax_years else []:
        cfg = config_mod.load(municipality, fy, root=base)
        city = set()
        if fy in tax_years:
            try:
                TaxRates.from_config(cfg, root=base)
                city.add(fy)
            except (RatesError, config_mod.ConfigError):
                pass
        first = cal.fiscal_year_first_day(fy)
        periods = [(p.start, p.end) for p in LateFeeRules.from_config(cfg).periods]
        refund = [(_day(r["from"]), _day(r["to"])) for r in cfg.get("refund.interest.rates")]
        out.append(year_needs(fy, label=fiscal_year_label(fy, first, eras), first_day=first,
                              closing_day=dt.date(first.year + 1, month, day), tax_years=tax_years,
                              city_tax_years=city, rate_periods=periods, refund_periods=refund))
    return out


def choose_fiscal_year(needs: Sequence[YearNeeds]) -> tuple[YearNeeds | None, YearNeeds | None]:
    """(the latest covered fiscal year, the first fiscal year after it): None when there is none."""
    covered = [n for n in needs if n.covered]
    best = max(covered, key=lambda n: n.fy) if covered else None
    later = sorted((n for n in needs if best is None or n.fy > best.fy), key=lambda n: n.fy)
    return best, (later[0] if later else None)


def describe_choice(best: YearNeeds | None, after: YearNeeds | None) -> str:
    """``FY2025 (令和7年度): the latest fiscal year config covers; FY2026 needs the 2027 延滞金 rate …``"""
    head = (f"FY{best.fy} ({best.label}): the latest fiscal year config covers (to its 出納閉鎖 {best.closing_day})"
            if best else "no fiscal year is covered by config")
    if after is not None and after.missing:
        head += f"; FY{after.fy} needs " + ", ".join(after.missing)
    return head


def counts(plan: Sequence[Day]) -> dict[str, int]:
    """Runs per job net (KB500 counted where planned, whether or not a file comes)."""
    out: dict[str, int] = {}
    for day in plan:
        for r in day.runs:
            out[r.jobnet_id] = out.get(r.jobnet_id, 0) + 1
    return dict(sorted(out.items()))


def describe(plan: Iterable[Day]) -> str:
    """One line per day: date, events, job nets in order (for the report and ``--plan``)."""
    lines = []
    for day in plan:
        ev = "・".join(EVENT_LABELS[e] for e in day.events)
        nets = " → ".join(r.jobnet_id + ("?" if r.if_files else "") for r in day.runs)
        lines.append(f"{day.date} {day.date:%a}  {nets}" + (f"   [{ev}]" if ev else ""))
    return "\n".join(lines)
