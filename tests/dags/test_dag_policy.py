"""DAG integrity and policy: what every kokuho DAG must satisfy before it reaches a scheduler.

- every file in dags/ imports without error, quickly, and without importing the job code;
- every DAG has a mainframe-style id and a Japanese display name (``KB100 取込ジョブネット``),
  and so has every task (``FK020 国保資格取込``), matching jobs.registry where it is a job step;
- tags only from dags/_kokuho/tags.py, owner, retries, catchup off, one active run;
- a scheduled DAG uses an explicit CronTriggerTimetable in Asia/Tokyo;
- parsing runs no DB query and looks up no Connection or Variable (Airflow's own example-DAG
  test does the same), so the DAG processor never blocks on a database or a secrets backend.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py"))
EXPECTED_DAGS = {"kokuho_intake", "kokuho_bank_result", "kokuho_initial_assessment", "kokuho_reassessment",
                 "kokuho_collection", "kokuho_direct_debit"}

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
DAG_DISPLAY = re.compile(r"^KB\d{3} \S")
TASK_DISPLAY = re.compile(r"^(?P<id>[A-Z]{2}\d{3})(?:-[A-Z]+)? \S")
#: Heavy libraries the job steps use; a DAG file that imports them at parse time is too fat.
HEAVY_MODULES = {"polars", "duckdb", "pyarrow", "pandas", "numpy", "reportlab", "jobs"}
MAX_PARSE_SECONDS = 2.0


def _dags(dagbag):
    return [dagbag.dags[d] for d in sorted(dagbag.dag_ids)]


def test_dag_files_exist():
    assert {p.stem for p in DAG_FILES} >= EXPECTED_DAGS, "one DAG per file, file name = dag_id"


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags_loaded(dagbag):
    assert set(dagbag.dag_ids) == EXPECTED_DAGS


def test_one_dag_per_file_named_after_it(dagbag):
    for dag in _dags(dagbag):
        assert Path(dag.fileloc).stem == dag.dag_id


def test_parse_is_fast_and_light(parse_report):
    for name, info in parse_report["files"].items():
        assert info["import_errors"] == {}, name
        assert info["seconds"] < MAX_PARSE_SECONDS, f"{name} took {info['seconds']:.2f}s to parse"
    heavy = HEAVY_MODULES & set(parse_report["new_top_level_modules"])
    assert not heavy, f"DAG files import {sorted(heavy)} at parse time: import inside the task instead"


def test_helpers_are_not_parsed_as_dags(parse_report):
    assert not any(n.startswith("_") for n in parse_report["files"])  # glob("*.py") at top level only
    from airflow.utils.file import list_py_file_paths

    listed = {Path(p).relative_to(DAGS_FOLDER).as_posix() for p in list_py_file_paths(str(DAGS_FOLDER))}
    assert not {p for p in listed if p.startswith("_kokuho/")}, ".airflowignore must exclude _kokuho/"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dag_policy(dagbag, dag_id):
    from _kokuho.defaults import TIMEZONE
    from _kokuho.tags import ALLOWED_TAGS, Tag

    dag = dagbag.get_dag(dag_id)
    assert DAG_DISPLAY.match(dag.dag_display_name) and JAPANESE.search(dag.dag_display_name), dag.dag_display_name
    assert dag.tags and set(dag.tags) <= ALLOWED_TAGS, f"tags not in the allow-list: {set(dag.tags) - ALLOWED_TAGS}"
    assert Tag.KOKUHO in dag.tags
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.doc_md and dag.description
    assert {"business_date", "fiscal_year", "municipality"} <= set(dag.params.keys())

    if dag.timetable.__class__.__name__ != "NullTimetable":
        from airflow.sdk import CronTriggerTimetable

        assert isinstance(dag.timetable, CronTriggerTimetable), type(dag.timetable)
        tz = dag.timetable.timezone
        assert getattr(tz, "name", tz) == TIMEZONE


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_task_policy(dagbag, dag_id):
    from _kokuho.defaults import OWNER
    from airflow.sdk import BaseSensorOperator

    dag = dagbag.get_dag(dag_id)
    for task in dag.tasks:
        name = task.task_display_name
        assert TASK_DISPLAY.match(name) and JAPANESE.search(name), f"{task.task_id}: {name!r}"
        assert task.owner == OWNER, task.task_id
        if not isinstance(task, BaseSensorOperator):  # a sensor's wait is its own timeout
            assert task.retries >= 1 and task.retry_delay.total_seconds() > 0, task.task_id


def test_job_tasks_match_registry(dagbag):
    """A job task is named as jobs.registry names the step: ``fk020`` / ``FK020 国保資格取込``."""
    registry = pytest.importorskip("jobs.registry", reason="jobs.registry not written yet")
    for dag in _dags(dagbag):
        for task in dag.tasks:
            job_id = task.task_id.upper()
            if job_id in registry.JOBS:
                spec = registry.JOBS[job_id]
                assert task.task_display_name == f"{spec.job_id} {spec.name_ja}"


def test_intake_structure(dagbag):
    dag = dagbag.get_dag("kokuho_intake")
    down = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    assert down == {
        "check_business_day": {"fk020"},
        "fk020": {"fk010", "fk030"},
        "fk010": {"control_totals"},
        "fk030": {"control_totals"},
        "control_totals": set(),
    }
    assert "sn010" not in dag.task_dict, "SN010 口座振替依頼書取込 belongs to KB410 (kokuho_direct_debit)"


def test_initial_assessment_structure(dagbag):
    dag = dagbag.get_dag("kokuho_initial_assessment")
    down = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    assert down == {
        "check_run_day": {"fk110"},
        "fk110": {"fk120"},
        "fk120": {"fk130"},
        "fk130": {"fk140", "fk150"},
        "fk140": {"control_totals"},
        "fk150": {"control_totals"},
        "control_totals": set(),
    }
    check = dag.get_task("check_run_day")
    assert check.task_display_name == "KB300-CAL 当初賦課日判定"
    assert check.op_kwargs == {"rule": "initial_assessment"}
    assert dag.get_task("control_totals").op_kwargs["job_task_ids"] == ["fk110", "fk120", "fk130", "fk140", "fk150"]


def test_reassessment_structure(dagbag):
    dag = dagbag.get_dag("kokuho_reassessment")
    down = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    assert down == {
        "check_run_day": {"fk210"},
        "fk210": {"fk220", "fk230"},
        "fk220": {"control_totals"},
        "fk230": {"control_totals"},
        "control_totals": set(),
    }
    check = dag.get_task("check_run_day")
    assert check.task_display_name == "KB310-CAL 異動賦課日判定"
    assert check.op_kwargs == {"rule": "reassessment"}


@pytest.mark.parametrize("dag_id", ["kokuho_initial_assessment", "kokuho_reassessment"])
def test_assessment_job_nets_run_on_business_mornings(dagbag, dag_id):
    """Scheduled like KB100 (weekday mornings in Asia/Tokyo, after it); the run days are data in
    config/ (the -CAL task), so the cron holds no date."""
    from _kokuho.defaults import ASSESSMENT_MORNING_CRON, BUSINESS_MORNING_CRON

    dag = dagbag.get_dag(dag_id)
    assert dag.timetable.expression == ASSESSMENT_MORNING_CRON
    minute, hour, dom, month, dow = ASSESSMENT_MORNING_CRON.split()
    assert (dom, month, dow) == ("*", "*", BUSINESS_MORNING_CRON.split()[4])  # no day or month in the cron
    assert (int(hour), int(minute)) > tuple(int(x) for x in BUSINESS_MORNING_CRON.split()[1::-1])  # after KB100
    runcalendar = pytest.importorskip("jobs.common.runcalendar")
    rule = dag.get_task("check_run_day").op_kwargs["rule"]
    assert rule in runcalendar.RULES


def test_dag_files_hold_no_dates():
    """No date literal in a DAG file's code (START_DATE lives in _kokuho/defaults.py): run days are config."""
    date_like = re.compile(r"\b20\d{2}[-/]\d{1,2}[-/]\d{1,2}\b|datetime\(|date\(")
    for path in DAG_FILES:
        code = path.read_text(encoding="utf-8").split('"""', 2)[-1]  # after the module docstring
        assert not date_like.search(code), f"{path.name}: a date in the DAG code"


