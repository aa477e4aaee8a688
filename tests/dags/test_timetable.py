"""The job nets' timetable (plugins/kokuho_timetable.py): Airflow schedules each job net on its run
days only, at its time in Asia/Tokyo, so the UI's next run is the real one.

Rule by rule over year boundaries, 振替休日 and 年末年始 (the dates are those of the shipped
calendar: 土日, 国民の祝日 by jpholiday, 12/29–1/3 closed); unpausing never runs a stale slot under
today's date; every DAG's timetable serializes through Airflow and its next run days are the
days ``kokuho rundays`` prints.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "plugins") not in sys.path:  # Airflow puts [core] plugins_folder on sys.path
    sys.path.append(str(ROOT / "plugins"))

import kokuho_timetable  # noqa: E402
from airflow.timetables.base import DataInterval, TimeRestriction  # noqa: E402
from kokuho_timetable import KokuhoRunDayTimetable  # noqa: E402

from jobs import registry  # noqa: E402

TZ = "Asia/Tokyo"
START = pendulum.datetime(2026, 4, 1, tz=TZ)  # dags/_kokuho/defaults.py START_DATE
CATCHUP = TimeRestriction(earliest=START, latest=None, catchup=True)


def jst(text: str) -> pendulum.DateTime:
    return pendulum.parse(text, tz=TZ)


def timetable(jobnet_id: str) -> KokuhoRunDayTimetable:
    net = registry.JOBNETS[jobnet_id]
    return KokuhoRunDayTimetable(net.schedule, rule=net.entry.rule if net.entry else None, timezone=TZ)


def next_after(tt: KokuhoRunDayTimetable, last_run_jst: str) -> str:
    """The next scheduled run after a scheduled run at ``last_run_jst`` (catchup on: no clock)."""
    at = jst(last_run_jst)
    info = tt.next_dagrun_info(last_automated_data_interval=DataInterval(at, at), restriction=CATCHUP)
    assert info is not None
    assert info.data_interval.start == info.data_interval.end == info.run_after  # no data interval
    return info.run_after.in_timezone(TZ).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("jobnet_id, last, expected", [
    # daily job nets: every business day
    ("KB100", "2026-12-25 06:30", "2026-12-28 06:30"),   # Fri → Mon
    ("KB100", "2026-12-28 06:30", "2027-01-04 06:30"),   # 年末年始 12/29–1/3
    ("KB100", "2026-05-01 06:30", "2026-05-07 06:30"),   # 5/3–5/5 祝日, 5/6 振替休日 (憲法記念日 on Sunday)
    ("KB400", "2026-09-18 08:30", "2026-09-24 08:30"),   # 9/21 敬老の日, 9/22 国民の休日, 9/23 秋分の日
    ("KB410", "2027-03-19 09:00", "2027-03-23 09:00"),   # 3/21 春分の日 (Sun) → 3/22 振替休日
    ("KB600", "2026-12-25 12:00", "2026-12-28 12:00"),
    ("KB620", "2026-12-28 11:45", "2027-01-04 11:45"),
    # 当初賦課: once a fiscal year, by rule when no fy file (FY2027, FY2028: 7/1 Sat → 7/3 Mon)
    ("KB300", "2026-07-01 07:30", "2027-07-01 07:30"),
    ("KB300", "2027-07-01 07:30", "2028-07-03 07:30"),
    # 異動賦課: 1st and 16th, closed → next business day; not before the year's 当初賦課
    ("KB310", "2026-12-16 07:30", "2027-01-04 07:30"),   # 1/1 元日 in 年末年始
    ("KB310", "2027-03-16 07:30", "2027-07-16 07:30"),   # FY2027: after its 当初賦課 2027-07-01 only
    # 年金: KB500 5/12/20, KB510 20th backward, KB520 odd months 20th forward, KB530 1/20 forward
    ("KB500", "2026-12-21 07:00", "2027-01-05 07:00"),   # 12/20 Sun → 12/21; 1/5 Tue
    ("KB510", "2026-11-20 08:00", "2026-12-18 08:00"),   # 12/20 Sun → Fri 12/18 (backward)
    ("KB520", "2026-11-20 08:00", "2027-01-20 08:00"),   # odd months only
    ("KB530", "2027-01-20 13:00", "2028-01-20 13:00"),   # once a year
    # 催告 10th + 08-25/12-25, 月次締め first business day, 出納閉鎖 5/31 backward
    ("KB610", "2026-12-10 07:00", "2026-12-25 07:00"),
    ("KB610", "2026-12-25 07:00", "2027-01-12 07:00"),   # 1/10 Sun, 1/11 成人の日 → 1/12
    ("KB700", "2026-12-01 06:30", "2027-01-04 06:30"),
    ("KB710", "2026-05-29 06:30", "2027-05-31 06:30"),   # 2026-05-31 Sun → Fri 5/29; 2027-05-31 Mon
])
def test_next_run_rule_by_rule(jobnet_id, last, expected):
    assert next_after(timetable(jobnet_id), last) == expected


def test_first_run_with_catchup_is_the_first_run_day_from_the_start_date():
    info = timetable("KB710").next_dagrun_info(last_automated_data_interval=None, restriction=CATCHUP)
    assert info.run_after == jst("2026-05-29 06:30")
    latest = TimeRestriction(earliest=START, latest=jst("2026-05-01 00:00"), catchup=True)
    assert timetable("KB710").next_dagrun_info(last_automated_data_interval=None, restriction=latest) is None


# --- unpausing: the first run is the next real slot, never a stale one under today's date ---------


@pytest.mark.parametrize("jobnet_id, now_jst, expected", [
    ("KB300", "2026-07-02 15:00", "2027-07-01 07:30"),   # CronTrigger would run 2026-07-02 07:30 at once
    ("KB300", "2026-06-30 15:00", "2026-07-01 07:30"),
    ("KB100", "2026-07-02 15:00", "2026-07-03 06:30"),   # not today's 06:30, 8.5 h late
    ("KB100", "2026-07-04 10:00", "2026-07-06 06:30"),   # Saturday → Monday
    ("KB100", "2026-07-02 07:00", "2026-07-02 06:30"),   # 30 min late: within the grace, still today's
    ("KB100", "2026-12-29 06:35", "2027-01-04 06:30"),   # 年末年始: no slot today at all
    ("KB700", "2026-07-02 09:00", "2026-08-03 06:30"),   # 7/1's close is not run a day late
])
def test_unpause_runs_the_next_real_slot(monkeypatch, jobnet_id, now_jst, expected):
    monkeypatch.setattr(kokuho_timetable, "_utcnow", lambda: jst(now_jst).in_timezone("UTC"))
    no_catchup = TimeRestriction(earliest=START, latest=None, catchup=False)
    info = timetable(jobnet_id).next_dagrun_info(last_automated_data_interval=None, restriction=no_catchup)
    assert info.run_after.in_timezone(TZ).strftime("%Y-%m-%d %H:%M") == expected


def test_unpause_after_a_long_pause_skips_the_missed_slots(monkeypatch):
    """Paused since 2026-09-01's run, unpaused on 2026-10-07 at noon: the next run is tomorrow's,
    not 2026-09-02 (the slot after the last run) nor today's 06:30."""
    monkeypatch.setattr(kokuho_timetable, "_utcnow", lambda: jst("2026-10-07 12:00").in_timezone("UTC"))
    at = jst("2026-09-01 06:30")
    info = timetable("KB100").next_dagrun_info(
        last_automated_data_interval=DataInterval(at, at),
        restriction=TimeRestriction(earliest=START, latest=None, catchup=False))
    assert info.run_after == jst("2026-10-08 06:30")


