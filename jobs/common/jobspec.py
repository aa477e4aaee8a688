"""What a job step and a job net are (the dataclasses of ``jobs.registry``).

A ``JobSpec`` is one job step (ジョブステップ): its id and Japanese name, the function that runs it,
its inputs and outputs, its predecessors, whether it writes the 収納台帳 (and so runs in the
ledger pool), its Airflow trigger rule, the file-arrival wait before it and the wait for
another job net's output before it (``DatasetWait``, issue 12), if any. A ``JobNet``
is one job net (ジョブネット, one DAG): its id, dag_id, Japanese name, description, schedule, entry
check and steps. ``jobs.registry`` states every step and job net once; the DAGs
(``dags/_kokuho/jobnet.py``) and the runtime derive from it.

This module sits at the bottom (``jobs.common``) and imports nothing heavy, so the DAG processor
may import the registry at parse time. A step's function is a lazy reference
(``"jobs.collection.steps:post_channel"``), imported when the step first runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

#: The Airflow pool of every step that writes the 収納台帳. The default ledger is one DuckDB file,
#: which one process at a time may open for writing, so the pool has 1 slot (``make
#: airflow-init`` creates it); with KOKUHO_LEDGER_URL on PostgreSQL it may be raised. The
#: scheduler never starts a task of a pool that does not exist: create it on every deployment.
LEDGER_POOL = "kokuho_ledger"
LEDGER_POOL_SLOTS = 1
LEDGER_POOL_DESCRIPTION = "収納台帳 (DuckDB: 書き込みは1プロセスずつ)"

#: Airflow trigger rules a step may state (the names of airflow's TriggerRule values).
ALL_SUCCESS = "all_success"
NONE_FAILED = "none_failed"  # also when a predecessor was skipped (a day without a file)
TRIGGER_RULES = frozenset({ALL_SUCCESS, NONE_FAILED})


@dataclass(frozen=True)
class FileWait:
    """The file-arrival wait before an intake step (a deferrable FileSensor on its inbox).

    ``timeout``: how long it waits, or the minutes in the environment variable ``timeout_env``
    of the DAG processor. ``soft_fail``: when no file came, skip the wait and the steps of that
    file (a day without a file is normal) instead of failing.
    """

    task_id: str  # wait_counter_file
    name_ja: str  # 窓口収納ファイル到着待ち (shown as ``KB400-WAIT 窓口収納ファイル到着待ち``)
    timeout: timedelta
    soft_fail: bool
    timeout_env: str | None = None
    poke_interval: int = 60


@dataclass(frozen=True)
class DatasetWait:
    """The wait before a step for another job net's output (issue 12): a sensor in reschedule mode
    that asks ``condition`` (``"module:function"``, called with the dataset and the run's
    business_date, fy and municipality; see jobs/common/dataset_waits.py) whether a generation of
    ``dataset`` meeting it exists. ``timeout``, or the minutes in ``timeout_env``: then the step
    fails with KKB177E (``soft_fail``: it is skipped instead; ``go_on``: it logs KKB179W and the step
    runs with what is there)."""

    task_id: str  # wait_levy_registration
    name_ja: str  # 調定登録待ち (shown as ``KB410-WAIT 調定登録待ち``)
    dataset: str
    condition: str
    timeout: timedelta
    soft_fail: bool = False
    timeout_env: str | None = None
    poke_interval: int = 300
    source: str = ""  # the job net and step that write the dataset, for the operator (KB400 SN100)
    go_on: bool = False  # after the timeout: a warning (KKB179W), and the step runs all the same


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    name_ja: str
    func: Callable[..., Any] | str  # func(ctx: StepContext) -> int | None, or "module:function"
    inbox: str | None = None  # source folder under var/inbox/
    layout: str | None = None  # layouts/<id>.yaml
    pattern: str = "*"  # file names picked up from the inbox (case-insensitive glob)
    inputs: tuple[str, ...] = ()  # datasets read
    outputs: tuple[str, ...] = ()  # datasets written (the runtime refuses undeclared ones)
    datasets: Mapping[str, str] = field(default_factory=dict)  # intake: record type → dataset
    after: tuple[str, ...] = ()  # job ids that must have run first; those in the same job net are its edges
    options: Mapping[str, Any] = field(default_factory=dict)  # step-specific settings
    description: str = ""
    writes_ledger: bool = False  # posts to the 収納台帳: runs in LEDGER_POOL
    trigger_rule: str = ALL_SUCCESS
    wait: FileWait | None = None  # the file-arrival wait before this (intake) step
    dataset_wait: DatasetWait | None = None  # the wait for another job net's output before this step

    def __post_init__(self) -> None:
        if self.trigger_rule not in TRIGGER_RULES:
            raise ValueError(f"{self.job_id}: unknown trigger rule {self.trigger_rule!r}")
        if self.wait is not None and not self.inbox:
            raise ValueError(f"{self.job_id}: a file wait needs the step's inbox")

    @property
    def title(self) -> str:
        return f"{self.job_id} {self.name_ja}"

    @property
    def task_id(self) -> str:
        """The Airflow task id: ``fk020``."""
        return self.job_id.lower()

    @property
    def pool(self) -> str | None:
        """The Airflow pool: LEDGER_POOL for a step that writes the ledger, else the default."""
        return LEDGER_POOL if self.writes_ledger else None

    @property
    def wait_filepath(self) -> str | None:
        """What the file wait watches, relative to the inbox root: ``counter/*``."""
        return f"{self.inbox}/*" if self.wait is not None else None

    def resolve(self) -> Callable[..., Any]:
        """The step function (a lazy ``"module:function"`` reference is imported now)."""
        if not isinstance(self.func, str):
            return self.func
        module, sep, name = self.func.partition(":")
        if not sep or not module or not name:
            raise ValueError(f"{self.job_id}: step function must be 'module:function', not {self.func!r}")
        return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class EntryCheck:
    """The first task of a scheduled job net: does a scheduled run go on today?

    ``rule`` None: on a business day (開庁日) of the municipality's calendar; else on the run days
    of that ``jobs.common.runcalendar`` rule. A manual run always goes on.
    """

    name_ja: str = "開庁日判定"  # shown as ``KB400-CAL 開庁日判定``
    rule: str | None = None


@dataclass(frozen=True)
class JobNet:
    """One job net (one DAG): its steps in display order; the edges are their ``after``."""

    jobnet_id: str  # KB400
    dag_id: str  # kokuho_collection
    name_ja: str  # 収納消込ジョブネット (shown as ``KB400 収納消込ジョブネット``)
    description: str
    schedule: str | None  # a cron in TIMEZONE (weekday mornings), or None: manual trigger only
    entry: EntryCheck | None
    steps: tuple[str, ...]

    @property
    def title(self) -> str:
        return f"{self.jobnet_id} {self.name_ja}"


#: The kinds of task of a job net: its entry check, a file wait, a job step, the control totals,
#: a wait for another job net's dataset (DatasetWait).
CHECK, WAIT, STEP, TOTALS, DATASET_WAIT = "check", "wait", "step", "totals", "dataset_wait"


@dataclass(frozen=True)
class TaskNode:
    """One task of a job net's DAG as the registry derives it (``jobs.registry.tasks``)."""

    task_id: str  # sn100, check_business_day, wait_counter_file, control_totals
    display_name: str  # SN100 調定登録, KB400-CAL 開庁日判定, KB400-WAIT …, KB400-END 統制合計表
    kind: str  # CHECK | WAIT | STEP | TOTALS | DATASET_WAIT
    upstream: tuple[str, ...]  # task ids
    job_id: str | None = None  # the step (STEP) or the step the file is for (WAIT)

