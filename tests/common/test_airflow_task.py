"""The Airflow wrapper without Airflow running: business date, parameters, RC → task outcome."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pytest

from jobs import airflow_task as at
from jobs import registry
from jobs.common.jobspec import JobSpec
from jobs.common.step import StepError

UTC = dt.timezone.utc


def test_param_wins():
    assert at.resolve_business_date({"business_date": "2026-06-15"},
                                    dt.datetime(2026, 7, 1, tzinfo=UTC), dt.datetime(2026, 7, 1, tzinfo=UTC)) \
        == dt.date(2026, 6, 15)
    assert at.resolve_business_date({"business_date": dt.date(2026, 6, 15)}) == dt.date(2026, 6, 15)


def test_scheduled_run_uses_data_interval_start_in_tokyo():
    # CronTriggerTimetable "30 6 * * 1-5" Asia/Tokyo on 2026-06-15 fires at 21:30Z on 06-14:
    fire = dt.datetime(2026, 6, 14, 21, 30, tzinfo=UTC)
    assert at.resolve_business_date({"business_date": None}, fire, fire) == dt.date(2026, 6, 15)


def test_manual_run_without_logical_date_uses_run_after():
    run_after = dt.datetime(2026, 6, 15, 16, 0, tzinfo=UTC)  # 01:00 JST on 06-16
    assert at.resolve_business_date({}, run_after, None) == dt.date(2026, 6, 16)
    assert at.resolve_business_date(None, dt.datetime(2026, 6, 15, 14, 59), None) == dt.date(2026, 6, 15)  # naive = UTC


def test_nothing_to_go_on():
    with pytest.raises(ValueError, match="業務日"):
        at.resolve_business_date({}, None, None)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        at.resolve_business_date({"business_date": "2026-13-45"})


class ManualContext(dict):
    """Like Airflow's context on a run with a null logical date: date keys raise KeyError."""

    def get(self, key, default=None):
        if key in ("ds", "logical_date", "data_interval_start", "data_interval_end"):
            raise KeyError(key)
        return super().get(key, default)


def test_whole_context_can_be_passed():
    ctx = ManualContext(params={"business_date": None},
                        dag_run=SimpleNamespace(run_after=dt.datetime(2026, 12, 28, 1, 0, tzinfo=UTC)))
    assert at.resolve_business_date(ctx) == dt.date(2026, 12, 28)
    assert at.context_inputs(ctx) == ({"business_date": None}, dt.datetime(2026, 12, 28, 1, 0, tzinfo=UTC), None)


def test_run_parameters_defaults_and_overrides():
    ctx = {"params": {}, "dag_run": SimpleNamespace(run_after=dt.datetime(2027, 3, 31, 23, 0, tzinfo=UTC)),
           "data_interval_start": None}
    assert at.run_parameters(ctx) == {"business_date": dt.date(2027, 4, 1), "fy": 2027, "municipality": "111007"}
    ctx["params"] = {"business_date": "2027-04-01", "fiscal_year": 2026, "municipality": "111007"}
    assert at.run_parameters(ctx)["fy"] == 2026  # 出納整理期間: the operator names the old year


@pytest.mark.parametrize("rc, outcome", [(0, "success"), (4, "warning"), (7, "warning"), (8, "fail"),
                                         (12, "fail"), (16, "fail")])
def test_rc_outcome(rc, outcome):
    assert at.rc_outcome(rc) == outcome


@pytest.fixture
def fake_job(monkeypatch):
    behaviour = {}

    def step(ctx):
        ctx.totals.count("data", read=2, accepted=2 - behaviour.get("rejected", 0),
                         rejected=behaviour.get("rejected", 0))
        if behaviour.get("rejected"):
            import polars as pl
            ctx.reject(pl.DataFrame({"record_no": [1], "reason": ["x"]}))
        if behaviour.get("fail"):
            raise StepError("ファイル受付不可")

    monkeypatch.setitem(registry.JOBS, "ZZ900", JobSpec("ZZ900", "テスト", step))
    return behaviour


def context(date="2026-06-15"):
    return {"params": {"business_date": date}, "dag_run": SimpleNamespace(run_after=None)}


def test_execute_job_returns_totals(fake_job):
    out = at.execute_job("ZZ900", **context())
    assert out["rc"] == 0 and out["read"] == 2 and out["business_date"] == "2026-06-15"
    assert out["generation"] == "m111007_fy2026_d20260615"