def test_bank_result_structure(dagbag):
    dag = dagbag.get_dag("kokuho_bank_result")
    assert dag.timetable.__class__.__name__ == "NullTimetable"  # manual trigger only
    down = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    assert down == {
        "wait_bank_result": {"sn110"},
        "sn110": {"sn115"},
        "sn115": {"sn130"},
        "sn130": {"control_totals"},
        "control_totals": set(),
    }
    wait = dag.get_task("wait_bank_result")
    assert wait.deferrable is True and wait.fs_conn_id == "kokuho_inbox"
    assert wait.soft_fail is False and wait.timeout == 24 * 3600  # a missing bank file fails, visibly
    registry = pytest.importorskip("jobs.registry", reason="jobs.registry not written yet")
    assert wait.filepath == f"{registry.JOBS['SN110'].inbox}/*", "the sensor must watch SN110's inbox"
    assert dag.get_task("control_totals").op_kwargs["job_task_ids"] == ["sn110", "sn115", "sn130"]


def test_collection_structure(dagbag):
    dag = dagbag.get_dag("kokuho_collection")
    down = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    assert down == {
        "check_business_day": {"sn100"},
        "sn100": {"wait_counter_file", "wait_cvs_file", "sn235"},
        "wait_counter_file": {"sn200"},
        "sn200": {"sn205"},
        "sn205": {"sn410"},
        "wait_cvs_file": {"sn210"},
        "sn210": {"sn215"},
        "sn215": {"sn410"},
        "sn235": {"sn410"},
        "sn410": {"sn300"},
        "sn300": {"sn400"},
        "sn400": {"control_totals"},
        "control_totals": set(),
    }
    assert dag.get_task("check_business_day").task_display_name == "KB400-CAL 開庁日判定"
    # after the channels: run when a channel was skipped (no file that day), not when one failed
    for task_id in ("sn410", "sn300", "sn400"):
        assert dag.get_task(task_id).trigger_rule == "none_failed", task_id
    for task_id in ("sn200", "sn205", "sn210", "sn215", "sn235", "control_totals"):
        assert dag.get_task(task_id).trigger_rule == "all_success", task_id
    assert dag.get_task("control_totals").op_kwargs["job_task_ids"] == [
        "sn100", "sn200", "sn205", "sn210", "sn215", "sn235", "sn410", "sn300", "sn400"]


