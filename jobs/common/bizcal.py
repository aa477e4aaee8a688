"""Business-day calendar (開庁日カレンダー).

A business day is not a closed weekday (土・日), not a national holiday (国民の祝日, 振替休日,
国民の休日: the ``jpholiday`` package), not inside a closure period (年末年始 12/29–1/3) and not a
one-off closed date. The rules are data in ``config/common/calendar.yaml`` (a municipality may
override them); this module only applies them. The same file holds the fiscal-year start
(``calendar.fiscal_year_start``), the one place of that value: ``fiscal_year``,
``fiscal_year_first_day`` and ``fiscal_year_last_day`` derive from it.

    cal = bizcal.calendar()                      # the default municipality's calendar
    cal.is_business_day(date(2027, 1, 4))        # True
    cal.add_business_days(date(2026, 6, 30), -3) # three business days before
    cal.roll_forward(due)                        # 納期限 on a holiday → next business day

The module-level functions use the default calendar unless one is passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import jpholiday

from . import config as config_mod

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_SCAN = 366  # no real calendar closes more than a year in a row


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class ClosurePeriod:
    """A yearly closure from (month, day) to (month, day), inclusive; may wrap the new year."""

    start: tuple[int, int]
    end: tuple[int, int]
    label: str = ""

    def contains(self, d: dt.date) -> bool:
        md = (d.month, d.day)
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end


@dataclass(frozen=True)
class BusinessCalendar:
    """The rules of one municipality's calendar; build it with ``from_config`` (no defaults:
    every rule comes from config/)."""

    closed_weekdays: frozenset[int]
    national_holidays: bool
    closure_periods: tuple[ClosurePeriod, ...]
    closed_dates: frozenset[dt.date]
    fiscal_year_start: tuple[int, int]
    timezone: str

    @classmethod
    def from_config(cls, cfg: config_mod.Config) -> BusinessCalendar:
        c = cfg.get("calendar")
        try:
            weekdays = frozenset(WEEKDAYS.index(str(w).lower()) for w in c["weekly_closed_days"])
        except ValueError as exc:
            raise CalendarError(f"calendar.weekly_closed_days に不明な曜日があります: {c['weekly_closed_days']}") from exc
        periods = tuple(
            ClosurePeriod(_month_day(p["from"]), _month_day(p["to"]), str(p.get("label", "")))
            for p in c["closure_periods"]
        )
        closed = frozenset(_as_date(x) for x in (c.get("closed_dates") or ()))
        return cls(
            closed_weekdays=weekdays,
            national_holidays=bool(c["national_holidays"]),
            closure_periods=periods,
            closed_dates=closed,
            fiscal_year_start=_month_day(c["fiscal_year_start"]),
            timezone=str(c["timezone"]),
        )

    # --- single days ---------------------------------------------------------------------

    def is_business_day(self, d: dt.date) -> bool:
        return self.closure_reason(d) is None

    def closure_reason(self, d: dt.date) -> str | None:
        """Why ``d`` is not a business day (Japanese, for logs), or None on a business day."""
        d = _as_date(d)
        if d.weekday() in self.closed_weekdays:
            return "土曜日" if d.weekday() == 5 else "日曜日" if d.weekday() == 6 else f"{WEEKDAYS[d.weekday()]}曜休業"
        if self.national_holidays:
            name = jpholiday.is_holiday_name(d)
            if name:
                return name
        for p in self.closure_periods:
            if p.contains(d):
                return p.label or "閉庁日"
        if d in self.closed_dates:
            return "臨時閉庁日"
        return None

    # --- moving ------------------------------------------------------------------------

    def next_business_day(self, d: dt.date) -> dt.date:
        """The first business day strictly after ``d``."""
        return self.add_business_days(d, 1)

    def previous_business_day(self, d: dt.date) -> dt.date:
        """The last business day strictly before ``d``."""
        return self.add_business_days(d, -1)

    def roll_forward(self, d: dt.date) -> dt.date:
        """``d`` if a business day, else the next one (納期限が休日 → 翌開庁日)."""
        d = _as_date(d)
        return d if self.is_business_day(d) else self.next_business_day(d)

    def roll_backward(self, d: dt.date) -> dt.date:
        """``d`` if a business day, else the previous one."""
        d = _as_date(d)
        return d if self.is_business_day(d) else self.previous_business_day(d)

    def add_business_days(self, d: dt.date, n: int) -> dt.date:
        """Count ``n`` business days from ``d`` (``d`` itself not counted); negative goes back.

        ``n == 0`` returns ``d`` unchanged, business day or not.
        """
        d = _as_date(d)
        step = 1 if n > 0 else -1
        remaining = abs(int(n))
        gap = 0
        while remaining:
            d += dt.timedelta(days=step)
            if self.is_business_day(d):
                remaining -= 1
                gap = 0
            else:
                gap += 1
                if gap > _MAX_SCAN:
                    raise CalendarError(f"{_MAX_SCAN}日以上続けて開庁日がありません ({d} 付近): calendar.yaml を確認してください")
        return d

    def business_days_between(self, start: dt.date, end: dt.date) -> int:
        """The ``n`` with ``add_business_days(start, n) == end`` when ``end`` is a business day:
        business days in (start, end] going forward, minus those in [end, start) going back."""
        start, end = _as_date(start), _as_date(end)
        if end < start:
            return -sum(1 for x in _days(end, start - dt.timedelta(days=1)) if self.is_business_day(x))
        return sum(1 for x in _days(start + dt.timedelta(days=1), end) if self.is_business_day(x))

    def business_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """All business days in [start, end]."""
        return [x for x in _days(_as_date(start), _as_date(end)) if self.is_business_day(x)]

    # --- fiscal year ---------------------------------------------------------------------

    def fiscal_year(self, d: dt.date) -> int:
        """The fiscal year (年度) containing ``d``: April 2026 – March 2027 → 2026."""
        d = _as_date(d)
        return d.year if (d.month, d.day) >= self.fiscal_year_start else d.year - 1

    def fiscal_year_first_day(self, fy: int) -> dt.date:
        """The first day of fiscal year ``fy`` (also its 賦課期日): 2026 → 2026-04-01."""
        return dt.date(int(fy), *self.fiscal_year_start)

    def fiscal_year_last_day(self, fy: int) -> dt.date:
        """The last day of fiscal year ``fy``: 2026 → 2027-03-31."""
        return self.fiscal_year_first_day(int(fy) + 1) - dt.timedelta(days=1)


_CACHE: dict[int, tuple[config_mod.Config, BusinessCalendar]] = {}


def calendar(municipality: str | None = None) -> BusinessCalendar:
    """The calendar of ``municipality`` (default: the default municipality), from config."""
    cfg = config_mod.load(municipality)  # cached by config until a file changes
    hit = _CACHE.get(id(cfg))
    if hit is None or hit[0] is not cfg:
        hit = (cfg, BusinessCalendar.from_config(cfg))
        _CACHE[id(cfg)] = hit
    return hit[1]


def is_business_day(d: dt.date, cal: BusinessCalendar | None = None) -> bool:
    return (cal or calendar()).is_business_day(d)


def next_business_day(d: dt.date, cal: BusinessCalendar | None = None) -> dt.date:
    return (cal or calendar()).next_business_day(d)


def previous_business_day(d: dt.date, cal: BusinessCalendar | None = None) -> dt.date:
    return (cal or calendar()).previous_business_day(d)


def add_business_days(d: dt.date, n: int, cal: BusinessCalendar | None = None) -> dt.date:
    return (cal or calendar()).add_business_days(d, n)


def roll_forward(d: dt.date, cal: BusinessCalendar | None = None) -> dt.date:
    return (cal or calendar()).roll_forward(d)


def fiscal_year(d: dt.date, cal: BusinessCalendar | None = None) -> int:
    return (cal or calendar()).fiscal_year(d)


# --- helpers ----------------------------------------------------------------------------------


def _days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    d = start
    while d <= end:
        yield d
        d += dt.timedelta(days=1)


def _as_date(d) -> dt.date:
    if isinstance(d, dt.datetime):
        return d.date()
    if isinstance(d, dt.date):
        return d
    if isinstance(d, str):
        return dt.date.fromisoformat(d)
    raise TypeError(f"not a date: {d!r}")


def _month_day(s) -> tuple[int, int]:
    text = str(s)
    try:
        month, day = (int(x) for x in text.split("-"))
        dt.date(2000, month, day)  # validates (2000 is a leap year: 02-29 allowed)
    except (ValueError, TypeError) as exc:
        raise CalendarError(f"月日は \"MM-DD\" で指定してください: {text!r}") from exc
    return month, day
