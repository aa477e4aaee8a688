"""Task factories of the DAG builder (``_kokuho.jobnet``): each job-step task runs one step
through ``jobs.airflow_task``.

At parse time only the registry's light dataclasses are used (``JobSpec``); the job code
(Polars, DuckDB ...) is imported when a task runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.python import PythonOperator, ShortCircuitOperator
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.providers.standard.sensors.python import PythonSensor

if TYPE_CHECKING:
    from jobs.common.jobspec import DatasetWait, JobSpec

#: The fs connection whose ``path`` is the inbox root (var/inbox/); the Makefile and the tests set
#: it as AIRFLOW_CONN_KOKUHO_INBOX, production points it at the real drop folder.
INBOX_CONN_ID = "kokuho_inbox"


def run_job_step(job_id: str, **context: Any) -> dict[str, Any]:
    """Run job step ``job_id`` for this DAG run; return its control totals (the XCom).

    RC 0 and 4 return normally (the task succeeds; RC 4 is flagged in the log and the XCom),
    RC >= 8 raises AirflowFailException (the task fails at once, no retry).
    """
    from jobs.airflow_task import execute_job

    return execute_job(job_id, **context)


def job_task(spec: JobSpec, run_lock: str | None = None) -> PythonOperator:
    """The task of one job step: task_id ``fk020``, display name ``FK020 国保資格取込``; a step
    that writes the 収納台帳 runs in the ledger pool (one writer at a time on the default DuckDB
    ledger, across all job nets). With ``run_lock`` (the job net id) it checks the job net's run lock
    for its 団体コード first (``jobs.airflow_task.ensure_run_lock``)."""
    return PythonOperator(
        task_id=spec.task_id,
        task_display_name=spec.title,
        python_callable=run_job_step,
        op_args=[spec.job_id],
        op_kwargs={"run_lock": run_lock} if run_lock else None,
        pool=spec.pool,
        trigger_rule=spec.trigger_rule,
    )


class InboxFileSensor(FileSensor):
    """A FileSensor on ``<source>/<pattern>`` in the inbox of the run's municipality: when it runs, its
    path becomes ``jobs.common.paths.inbox_subpath`` of the run's 団体コード (``<団体コード>/<source>`` when
    one var/ serves several municipalities, else ``<source>``), so a run never waits for, nor is
    woken by, another municipality's file. The ``kokuho_inbox`` connection's path is var/inbox/.

    It fires only when a *complete* file is there (issue 12): the source's profile
    ``handoff.inbox.<source>.complete`` (``jobs.intake.inputs.Completeness``: size stable for N
    seconds and/or a done-marker), the rule the intake step applies too; temporary names
    (``*.tmp``, ``*.part``, markers, .sha256) never count. The triggerer's FileTrigger only sees
    that some file exists: when the task resumes and the file is not complete yet, it defers
    again for ``poke_interval`` (or until the file can be stable) and looks again, until the
    sensor's timeout (a deadline kept across the deferrals)."""

    def __init__(self, *, filepath: str, **kwargs: Any) -> None:
        super().__init__(filepath=filepath, **kwargs)
        self.inbox_source, _, self.inbox_pattern = filepath.partition("/")

    def _resolve(self, context: Any) -> None:
        from jobs.airflow_task import run_parameters
        from jobs.common import paths

        self.municipality = run_parameters(context)["municipality"]
        sub = paths.inbox_subpath(self.inbox_source, self.municipality)
        self.filepath = f"{sub}/{self.inbox_pattern}" if self.inbox_pattern else sub
        self.__dict__.pop("path", None)  # FileSensor caches the full path (a cached_property)

    def _complete_files(self) -> tuple[list, list]:
        from jobs.common import config
        from jobs.intake import inputs

        rule = inputs.completeness(self.inbox_source, config.load(self.municipality))
        files = inputs.inbox_files(self.inbox_source, self.inbox_pattern or "*", self.municipality, rule)
        return inputs.split_complete(files, rule)

    def poke(self, context: Any) -> bool:
        done, pending = self._complete_files()
        for p, reason in pending:
            self.log.info("受信中のファイル %s (%s): 完了を待ちます", p.name, reason)
        if done:
            self.log.info("受信完了のファイル %s", ", ".join(p.name for p in done))
        return bool(done)

    def execute(self, context: Any) -> None:
        self._resolve(context)
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        import time

        if float(self.timeout) <= 0 and not self._complete_files()[1]:
            # a wait of 0 minutes looks once: nothing there is the timeout at once (skipped with KKB186W,
            # or KKB187E), with no deferral and no trigger (make demo-year delivers its files before it
            # triggers a run); a file still arriving defers as with any timeout
            return self.execute_complete(context, False, deadline=time.time())
        self._wait(time.time() + float(self.timeout), pending=False)
        return None

    def _wait(self, deadline: float, *, pending: bool) -> None:
        """Defer until a file appears (FileTrigger) or, with a file still arriving, for
        ``poke_interval`` (the FileTrigger would fire at once on it)."""
        import time

        from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
        from kokuho_file_trigger import InboxFileTrigger  # plugins/: by its plugins-relative path

        left = deadline - time.time()
        if pending:
            trigger = TimeDeltaTrigger(timedelta(seconds=max(1.0, min(float(self.poke_interval), left))))
        else:
            # ends by itself at the deadline (an event, not the scheduler's trigger timeout, which logs
            # an ERROR line in the task log: plugins/kokuho_file_trigger.py); the timeout only if it cannot
            trigger = InboxFileTrigger(filepath=self.path, recursive=self.recursive, poke_interval=self.poke_interval,
                                       deadline=deadline)
        self.defer(trigger=trigger, method_name="execute_complete", kwargs={"deadline": deadline},
                   timeout=timedelta(seconds=max(left, 1.0) + 60))

    def execute_complete(self, context: Any, event: Any = None, deadline: float | None = None) -> None:
        """After a trigger fired: done when a complete file is there, else wait again (until the
        sensor's deadline, then it fails or, with soft_fail, is skipped like any timeout)."""
        import time

        from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

        self._resolve(context)
        if self.poke(context):
            return None
        deadline = float(deadline) if deadline is not None else time.time() + float(self.timeout)
        if not event or deadline - time.time() <= 0:  # the trigger gave up (no file), or time is up
            import logging

            from jobs.common import messages

            # the level of the message: a soft wait without a file is an ordinary day (W), a required one an error
            minutes = f"{float(self.timeout) / 60:g}"
            log = logging.getLogger("kokuho.file_wait")
            if self.soft_fail:
                text = messages.line("KKB186W", task=self.task_display_name, path=self.filepath, minutes=minutes)
                log.warning("%s", text)
                raise AirflowSkipException(text)
            text = messages.line("KKB187E", task=self.task_display_name, path=self.filepath, minutes=minutes)
            log.error("%s", text)
            raise AirflowSensorTimeout(text)
        self._wait(deadline, pending=bool(self._complete_files()[1]))