def test_direct_debit_structure(dagbag):
    dag = dagbag.get_dag("kokuho_direct_debit")
    down = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    assert down == {
        "check_business_day": {"wait_mandate_file"},
        "wait_mandate_file": {"sn010"},
        "sn010": {"sn020"},
        "sn020": {"sn120"},
        "sn120": {"control_totals"},
        "control_totals": set(),
    }
    assert dag.get_task("sn020").trigger_rule == "none_failed"  # registers also on a day without a file
    assert dag.get_task("control_totals").op_kwargs["job_task_ids"] == ["sn010", "sn020", "sn120"]


@pytest.mark.parametrize(("dag_id", "task_id", "job_id", "soft_fail", "max_hours"), [
    ("kokuho_collection", "wait_counter_file", "SN200", True, 6),
    ("kokuho_collection", "wait_cvs_file", "SN210", True, 6),
    ("kokuho_direct_debit", "wait_mandate_file", "SN010", True, 1),
])
def test_file_waits_are_bounded_and_skip_when_no_file(dagbag, dag_id, task_id, job_id, soft_fail, max_hours):
    """A channel's file that does not come that day skips its steps (soft_fail) after a bounded
    wait; the sensor watches the inbox of the intake step after it."""
    from _kokuho.defaults import PAYMENT_FILE_WAIT, PAYMENT_FILE_WAIT_ENV

    wait = dagbag.get_dag(dag_id).get_task(task_id)
    assert wait.deferrable is True and wait.fs_conn_id == "kokuho_inbox"
    assert wait.soft_fail is soft_fail and wait.retries == 0
    assert 0 < wait.timeout <= max_hours * 3600
    assert wait.execution_timeout.total_seconds() > wait.timeout  # the wait is never cut short
    assert wait.downstream_task_ids == {job_id.lower()}
    registry = pytest.importorskip("jobs.registry", reason="jobs.registry not written yet")
    assert wait.filepath == f"{registry.JOBS[job_id].inbox}/*"
    if dag_id == "kokuho_collection":
        assert PAYMENT_FILE_WAIT_ENV.startswith("KOKUHO_") and wait.timeout == PAYMENT_FILE_WAIT.total_seconds()


