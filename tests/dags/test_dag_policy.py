"""DAG integrity and policy: what every kokuho DAG must satisfy before it reaches a scheduler.

- every file in dags/ imports without error, quickly, and without importing the job code (only
  the registry's light modules);
- every DAG is exactly what jobs.registry states of its job net: tasks, display names, edges,
  pools, trigger rules, file waits, entry check, control totals, schedule (test_dag_is_its_job_net);
- every DAG has a mainframe-style id and a Japanese display name (``KB100 取込ジョブネット``),
  and so has every task (``FK020 国保資格取込``);
- tags only from dags/_kokuho/tags.py, owner, retries, catchup off, one active run;
- a scheduled DAG uses the job nets' timetable (plugins/kokuho_timetable.py) in Asia/Tokyo;
- parsing runs no DB query and looks up no Connection or Variable (Airflow's own example-DAG
  test does the same), so the DAG processor never blocks on a database or a secrets backend.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from jobs import registry
from jobs.common import runcalendar
from jobs.common.jobspec import CHECK, DATASET_WAIT, LEDGER_POOL, STEP, TOTALS, WAIT
from jobs.common.tz import TIMEZONE

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py"))
EXPECTED_DAGS = {net.dag_id for net in registry.JOBNETS.values()}
JOBNET_OF = {net.dag_id: net for net in registry.JOBNETS.values()}

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
DAG_DISPLAY = re.compile(r"^KB\d{3} \S")
TASK_DISPLAY = re.compile(r"^(?P<id>[A-Z]{2}\d{3})(?:-[A-Z]+)? \S")
#: Heavy libraries the job steps use; a DAG file that imports them at parse time is too fat.
HEAVY_MODULES = {"polars", "duckdb", "pyarrow", "pandas", "numpy", "reportlab", "numba"}
#: The only modules of the jobs package a DAG file may import at parse time: the registry and the
#: light dataclasses and constants under it; and the config (YAML only), read to know which municipalities have their own DAGs
PARSE_TIME_JOBS_MODULES = {"jobs", "jobs.registry", "jobs.common", "jobs.common.jobspec", "jobs.common.tz",
                           "jobs.common.config", "jobs.common.paths", "jobs.common.staging"}
#: A DAG file's parse must stay far inside Airflow's own limit (airflow.cfg [core] dagbag_import_timeout):
#: a tenth of it. Not a benchmark: on a loaded CI machine a 2-second limit failed a light file (3.1 s);
#: what keeps the parse light is HEAVY_MODULES and PARSE_TIME_JOBS_MODULES below.
_CFG = configparser.ConfigParser(interpolation=None)
_CFG.read(Path(__file__).resolve().parents[2] / "airflow.cfg", encoding="utf-8")
MAX_PARSE_SECONDS = _CFG.getfloat("core", "dagbag_import_timeout") / 10


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
    jobs_modules = set(parse_report["new_jobs_modules"])
    assert "jobs.registry" in jobs_modules
    assert jobs_modules <= PARSE_TIME_JOBS_MODULES, \
        f"DAG files import job code at parse time: {sorted(jobs_modules - PARSE_TIME_JOBS_MODULES)}"


def test_helpers_are_not_parsed_as_dags(parse_report):
    assert not any(n.startswith("_") for n in parse_report["files"])  # glob("*.py") at top level only
    from airflow.utils.file import list_py_file_paths

    listed = {Path(p).relative_to(DAGS_FOLDER).as_posix() for p in list_py_file_paths(str(DAGS_FOLDER))}
    assert not {p for p in listed if p.startswith("_kokuho/")}, ".airflowignore must exclude _kokuho/"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dag_policy(dagbag, dag_id):
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
        # by qualified name: Airflow's plugin loader may hold its own copy of the plugin module
        cls = type(dag.timetable)
        assert f"{cls.__module__}.{cls.__name__}" == "kokuho_timetable.KokuhoRunDayTimetable", cls
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


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dag_is_its_job_net(dagbag, dag_id):
    """The DAG is what jobs.registry states of its job net, task by task: id, display name,
    operator, upstream tasks, pool, trigger rule, the file wait's path and bounds, the entry
    check's rule, the control totals' steps; and the DAG's name, description and schedule."""
    from _kokuho.defaults import file_wait_timeout
    from _kokuho.steps import InboxFileSensor
    from airflow.providers.standard.operators.python import PythonOperator, ShortCircuitOperator
    from airflow.providers.standard.sensors.filesystem import FileSensor

    net = JOBNET_OF[dag_id]
    dag = dagbag.get_dag(dag_id)
    assert dag.dag_display_name == net.title
    assert dag.description == net.description
    assert getattr(dag.timetable, "expression", None) == net.schedule
    from _kokuho.steps import RUN_LOCK_TASK_ID, RunLockSensor

    nodes = registry.tasks(net)
    # the run lock (one run per job net and 団体コード) first, before the registry graph's first tasks
    assert [t.task_id for t in dag.tasks] == [RUN_LOCK_TASK_ID] + [n.task_id for n in nodes]
    lock = dag.get_task(RUN_LOCK_TASK_ID)
    assert type(lock) is RunLockSensor and lock.mode == "reschedule" and lock.op_args == [net.jobnet_id]
    assert lock.task_display_name == f"{net.jobnet_id}-LOCK 同時実行制御" and not lock.upstream_task_ids
    assert lock.downstream_task_ids == {n.task_id for n in nodes if not n.upstream}
    for node in nodes:
        task = dag.get_task(node.task_id)
        where = f"{dag_id}.{node.task_id}"
        assert task.task_display_name == node.display_name, where
        assert task.upstream_task_ids == (set(node.upstream) or {RUN_LOCK_TASK_ID}), where
        if node.kind == STEP:
            spec = registry.get(node.job_id)
            assert type(task) is PythonOperator and task.op_args == [spec.job_id], where
            assert task.op_kwargs == {"run_lock": net.jobnet_id}, where
            assert task.pool == (spec.pool or "default_pool"), where
            assert task.trigger_rule == spec.trigger_rule, where
        elif node.kind == WAIT:
            spec = registry.get(node.job_id)
            # a FileSensor that watches the run's municipality's inbox (jobs.common.paths.inbox_subpath)
            assert type(task) is InboxFileSensor and isinstance(task, FileSensor), where
            assert task.filepath == spec.wait_filepath == f"{spec.inbox}/*", where
            assert task.timeout == file_wait_timeout(spec.wait.timeout_env, spec.wait.timeout).total_seconds(), where
            assert task.soft_fail is spec.wait.soft_fail and task.downstream_task_ids == {spec.task_id}, where
        elif node.kind == DATASET_WAIT:
            from _kokuho.steps import DatasetWaitSensor

            wait = registry.get(node.job_id).dataset_wait
            assert type(task) is DatasetWaitSensor and task.mode == "reschedule", where
            assert task.op_args == [wait.dataset, wait.condition], where
            assert task.timeout == file_wait_timeout(wait.timeout_env, wait.timeout).total_seconds(), where
            assert task.soft_fail is wait.soft_fail, where
            # the steps of the net behind this wait (KB620: TN210 and TN410 share one)
            assert task.downstream_task_ids == {registry.get(j).task_id for j in net.steps
                                                if registry.get(j).dataset_wait == wait}, where
        elif node.kind == CHECK:
            assert type(task) is ShortCircuitOperator and task.ignore_downstream_trigger_rules, where
            assert task.op_kwargs == ({"rule": net.entry.rule} if net.entry.rule else {}), where
        else:
            assert node.kind == TOTALS and type(task) is PythonOperator, where
            assert task.op_kwargs["job_task_ids"] == [registry.get(j).task_id for j in net.steps], where
            assert task.op_kwargs["run_lock"] == net.jobnet_id, where
    assert dag.doc_md.startswith(Path(dag.fileloc).read_text(encoding="utf-8").split('"""')[1].split("\n\n")[0])
    assert "\n".join("    " + line for line in registry.diagram(net).splitlines()) in dag.doc_md, \
        "doc_md shows the graph rendered from the registry"


