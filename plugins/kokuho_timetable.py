"""The job nets' Airflow timetable: a run on each run day of the job net, at its time in Asia/Tokyo.

Airflow loads this file as a plugin (``[core] plugins_folder`` = ``${AIRFLOW_HOME}/plugins``, the
checkout's ``plugins/``); the plugin registers the timetable so that the DAG processor can
serialize it and the scheduler and the UI can deserialize it. The DAG builder
(``dags/_kokuho/jobnet.py``) imports it by its plugins-relative module path, ``kokuho_timetable``,
as Airflow requires (else ``TimetableNotRegistered``).

The days are the business calendar's and ``jobs/common/runcalendar.py``'s, the same answer as
``kokuho rundays`` and the job net's entry check (``KB300-CAL``): every business day (開庁日) for the
daily job nets (rule ``business_day``), the rule's days for the others (``initial_assessment``,
``reassessment``, the monthly rules of ``config/common/run_calendar.yaml``). The time of day comes
from the job net's cron in ``jobs/registry.py`` (``"30 6 * * 1-5"`` → 06:30); its day fields are not
used: the calendar decides the days. So the UI's "Next Run" is the real next run.

A run has no data interval (start = end = the run's time, as with ``CronTriggerTimetable``); its
business date is the run's date in Asia/Tokyo. With catchup off (all job nets), the first run
after an unpause is the next real slot: a slot more than ``grace_minutes`` in the past is never
run late under today's date. Within the grace a slot still runs (the scheduler creates a run a
few seconds after its time, and the DAG processor may recompute the next run in between).
Manual runs ("Trigger") run at once on any day; the entry check lets them go on.

The timetable never raises on a broken config: it logs the error and schedules nothing (the UI
shows no next run), since an exception here would stop the DAG processor for the DAG.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import pendulum
from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Tokyo"
#: jobs.common.runcalendar.BUSINESS_DAY (not imported here: a DAG file parses without the job code;
#: the rules are read only when the scheduler or the UI asks).
BUSINESS_DAY = "business_day"
#: How late (minutes) a slot may still start: see the module docstring.
DEFAULT_GRACE_MINUTES = 60
_CRON_TIME = re.compile(r"^\s*(\d{1,2})\s+(\d{1,2})\s+\*\s+\*\s+\S+\s*$")


def _utcnow() -> pendulum.DateTime:
    return pendulum.now("UTC")


def time_of_cron(cron: str) -> str:
    """``"30 6 * * 1-5"`` → ``"06:30"``: the job net's time of day (one minute, one hour, any day of
    the month and month; the day-of-week field is left to the calendar)."""
    m = _CRON_TIME.match(cron)
    if not m or int(m.group(1)) > 59 or int(m.group(2)) > 23:
        raise ValueError(f"job net schedule must be 'M H * * <weekdays>' (one time a day): {cron!r}")
    return f"{int(m.group(2)):02d}:{int(m.group(1)):02d}"


class KokuhoRunDayTimetable(Timetable):
    """Runs at the time of day of ``cron`` (in ``timezone``) on each run day of ``rule``
    (``jobs.common.runcalendar``; ``business_day`` = every 開庁日) of ``municipality`` (None: the
    default one, ``config/common/system.yaml``)."""

    def __init__(self, cron: str, *, rule: str | None = None, timezone: str = DEFAULT_TIMEZONE,
                 municipality: str | None = None, grace_minutes: int = DEFAULT_GRACE_MINUTES) -> None:
        self._expression = cron
        self._time = time_of_cron(cron)
        self._hour, self._minute = (int(x) for x in self._time.split(":"))
        self._rule = rule or BUSINESS_DAY
        self._timezone = str(getattr(timezone, "name", timezone))
        self._tz = pendulum.timezone(self._timezone)
        self._municipality = municipality
        self._grace = dt.timedelta(minutes=int(grace_minutes))
        self._grace_minutes = int(grace_minutes)
        # Plain text, no config read: Airflow's isinstance(…, Timetable) reads these at parse time.
        label = "開庁日" if self._rule == BUSINESS_DAY else self._rule
        self._summary = f"{label} {self._time}"
        days = "開庁日" if self._rule == BUSINESS_DAY else f"{self._rule} の実行日"
        self.description = f"{days}の {self._time} ({self._timezone}); 実行日の一覧: kokuho rundays {self._rule}"

    @property
    def expression(self) -> str:
        """The job net's cron in ``jobs/registry.py`` (only its time of day is used)."""
        return self._expression

    @property
    def timezone(self) -> str:
        return self._timezone

    @property
    def rule(self) -> str:
        return self._rule

    # --- serialization (the DAG processor stores it; the scheduler and the UI read it back) ------

    def serialize(self) -> dict[str, Any]:
        return {"cron": self._expression, "rule": self._rule, "timezone": self._timezone,
                "municipality": self._municipality, "grace_minutes": self._grace_minutes}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> KokuhoRunDayTimetable:
        return cls(data["cron"], rule=data.get("rule"), timezone=data.get("timezone", DEFAULT_TIMEZONE),
                   municipality=data.get("municipality"),
                   grace_minutes=data.get("grace_minutes", DEFAULT_GRACE_MINUTES))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KokuhoRunDayTimetable) and self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.serialize().items())))

    @property
    def summary(self) -> str:
        """Shown in the UI's schedule column, e.g. ``開庁日 06:30``, ``initial_assessment 07:30``."""
        return self._summary

    # --- scheduling ---------------------------------------------------------------------------

    def fire_time(self, day: dt.date) -> pendulum.DateTime:
        """The run's time on ``day`` (aware, in UTC as Airflow stores it)."""
        return pendulum.datetime(day.year, day.month, day.day, self._hour, self._minute,
                                 tz=self._tz).in_timezone("UTC")

    def run_days_after(self, after: dt.date, count: int = 1) -> list[dt.date]:
        """The next ``count`` run days strictly after ``after``."""
        from jobs.common import runcalendar

        return runcalendar.next_run_days(self._rule, after, count, municipality=self._municipality)

    def first_slot_at_or_after(self, moment: dt.datetime) -> pendulum.DateTime | None:
        """The first run time at or after ``moment``."""
        local = pendulum.instance(moment).in_timezone(self._tz)
        for day in self.run_days_after(local.date() - dt.timedelta(days=1), 2):
            at = self.fire_time(day)
            if at >= moment:
                return at
        later = self.run_days_after(local.date(), 1)
        return self.fire_time(later[0]) if later else None

    def infer_manual_data_interval(self, *, run_after: pendulum.DateTime) -> DataInterval:
        return DataInterval.exact(run_after)

    def next_dagrun_info(self, *, last_automated_data_interval: DataInterval | None,
                         restriction: TimeRestriction) -> DagRunInfo | None:
        bounds = []
        if last_automated_data_interval is not None:
            bounds.append(last_automated_data_interval.end + dt.timedelta(seconds=1))
        if restriction.earliest is not None:
            bounds.append(restriction.earliest)
        if not restriction.catchup:
            bounds.append(_utcnow() - self._grace)
        if not bounds:
            bounds.append(_utcnow() - self._grace)
        try:
            at = self.first_slot_at_or_after(max(bounds))
        except Exception:  # noqa: BLE001 - see the module docstring: log, schedule nothing
            log.exception("業務日程を計算できません (rule %s): 定時実行を予定しません", self._rule)
            return None
        if at is None or (restriction.latest is not None and at > restriction.latest):
            return None
        return DagRunInfo.exact(at)


class KokuhoTimetablePlugin(AirflowPlugin):
    """Registers the job nets' timetable (serialization needs it in every Airflow component)."""

    name = "kokuho_timetable"
    timetables = [KokuhoRunDayTimetable]