def test_file_wait_is_configurable(monkeypatch):
    from datetime import timedelta

    from _kokuho.defaults import PAYMENT_FILE_WAIT_ENV, file_wait

    monkeypatch.delenv(PAYMENT_FILE_WAIT_ENV, raising=False)
    assert file_wait(PAYMENT_FILE_WAIT_ENV, timedelta(hours=3)) == timedelta(hours=3)
    monkeypatch.setenv(PAYMENT_FILE_WAIT_ENV, "90")
    assert file_wait(PAYMENT_FILE_WAIT_ENV, timedelta(hours=3)) == timedelta(minutes=90)


def test_ledger_steps_run_in_the_ledger_pool(dagbag):
    """Every step that writes the 収納台帳 is in the one-slot pool (DuckDB: one writer at a time,
    across job nets); file intake and waits are not."""
    from _kokuho.defaults import LEDGER_POOL

    ledger_steps = {"SN020", "SN100", "SN115", "SN120", "SN130", "SN205", "SN215", "SN235", "SN300", "SN400", "SN410"}
    seen = set()
    for dag in _dags(dagbag):
        for task in dag.tasks:
            job_id = task.task_id.upper()
            if job_id in ledger_steps:
                seen.add(job_id)
                assert task.pool == LEDGER_POOL, f"{dag.dag_id}.{task.task_id}"
            else:
                assert task.pool != LEDGER_POOL, f"{dag.dag_id}.{task.task_id}"
    assert seen == ledger_steps


@pytest.mark.parametrize("dag_id", ["kokuho_collection", "kokuho_direct_debit"])
def test_collection_job_nets_run_on_business_mornings_after_the_intake(dagbag, dag_id):
    from _kokuho.defaults import ASSESSMENT_MORNING_CRON, BUSINESS_MORNING_CRON

    dag = dagbag.get_dag(dag_id)
    minute, hour, dom, month, dow = dag.timetable.expression.split()
    assert (dom, month, dow) == ("*", "*", BUSINESS_MORNING_CRON.split()[4])
    after = tuple(int(x) for x in ASSESSMENT_MORNING_CRON.split()[1::-1])
    assert (int(hour), int(minute)) > after  # after KB100 and the assessment job nets
    assert dag.get_task("check_business_day").task_display_name.endswith("-CAL 開庁日判定")
    if dag_id == "kokuho_direct_debit":  # after KB400 has registered the day's 調定 (SN100)
        kb400 = dagbag.get_dag("kokuho_collection").timetable.expression.split()
        assert (int(hour), int(minute)) > (int(kb400[1]), int(kb400[0]))


def test_scheduled_defaults_validate(dagbag):
    """A scheduled run uses the Param defaults: they must validate (all null)."""
    for dag in _dags(dagbag):
        resolved = dag.params.validate()
        assert resolved["business_date"] is None


@pytest.mark.parametrize("dag_file", [p.name for p in DAG_FILES])
def test_parse_without_db_or_connections(airflow_db, dag_file, monkeypatch):
    from airflow import settings
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import BaseHook, Connection, Variable
    from sqlalchemy import event

    def forbidden(*args, **kwargs):
        raise AssertionError(f"{dag_file} looks up a Connection/Variable while parsing")

    monkeypatch.setattr(BaseHook, "get_connection", classmethod(forbidden))
    monkeypatch.setattr(Connection, "get", classmethod(forbidden))
    monkeypatch.setattr(Variable, "get", staticmethod(forbidden))

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(settings.engine, "before_cursor_execute", count)
    try:
        bag = DagBag(dag_folder=str(DAGS_FOLDER / dag_file))
    finally:
        event.remove(settings.engine, "before_cursor_execute", count)
    assert bag.import_errors == {}
    assert bag.dag_ids
    assert statements == [], f"{dag_file} ran DB queries at parse time: {statements}"