def test_execute_job_warns_on_rc4(fake_job, caplog):
    fake_job["rejected"] = 1
    with caplog.at_level(logging.WARNING, logger="kokuho.airflow"):
        out = at.execute_job("ZZ900", **context())
    assert out["rc"] == 4 and out["status"] == "warning"
    banner = [r for r in caplog.records if r.name == "kokuho.airflow" and r.levelno == logging.WARNING]
    assert banner and "警告終了 RC=0004 ZZ900" in banner[0].getMessage()
    assert "エラーリスト" in banner[0].getMessage()


def test_execute_job_fails_on_rc8(fake_job):
    from airflow.sdk.exceptions import AirflowFailException

    fake_job["fail"] = True
    with pytest.raises(AirflowFailException, match="RC=0008.*ファイル受付不可"):
        at.execute_job("ZZ900", **context())


def test_execute_job_fails_on_bad_parameters(fake_job):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="パラメータ不正"):
        at.execute_job("ZZ900", **context("2026-02-30"))
    with pytest.raises(AirflowFailException, match="999999"):
        at.execute_job("ZZ900", params={"business_date": "2026-06-15", "municipality": "999999"})


def test_module_does_not_import_airflow():
    import subprocess
    import sys

    code = "import sys, jobs.airflow_task; print('airflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(__import__('pathlib').Path(__file__).resolve().parents[2])})
    assert out.stdout.strip() == "False"


# --- who ran it: the operator (操作者ID) and the run id (処理事由) -----------------------------------


@pytest.mark.parametrize("dag_run, expected", [
    (SimpleNamespace(run_id="manual__1", triggering_user_name="unyo01", run_type="manual", conf={}),
     ("unyo01", "manual__1")),
    (SimpleNamespace(run_id="scheduled__2", triggering_user_name=None, run_type="scheduled", conf={}),
     ("scheduler", "scheduled__2")),
    (SimpleNamespace(run_id="manual__3", triggering_user_name=None, run_type=SimpleNamespace(value="manual"),
                     conf={"operator": "tanaka"}), ("tanaka", "manual__3")),
    # the conf never overrides the user Airflow authenticated
    (SimpleNamespace(run_id="manual__4", triggering_user_name="unyo01", run_type="manual",
                     conf={"operator": "someone_else"}), ("unyo01", "manual__4")),
    # `airflow dags test` (make demo) names no person: its placeholder user gives way to the conf
    (SimpleNamespace(run_id="manual__6", triggering_user_name="dag_test", run_type="manual",
                     conf={"operator": "tanaka"}), ("tanaka", "manual__6")),
])
def test_run_operator(dag_run, expected):
    assert at.run_operator({"dag_run": dag_run}) == expected


def test_run_operator_without_a_user_is_the_login(monkeypatch):
    monkeypatch.setenv("USER", "batchuser")
    monkeypatch.setenv("LOGNAME", "batchuser")
    dag_run = SimpleNamespace(run_id="manual__5", triggering_user_name=None, run_type="manual", conf=None)
    assert at.run_operator({"dag_run": dag_run}) == ("batchuser", "manual__5")


def test_execute_job_runs_the_step_as_the_triggering_user(fake_job, monkeypatch):
    from jobs.common.operator import current_operator
    from jobs.ledger import audit_columns

    seen = {}
    original = registry.JOBS["ZZ900"].func

    def step(ctx):
        seen["op"] = current_operator()
        import polars as pl
        seen["row"] = pl.DataFrame({"x": [1]}).select(*audit_columns(ctx.job_id)).row(0, named=True)
        return original(ctx)

    monkeypatch.setitem(registry.JOBS, "ZZ900", JobSpec("ZZ900", "テスト", step))
    dag_run = SimpleNamespace(run_after=None, run_id="manual__2026-06-15T01:00:00+00:00",
                              triggering_user_name="unyo01", run_type="manual", conf={})
    at.execute_job("ZZ900", params={"business_date": "2026-06-15"}, dag_run=dag_run)
    assert seen["op"].operator_id == "unyo01"
    assert seen["row"]["operator_id"] == "unyo01"
    assert seen["row"]["operation_reason"] == "ZZ900 manual__2026-06-15T01:00:00+00:00"
    assert current_operator().run_id == ""  # the scope ends with the step