@pytest.mark.parametrize(("dag_id", "wait_id", "step_id", "upstream", "dataset"), [
    ("kokuho_initial_assessment", "wait_resident_tax_income", "fk110", "check_run_day", "resident_tax_income"),
    ("kokuho_direct_debit", "wait_levy_registration", "sn120", "sn020", "levy_registration"),
    ("kokuho_reassessment", "wait_resident_tax_change", "fk210", "check_run_day", "resident_tax_income"),
    ("kokuho_dunning", "wait_daily_collection", "tn010", "check_business_day", "daily_collection"),
    ("kokuho_arrears_records", "wait_daily_collection", "tn210", "check_business_day", "daily_collection"),
    ("kokuho_arrears_records", "wait_daily_collection", "tn410", "check_business_day", "daily_collection"),
    ("kokuho_pension_handover", "wait_daily_collection", "tk290", "check_run_day", "daily_collection"),
])
def test_cross_net_waits_sit_before_their_steps(dagbag, dag_id, wait_id, step_id, upstream, dataset):
    """Issue 12: FK110 waits for the 当初 住民税 intake (KB100 FK010), SN120 for the day's SN100 (KB400),
    TN010 (KB600), TN210/TN410 (KB620) and TK290 (KB530) for the day's SN400 (KB400):
    the wait is the step's only upstream task, a sensor in reschedule mode on the other job net's dataset,
    and that dataset is an output of the step in the other job net."""
    dag = dagbag.get_dag(dag_id)
    wait, step = dag.get_task(wait_id), dag.get_task(step_id)
    assert step.upstream_task_ids == {wait_id}
    assert wait.upstream_task_ids == {upstream}
    assert wait.mode == "reschedule" and wait.op_args[0] == dataset and not wait.soft_fail
    assert wait.task_display_name.split(" ")[0].endswith("-WAIT")
    writers = [j for j, s in registry.JOBS.items() if dataset in s.outputs]
    assert writers == [{"resident_tax_income": "FK010", "levy_registration": "SN100", "daily_collection": "SN400"}[dataset]]


