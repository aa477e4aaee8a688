"""The year's figures and report of ``make demo-year`` (jobs/demo_year/driver.py) without Airflow: the
conservation from a ledger with closing.compute (the synthetic multi-year ledger of
tests/closing/test_year_close.py), the payments by channel (sql/demo_year/payments_by_channel.sql), the
headline counts from the runs' control totals, and the markdown report."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[1]
for _p in (_TESTS / "collection", _TESTS / "closing"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from jobs.demo_year import driver  # noqa: E402


class _Year:
    municipality = "111007"
    fy = 2026

    def __init__(self, runs):
        self.runs = runs


def _run(jobnet_id, steps, state="success"):
    return driver.RunRecord("2026-08-20", jobnet_id, "dag", f"year_{jobnet_id}", "why", state, 12.5,
                            {t.lower(): "success" for t in steps} | {"check": "skipped"}, steps,
                            {t.lower(): 2.0 for t in steps})


def test_figures_and_report_from_the_ledger_and_the_runs(kokuho_var):
    from closing_helpers import book
    from test_year_close import seed

    with book() as b:
        seed(b)
    runs = [_run("KB600", {"TN020": {"rc": 0, "written": 3}, "TN030": {"rc": 0, "written": 1}}),
            _run("KB600", {"TN020": {"rc": 0, "written": 2}}),
            _run("KB410", {"SN120": {"rc": 0, "written": 5, "money": {"request_amount": 12000}}})]
    year = _Year(runs)
    fig = driver.figures(year, dt.date(2027, 5, 31))
    c = fig["conservation"]
    assert c["holds"] and c["difference"] == 0
    assert c["levy"] - c["income"] + c["refund"] - c["write_off"] == c["unpaid"] == c["lhs"]
    assert c["levy"] > 0 and c["income"] > 0
    heads = fig["headlines"]
    assert heads["督促状"] == 5 and heads["延滞金調定 (件)"] == 1 and heads["口座振替請求額 (円)"] == 12000
    assert heads["収納 (件)"] == sum(v["n"] for v in fig["payments_by_channel"].values()) > 0
    assert all(r.ok and r.step_seconds == 2.0 * len(r.steps) for r in runs)

    meta = {"municipality": "111007", "fy": 2026, "insured": 200, "seed": 1, "first_day": "2026-06-01",
            "last_day": "2027-05-31", "wall_seconds": 100.0, "start_seconds": 10.0, "synth_seconds": 5.0,
            "runs_seconds": 80.0, "cpu_seconds": 50.0, "load": "1.0 → 2.0 (1 min)", "machine": "m"}
    md = driver.report_md(meta, year, fig)
    assert "円単位で一致" in md and "| KB600 | 2 | 2 |" in md and md.count("| 2026-08-20 |") == 3


def test_a_failed_run_is_not_ok():
    bad = _run("KB400", {"SN205": {"rc": 16}}, state="failed")
    assert not bad.ok and bad.rc == 16
    skipped_only = driver.RunRecord("d", "KB500", "dag", "r", "why", "success", 1.0, {"a": "skipped"}, {})
    assert skipped_only.ok and skipped_only.rc == 0


def test_main_gives_the_environment_and_the_term_handler_back(tmp_path, monkeypatch):
    """The driver points this process at the demo Airflow's folders (KOKUHO_HOME, KOKUHO_VAR, KOKUHO_SECRETS_DIR)
    and sets a TERM handler while the year runs; afterwards both are as they were, also when the year fails.
    (tests/live/test_live_year.py calls main() inside pytest: the tests after it once found KOKUHO_HOME
    pointing at the deleted demo home — 198 failures and errors in CI.)"""
    import os
    import signal

    from jobs.demo_year import driver

    class FailingAirflow:
        def __init__(self, base, **_kw):
            self.env = {n: str(base / n.lower()) for n in driver.POINTED_ENV}
            self.url, self.logs = "http://127.0.0.1:9", base / "logs"

        def start(self):
            raise RuntimeError("no Airflow in this test")

        def stop(self):
            pass

        def dump_logs(self, _dest):
            return None

    monkeypatch.setattr(driver, "LiveAirflow", FailingAirflow)
    monkeypatch.setenv("KOKUHO_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("KOKUHO_SECRETS_DIR", raising=False)
    before = {n: os.environ.get(n) for n in driver.POINTED_ENV}
    term = signal.getsignal(signal.SIGTERM)
    assert driver.main(["--fiscal-year", "2026", "--until", "2026-06-02", "--out", str(tmp_path / "demo-year")]) == 1
    assert {n: os.environ.get(n) for n in driver.POINTED_ENV} == before
    assert signal.getsignal(signal.SIGTERM) is term


def test_the_time_budget_stops_the_year_at_a_day_boundary_and_the_report_says_so(monkeypatch):
    """``--time-budget``: no new day starts after the deadline (a day's runs are never cut in half); the days
    walked are run, the rest are named in the report."""
    import time
    from types import SimpleNamespace

    from jobs.demo_year import plan as yp

    days = [yp.Day(dt.date(2025, 6, 2), [yp.Run("KB100", "a")]), yp.Day(dt.date(2025, 7, 1), [yp.Run("KB300", "b")]),
            yp.Day(dt.date(2025, 7, 18), [yp.Run("KB510", "c")])]
    live = SimpleNamespace(api=None, var=Path("/nonexistent"))
    year = driver.Year(live, municipality="111007", fy=2025, seed=1, log=lambda _s: None)
    clock = iter([0.0, 5.0, 50.0])
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    ran = []
    monkeypatch.setattr(year, "run", lambda d, r: ran.append((d, r.jobnet_id)) or _run(r.jobnet_id, {}))
    year.walk(days, deadline=10.0)
    assert ran == [(dt.date(2025, 6, 2), "KB100"), (dt.date(2025, 7, 1), "KB300")]
    assert year.stopped_before == dt.date(2025, 7, 18) and year.last_day == dt.date(2025, 7, 1)
    meta = {"municipality": "111007", "fy": 2025, "insured": 200, "seed": 1, "first_day": "2025-06-02",
            "last_day": "2025-07-01", "planned_last_day": "2026-05-29", "stopped_before": "2025-07-18",
            "wall_seconds": 100.0, "start_seconds": 10.0, "synth_seconds": 5.0, "runs_seconds": 80.0,
            "cpu_seconds": 50.0, "load": "1.0 → 2.0 (1 min)", "machine": "m"}
    md = driver.report_md(meta, year, None)
    assert "時間予算 (--time-budget) で停止**: 2025-07-18 以降 (計画の最終日 2026-05-29 まで)" in md
    year2 = driver.Year(live, municipality="111007", fy=2025, seed=1, log=lambda _s: None)
    monkeypatch.setattr(year2, "run", lambda d, r: _run(r.jobnet_id, {}))
    year2.walk(days)                       # no budget: every day
    assert year2.stopped_before is None and year2.last_day == dt.date(2025, 7, 18)


def test_a_task_still_running_counts_its_time_so_far():
    import datetime as _dt

    start = (_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    assert 89 <= driver._task_seconds({"state": "running", "start_date": start, "duration": None}) < 200
    assert driver._task_seconds({"state": "success", "duration": 12.5}) == 12.5
    assert driver._task_seconds({"state": None, "duration": None}) == 0.0


def test_a_run_cut_short_by_term_or_its_timeout_is_recorded_with_its_tasks_so_far():
    """TERM while a run is waited for (make interrupted, a deadline): the run goes into the report as
    'interrupted' with its tasks' states and times, then the TERM goes on; past --run-timeout: 'timeout'."""
    from types import SimpleNamespace

    import pytest

    from jobs.airflow_live import LiveAirflowError
    from jobs.demo_year import plan as yp

    class Api:
        def __init__(self, exc):
            self.exc = exc

        def wait_for_dag(self, _d):
            pass

        def unpause(self, _d):
            pass

        def trigger(self, *_a):
            pass

        def wait_run(self, *_a, **_kw):
            raise self.exc

        def task_instances(self, *_a):
            return {"fk110": {"state": "success", "duration": 4.0}, "fk150": {"state": "running", "duration": None}}

        def xcom(self, *_a):
            return {"rc": 0, "written": 7}

    live = SimpleNamespace(api=Api(SystemExit(143)), var=Path("/nonexistent"))
    year = driver.Year(live, municipality="111007", fy=2025, seed=1, log=lambda _s: None)
    with pytest.raises(SystemExit):
        year.run(dt.date(2025, 7, 1), yp.Run("KB300", "当初賦課日"))
    (rec,) = year.runs
    assert rec.state == "interrupted" and not rec.ok and rec.task_states == {"fk110": "success", "fk150": "running"}
    assert rec.steps == {"FK110": {"rc": 0, "written": 7, "warnings": []}} and rec.task_seconds["fk110"] == 4.0
    live = SimpleNamespace(api=Api(LiveAirflowError("still running")), var=Path("/nonexistent"))
    year = driver.Year(live, municipality="111007", fy=2025, seed=1, log=lambda _s: None, run_timeout=0)
    assert year.run(dt.date(2025, 7, 1), yp.Run("KB300", "当初賦課日")).state == "timeout"
    year = driver.Year(live, municipality="111007", fy=2025, seed=1, log=lambda _s: None, run_timeout=3600)
    with pytest.raises(LiveAirflowError):      # an API error before the timeout is an error, not a timeout
        year.run(dt.date(2025, 7, 1), yp.Run("KB300", "当初賦課日"))


def test_out_is_made_absolute_and_only_a_previous_years_folder_is_emptied(tmp_path, monkeypatch):
    import pytest

    monkeypatch.chdir(tmp_path)
    got = driver.prepare_out(Path("rel/year"))
    assert got == tmp_path / "rel" / "year" and got.is_absolute() and got.is_dir()
    assert oct(got.stat().st_mode & 0o777) == oct(0o700)
    # a previous year's folder is emptied
    (got / "year_report.json").write_text("{}")
    (got / "run").mkdir()
    (got / "run" / "x").write_text("x")
    again = driver.prepare_out(Path("rel/year"))
    assert again == got and list(again.iterdir()) == []
    # a folder with someone's files is refused and kept as it was
    other = tmp_path / "docs"
    other.mkdir()
    (other / "keep.txt").write_text("precious")
    with pytest.raises(SystemExit, match="refused, nothing deleted"):
        driver.prepare_out(other)
    assert (other / "keep.txt").read_text() == "precious"
    # a file is refused
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(SystemExit, match="is a file"):
        driver.prepare_out(f)
    assert f.read_text() == "x"