def file_wait(task_id: str, name_ja: str, filepath: str, *, timeout: timedelta, soft_fail: bool,
              poke_interval: int = 60) -> FileSensor:
    """A deferrable FileSensor on ``filepath`` (``<source>/<pattern>``) under the ``kokuho_inbox``
    connection's path, in the run's municipality's inbox (``InboxFileSensor``).

    It holds no worker slot while it waits (the triggerer polls). After ``timeout`` it fails
    (``soft_fail=False``: a missing file is an error to look at) or is skipped with the steps of
    that file (``soft_fail=True``: a day without a file is normal). The file is not consumed
    here: the intake step after it archives it under its SHA-256 when it commits.
    """
    return InboxFileSensor(
        task_id=task_id,
        task_display_name=name_ja,
        fs_conn_id=INBOX_CONN_ID,
        filepath=filepath,
        deferrable=True,
        poke_interval=poke_interval,
        timeout=timeout.total_seconds(),
        soft_fail=soft_fail,
        execution_timeout=timeout + timedelta(hours=1),  # the default 4 h must not cut the wait short
        retries=0,
    )


def dataset_ready(dataset: str, condition: str, **context: Any) -> bool:
    """Poke of a dataset wait: is there a generation of ``dataset`` meeting ``condition`` (a
    ``jobs.common.dataset_waits`` function) for this run's business date, fiscal year and municipality?"""
    import importlib
    import logging

    from jobs.airflow_task import run_parameters
    from jobs.common import dataset_waits, messages

    run = run_parameters(context)
    module, _, name = condition.partition(":")
    found = getattr(importlib.import_module(module), name)(dataset, **run)
    log = logging.getLogger("kokuho.dataset_wait")
    if isinstance(found, dataset_waits.Nothing):
        log.info("%s", messages.line("KKB180I", reason=str(found)))
        return True
    if found is None:
        log.info("%s", messages.line("KKB176I", dataset=dataset, condition=dataset_waits.describe(condition),
                                     business_date=run["business_date"].isoformat(), fy=run["fy"]))
        return False
    log.info("%s", messages.line("KKB178I", dataset=dataset, generation=found))
    return True