def test_every_step_is_in_one_dag(dagbag):
    """Every registered step runs in exactly one DAG, as its job net states."""
    seen: dict[str, str] = {}
    for dag in _dags(dagbag):
        for task in dag.tasks:
            if task.task_id.upper() in registry.JOBS:
                assert task.task_id.upper() not in seen, f"{task.task_id} in {seen.get(task.task_id.upper())} and {dag.dag_id}"
                seen[task.task_id.upper()] = dag.dag_id
    assert seen == {job_id: net.dag_id for net in registry.JOBNETS.values() for job_id in net.steps}
    assert set(seen) == set(registry.JOBS)


def test_ledger_steps_run_in_the_ledger_pool(dagbag):
    """Every step that writes the 収納台帳 is in the one-slot pool (DuckDB: one writer at a time,
    across job nets); file intake, waits and the control tasks are not."""
    from _kokuho.defaults import LEDGER_POOL as DAGS_LEDGER_POOL

    assert DAGS_LEDGER_POOL == LEDGER_POOL
    writers = {job_id for job_id, spec in registry.JOBS.items() if spec.writes_ledger}
    # 収納 (SN), KR900 管理外データ削除, and the areas that post to the ledger (滞納 TN, 年金特徴 TK);
    # never an intake (FK0nn) or assessment step
    assert writers and all(job_id.startswith(("SN", "KR", "TN", "TK")) for job_id in writers)
    for dag in _dags(dagbag):
        for task in dag.tasks:
            in_pool = task.task_id.upper() in writers
            assert (task.pool == LEDGER_POOL) is in_pool, f"{dag.dag_id}.{task.task_id}"


def test_intake_holds_no_mandates():
    assert "SN010" not in registry.JOBNETS["KB100"].steps, "SN010 口座振替依頼書取込 belongs to KB410"
    assert "SN010" in registry.JOBNETS["KB410"].steps


@pytest.mark.parametrize("jobnet_id", ["KB300", "KB310"])
def test_assessment_job_nets_run_on_business_mornings(dagbag, jobnet_id):
    """Scheduled like KB100 (weekday mornings in Asia/Tokyo, after it); the run days are data in
    config/ (the -CAL task), so the cron holds no date."""
    net = registry.JOBNETS[jobnet_id]
    minute, hour, dom, month, dow = net.schedule.split()
    kb100 = registry.JOBNETS["KB100"].schedule.split()
    assert (dom, month, dow) == ("*", "*", kb100[4])  # no day or month in the cron
    assert (int(hour), int(minute)) > (int(kb100[1]), int(kb100[0]))  # after KB100
    assert net.entry is not None and net.entry.rule in runcalendar.RULES
    check = dagbag.get_dag(net.dag_id).get_task(registry.CHECK_RUN_DAY)
    assert check.op_kwargs == {"rule": net.entry.rule}