def test_manual_runs_have_an_exact_interval_at_their_time():
    at = jst("2026-07-04 10:00")  # a Saturday: a manual run goes on any day
    assert timetable("KB300").infer_manual_data_interval(run_after=at) == DataInterval(at, at)


def test_a_broken_rule_schedules_nothing_and_does_not_raise(caplog):
    tt = KokuhoRunDayTimetable("30 6 * * 1-5", rule="no_such_rule")
    assert tt.next_dagrun_info(last_automated_data_interval=None, restriction=CATCHUP) is None
    assert "業務日程を計算できません" in caplog.text


@pytest.mark.parametrize("cron", ["*/5 6 * * 1-5", "30 6 1 * *", "30 6,12 * * *", "30 25 * * *"])
def test_only_one_time_a_day_crons(cron):
    with pytest.raises(ValueError):
        KokuhoRunDayTimetable(cron)


# --- every DAG: serialized through Airflow, next run days = `kokuho rundays` ----------------------


def _rundays(rule: str, start: dt.date, end: dt.date) -> list[str]:
    """The days ``kokuho rundays RULE --from START --to END`` prints (in-process)."""
    import contextlib
    import io

    from jobs.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["rundays", rule, "--from", start.isoformat(), "--to", end.isoformat()]) == 0
    return [line.split()[0] for line in out.getvalue().splitlines() if line.strip()]