class DatasetWaitSensor(PythonSensor):
    """A PythonSensor (reschedule mode: no worker slot between pokes) whose timeout says, in the
    operator's words (KKB177E), which job net's output did not come."""

    def __init__(self, *, wait_source: str, go_on: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wait_source = wait_source
        self.go_on = go_on

    def execute(self, context: Any) -> Any:
        import logging

        from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

        from jobs.common import dataset_waits, messages

        try:
            return super().execute(context)
        except AirflowSensorTimeout as exc:
            dataset, condition = self.op_args[0], self.op_args[1]
            if self.go_on:
                logging.getLogger("kokuho.dataset_wait").warning("%s", messages.line(
                    "KKB179W", dataset=dataset, condition=dataset_waits.describe(condition), source=self.wait_source,
                    minutes=int(self.timeout // 60)))
                return None
            text = messages.line("KKB177E", dataset=dataset, condition=dataset_waits.describe(condition),
                                 source=self.wait_source, minutes=int(self.timeout // 60))
            logging.getLogger("kokuho.dataset_wait").error("%s", text)
            if self.soft_fail:
                raise AirflowSkipException(text) from exc
            raise AirflowSensorTimeout(text) from exc


def dataset_wait(task_id: str, name_ja: str, wait: DatasetWait, *, timeout: timedelta,
                 poke_interval: int | None = None) -> PythonSensor:
    """The wait for another job net's output before a step (``KB410-WAIT 調定登録待ち``): pokes
    ``dataset_ready`` every ``poke_interval`` seconds in reschedule mode; after ``timeout`` the
    step fails (KKB177E), or is skipped with ``soft_fail``, or runs all the same with ``go_on`` (KKB179W)."""
    return DatasetWaitSensor(
        task_id=task_id,
        task_display_name=name_ja,
        python_callable=dataset_ready,
        op_args=[wait.dataset, wait.condition],
        wait_source=wait.source,
        go_on=wait.go_on,
        mode="reschedule",
        poke_interval=poke_interval if poke_interval is not None else wait.poke_interval,
        timeout=timeout.total_seconds(),
        soft_fail=wait.soft_fail,
        retries=0,
    )


def take_run_lock(jobnet_id: str, **context: Any) -> bool:
    from jobs.airflow_task import take_run_lock as take

    return take(jobnet_id, **context)


class RunLockSensor(PythonSensor):
    """``KB100-LOCK 同時実行制御``: waits (reschedule mode) while another active run of the job net holds
    the lock of the run's 団体コード; its timeout says so in the operator's words (KKB182E)."""

    def __init__(self, *, jobnet_id: str, **kwargs: Any) -> None:
        super().__init__(python_callable=take_run_lock, op_args=[jobnet_id], **kwargs)
        self.jobnet_id = jobnet_id

    def execute(self, context: Any) -> Any:
        import logging

        from airflow.sdk.exceptions import AirflowSensorTimeout

        from jobs.airflow_task import run_parameters
        from jobs.common import messages, runlock

        try:
            return super().execute(context)
        except AirflowSensorTimeout as exc:
            municipality = run_parameters(context)["municipality"]
            holder = runlock.holder(self.jobnet_id, municipality)
            text = messages.line("KKB182E", jobnet=self.jobnet_id, municipality=municipality,
                                 holder=holder.describe() if holder else "-", minutes=int(self.timeout // 60))
            logging.getLogger("kokuho.runlock").error("%s", text)
            raise AirflowSensorTimeout(text) from exc


#: the first task of every job net
RUN_LOCK_TASK_ID = "run_lock"


def run_lock_task(jobnet_id: str, *, timeout: timedelta, poke_interval: int = 60) -> PythonSensor:
    """The first task of a job net: takes the run lock of (job net, 団体コード), or waits for it."""
    return RunLockSensor(
        task_id=RUN_LOCK_TASK_ID,
        task_display_name=f"{jobnet_id}-LOCK 同時実行制御",
        jobnet_id=jobnet_id,
        mode="reschedule",
        poke_interval=poke_interval,
        timeout=timeout.total_seconds(),
        retries=0,
    )


def is_business_day(**context: Any) -> bool:
    """Scheduled runs go on only on a business day (開庁日) of the municipality's calendar.

    Manual runs always go on: the operator chose the date. Returning False skips every
    downstream task and the run ends as success (nothing to do today).
    """
    from jobs.airflow_task import resolve_business_date
    from jobs.common import bizcal

    if context["dag_run"].run_type != "scheduled":
        return True
    business_date = resolve_business_date(context)
    return bizcal.calendar(context["params"].get("municipality")).is_business_day(business_date)


def is_run_day(rule: str, **context: Any) -> bool:
    """Scheduled runs go on only on the job net's run days (jobs.common.runcalendar: 当初賦課 on the
    fiscal year's configured date, 異動賦課 on the configured days of the month, each moved to the
    next business day). Manual runs always go on. False skips every downstream task."""
    import logging

    from jobs.airflow_task import run_parameters
    from jobs.common import runcalendar

    log = logging.getLogger("kokuho.runcalendar")
    if context["dag_run"].run_type != "scheduled":
        log.info("手動実行のため業務日程によらず実行します")
        return True
    run = run_parameters(context)
    decision = runcalendar.scheduled_run_day(rule, run["business_date"], municipality=run["municipality"],
                                             fy=run["fy"])
    log.log(logging.WARNING if decision.warning else logging.INFO, "%s", decision.reason)
    return decision.run


def entry_check(task_id: str, display_name: str, rule: str | None) -> ShortCircuitOperator:
    """The first task of a scheduled job net: on a business day (``KB400-CAL 開庁日判定``, rule
    None) or on the run days of ``rule`` (``KB300-CAL 当初賦課日判定``). False skips every task
    after it, whatever its trigger rule."""
    if rule is None:
        return ShortCircuitOperator(
            task_id=task_id,
            task_display_name=display_name,
            python_callable=is_business_day,
            ignore_downstream_trigger_rules=True,
        )
    return ShortCircuitOperator(
        task_id=task_id,
        task_display_name=display_name,
        python_callable=is_run_day,
        op_kwargs={"rule": rule},
        ignore_downstream_trigger_rules=True,
    )