def test_dag_files_hold_no_dates():
    """No date literal in a DAG file's code (START_DATE lives in _kokuho/defaults.py): run days are config."""
    date_like = re.compile(r"\b20\d{2}[-/]\d{1,2}[-/]\d{1,2}\b|datetime\(|date\(")
    for path in DAG_FILES:
        code = path.read_text(encoding="utf-8").split('"""', 2)[-1]  # after the module docstring
        assert not date_like.search(code), f"{path.name}: a date in the DAG code"


def test_dag_files_only_call_the_builder():
    """A DAG file is its prose, its tags and one call of the builder: no operator, no edge."""
    for path in DAG_FILES:
        code = path.read_text(encoding="utf-8").split('"""', 2)[-1]
        assert "jobnet_dag(" in code and ">>" not in code and "Operator" not in code, path.name
        assert "airflow" in path.read_text(encoding="utf-8").lower(), f"{path.name}: DagBag safe mode skips it"


def test_bank_result_is_manual_and_fails_without_the_file(dagbag):
    dag = dagbag.get_dag("kokuho_bank_result")
    assert dag.timetable.__class__.__name__ == "NullTimetable"  # manual trigger only
    wait = registry.get("SN110").wait
    assert wait.soft_fail is False and wait.timeout.total_seconds() == 24 * 3600  # a missing bank file fails, visibly


@pytest.mark.parametrize(("job_id", "max_hours"), [("SN200", 6), ("SN210", 6), ("SN010", 1)])
def test_file_waits_are_bounded_and_skip_when_no_file(dagbag, job_id, max_hours):
    """A channel's file that does not come that day skips its steps (soft_fail) after a bounded
    wait; the sensor watches the inbox of the intake step after it, and what comes after the
    channels runs also when one was skipped (none_failed)."""
    spec = registry.get(job_id)
    net = next(n for n in registry.JOBNETS.values() if job_id in n.steps)
    wait = dagbag.get_dag(net.dag_id).get_task(spec.wait.task_id)
    assert wait.deferrable is True and wait.fs_conn_id == "kokuho_inbox"
    assert wait.soft_fail is True and wait.retries == 0
    assert 0 < wait.timeout <= max_hours * 3600
    assert wait.execution_timeout.total_seconds() > wait.timeout  # the wait is never cut short
    assert spec.wait.timeout_env.startswith("KOKUHO_")


def test_what_follows_a_skipped_channel_still_runs():
    """After the channels of KB400 and after SN010 of KB410: run when a channel was skipped (no
    file that day), not when one failed; the channels' own steps are skipped with their file."""
    for job_id in ("SN410", "SN300", "SN400", "SN020"):
        assert registry.get(job_id).trigger_rule == "none_failed", job_id
    for job_id in ("SN200", "SN205", "SN210", "SN215", "SN235", "SN010", "SN120"):
        assert registry.get(job_id).trigger_rule == "all_success", job_id


def test_file_wait_is_configurable(monkeypatch):
    from datetime import timedelta

    from _kokuho.defaults import file_wait_timeout

    env = registry.PAYMENT_FILE_WAIT_ENV
    monkeypatch.delenv(env, raising=False)
    assert file_wait_timeout(env, timedelta(hours=3)) == timedelta(hours=3)
    assert file_wait_timeout(None, timedelta(hours=3)) == timedelta(hours=3)
    monkeypatch.setenv(env, "90")
    assert file_wait_timeout(env, timedelta(hours=3)) == timedelta(minutes=90)


@pytest.mark.parametrize("jobnet_id", ["KB400", "KB410"])
def test_collection_job_nets_run_on_business_mornings_after_the_intake(dagbag, jobnet_id):
    net = registry.JOBNETS[jobnet_id]
    minute, hour, dom, month, dow = net.schedule.split()
    assert (dom, month, dow) == ("*", "*", registry.JOBNETS["KB100"].schedule.split()[4])
    after = tuple(int(x) for x in registry.ASSESSMENT_MORNING_CRON.split()[1::-1])
    assert (int(hour), int(minute)) > after  # after KB100 and the assessment job nets
    assert net.entry is not None and net.entry.rule is None  # the business-day check
    assert dagbag.get_dag(net.dag_id).get_task(registry.CHECK_BUSINESS_DAY).task_display_name.endswith("-CAL 開庁日判定")
    if jobnet_id == "KB410":  # after KB400 has registered the day's 調定 (SN100)
        kb400 = registry.JOBNETS["KB400"].schedule.split()
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