SCHEDULED = sorted(n.jobnet_id for n in registry.JOBNETS.values() if n.schedule)


@pytest.mark.parametrize("jobnet_id", SCHEDULED)
def test_every_dag_timetable_serializes_and_matches_rundays(dagbag, jobnet_id):
    from airflow.serialization.serialized_objects import DagSerialization

    net = registry.JOBNETS[jobnet_id]
    dag = dagbag.get_dag(net.dag_id)
    assert f"{type(dag.timetable).__module__}.{type(dag.timetable).__name__}" == \
        "kokuho_timetable.KokuhoRunDayTimetable"  # by name: the plugin loader may hold its own copy
    round_trip = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable
    assert type(round_trip).__name__ == "KokuhoRunDayTimetable"
    assert round_trip.serialize() == dag.timetable.serialize()
    assert round_trip.summary == dag.timetable.summary
    assert round_trip.summary.endswith(kokuho_timetable.time_of_cron(net.schedule))

    # Chain the scheduled runs over FY2026's last quarter and FY2027's first (year boundary,
    # 年末年始, Golden Week, the first FY without a fy folder) and compare with `kokuho rundays`.
    start, end = dt.date(2026, 12, 1), dt.date(2027, 7, 31)
    if jobnet_id in ("KB300", "KB530", "KB710"):  # yearly: a longer span
        start, end = dt.date(2026, 4, 1), dt.date(2028, 7, 31)
    restriction = TimeRestriction(earliest=jst(f"{start} 00:00"), latest=jst(f"{end} 23:59"), catchup=True)
    got, last = [], None
    while (info := round_trip.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)):
        local = info.run_after.in_timezone(TZ)
        assert local.strftime("%H:%M") == kokuho_timetable.time_of_cron(net.schedule)
        got.append(local.date().isoformat())
        last = info.data_interval
    rule = net.entry.rule if net.entry and net.entry.rule else "business_day"
    assert got == _rundays(rule, start, end)
    assert got, jobnet_id


# --- property: after an unpause at any moment, the first run is the first slot not yet stale ------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(jobnet_id=st.sampled_from(["KB100", "KB310", "KB700"]),
       minutes=st.integers(min_value=0, max_value=3 * 366 * 24 * 60))
def test_unpause_property(monkeypatch, jobnet_id, minutes):
    from jobs.common import runcalendar

    now = jst("2026-04-01 00:00").add(minutes=minutes)
    monkeypatch.setattr(kokuho_timetable, "_utcnow", lambda: now.in_timezone("UTC"))
    tt = timetable(jobnet_id)
    info = tt.next_dagrun_info(last_automated_data_interval=None,
                               restriction=TimeRestriction(earliest=START, latest=None, catchup=False))
    run = info.run_after.in_timezone(TZ)
    grace = pendulum.duration(minutes=kokuho_timetable.DEFAULT_GRACE_MINUTES)
    assert run >= now - grace                                             # never a stale slot
    assert run.strftime("%H:%M") == kokuho_timetable.time_of_cron(registry.JOBNETS[jobnet_id].schedule)
    days = runcalendar.run_days(tt.rule, (now - grace).date(), run.date())
    assert run.date() in days                                             # a real run day
    assert [d for d in days if now - grace <= tt.fire_time(d) < run] == []  # and the first one
