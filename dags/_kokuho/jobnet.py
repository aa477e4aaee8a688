"""The one DAG builder: a job net of ``jobs.registry`` → its Airflow DAG.

Everything about the graph comes from the registry (``jobs.registry.JOBNETS`` and ``tasks``):
the dag_id, display name, description and schedule (``plugins/kokuho_timetable.py``: the job
net's run days at its time); the entry check (``KB400-CAL 開庁日判定``);
the run lock first (``KB400-LOCK 同時実行制御``: one run per job net and 団体コード,
jobs.common.runlock); per step its wait for another job net's output (``KB410-WAIT 調定登録待ち``, a sensor in reschedule
mode on jobs.common.dataset_waits), its file wait (``KB400-WAIT …``, a deferrable FileSensor on the step's inbox) and its
task (``SN100 調定登録``: pool, trigger rule); the control totals (``KB400-END 統制合計表``); and
the edges. A DAG file states only its prose (the module docstring, shown above a diagram
rendered from the registry) and its tags:

    dag = jobnet_dag("KB400", doc=__doc__, tags=[Tag.KOKUHO, ...])

The registry imports no step code (lazy function references), so parsing stays cheap.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from airflow.sdk import DAG, BaseOperator
from kokuho_timetable import KokuhoRunDayTimetable  # plugins/: by its plugins-relative path

from _kokuho.defaults import (
    RUN_LOCK_WAIT,
    RUN_LOCK_WAIT_ENV,
    dataset_wait_poke,
    file_wait_timeout,
    jobnet_args,
    run_lock_poke,
)
from _kokuho.steps import dataset_wait, entry_check, file_wait, job_task, run_lock_task
from _kokuho.totals import totals_task
from jobs import registry
from jobs.common.jobspec import CHECK, DATASET_WAIT, STEP, TOTALS, WAIT, JobNet, TaskNode
from jobs.common.tz import TIMEZONE


def jobnet_dag(jobnet_id: str, *, doc: str, tags: Sequence[str]) -> DAG:
    """The DAG of job net ``jobnet_id`` for the default municipality, with ``doc`` (the DAG file's prose)
    and ``tags``; and one more DAG for each other scheduled municipality (``scheduled_cities``), put in
    the calling DAG file's globals, where the DAG processor finds it: ``kokuho_intake_112011``
    (``KB100 取込ジョブネット (第二合成市 112011)``), on that city's calendar, its 団体コード fixed.
    The default municipality's DAG keeps its dag_id (``kokuho_intake``); its display name names the
    city only when several cities are scheduled."""
    caller = sys._getframe(1)
    net = registry.jobnet(jobnet_id)
    cities = scheduled_cities()
    (code, name), others = cities[0], cities[1:]
    default = _jobnet_dag(net, doc, tags, fileloc=caller.f_code.co_filename,
                          city=(code, name) if others else None, own=False)
    for code, name in others:
        caller.f_globals[f"dag_{code}"] = _jobnet_dag(net, doc, tags, fileloc=caller.f_code.co_filename,
                                                      city=(code, name), own=True)
    return default


def city_dag_id(dag_id: str, municipality: str) -> str:
    """The dag_id of a job net's DAG for a municipality other than the default one."""
    return f"{dag_id}_{municipality}"


def scheduled_cities() -> list[tuple[str, str]]:
    """(団体コード, name) of every scheduled municipality, the default one first
    (``jobs.common.config.scheduled_municipalities``; read when the DAG file is parsed)."""
    from jobs.common import config

    return [(code, str(config.municipality_profile(code).get("name", code)))
            for code in config.scheduled_municipalities()]


def _jobnet_dag(net: JobNet, doc: str, tags: Sequence[str], *, fileloc: str, city: tuple[str, str] | None,
                own: bool) -> DAG:
    """One DAG of ``net``: the default municipality's (``own`` False: any 団体コード may be given by hand)
    or ``city``'s own (``own``: its dag_id, schedule and 団体コード)."""
    municipality = city[0] if own and city else None
    schedule = schedule_of(net, municipality)
    city_md = f"\n**団体**: {city[1]} ({city[0]})\n" if city else ""
    with DAG(
        dag_id=city_dag_id(net.dag_id, municipality) if municipality else net.dag_id,
        dag_display_name=f"{net.title} ({city[1]} {city[0]})" if city else net.title,
        description=net.description,
        doc_md=doc_md(net, doc) + city_md + schedule_md(schedule),
        **jobnet_args(schedule, municipality),
        tags=list(tags),
    ) as dag:
        # first the run lock (one run per job net and 団体コード, jobs.common.runlock), before every task
        # the registry's graph starts with
        lock = run_lock_task(net.jobnet_id, timeout=file_wait_timeout(RUN_LOCK_WAIT_ENV, RUN_LOCK_WAIT),
                             poke_interval=run_lock_poke())
        made: dict[str, BaseOperator] = {}
        for node in registry.tasks(net):
            made[node.task_id] = task = _operator(net, node)
            for upstream in node.upstream:
                made[upstream] >> task
            if not node.upstream:
                lock >> task
    # The DAG belongs to the file that called jobnet_dag (the DAG processor and the workers parse that
    # file), not to this module, where DAG() was called.
    dag.fileloc = fileloc
    return dag


def schedule_of(net: JobNet, municipality: str | None = None) -> KokuhoRunDayTimetable | None:
    """The job net's timetable: its run days (every business day, or its entry check's rule) of
    ``municipality``'s calendar (None: the default one's) at the time of its registry cron, in
    Asia/Tokyo; None (manual trigger only) without a schedule."""
    if not net.schedule:
        return None
    rule = net.entry.rule if net.entry is not None else None
    return KokuhoRunDayTimetable(net.schedule, rule=rule, timezone=TIMEZONE, municipality=municipality)


def schedule_md(schedule: KokuhoRunDayTimetable | None) -> str:
    """The Docs tab's schedule line, from the timetable (the DAG file's prose may say less)."""
    if schedule is None:
        return "\n**定時実行**: なし (手動実行のみ)\n"
    return (f"\n**定時実行**: {schedule.description}。実行日だけに予定され、次回は画面の Next Run に"
            f"表示されます (plugins/kokuho_timetable.py)。\n")


def _operator(net: JobNet, node: TaskNode) -> BaseOperator:
    if node.kind == STEP:
        return job_task(registry.get(node.job_id), run_lock=net.jobnet_id)
    if node.kind == WAIT:
        spec = registry.get(node.job_id)
        return file_wait(node.task_id, node.display_name, spec.wait_filepath,
                         timeout=file_wait_timeout(spec.wait.timeout_env, spec.wait.timeout),
                         soft_fail=spec.wait.soft_fail, poke_interval=spec.wait.poke_interval)
    if node.kind == DATASET_WAIT:
        wait = registry.get(node.job_id).dataset_wait
        return dataset_wait(node.task_id, node.display_name, wait,
                            timeout=file_wait_timeout(wait.timeout_env, wait.timeout),
                            poke_interval=dataset_wait_poke(wait.poke_interval))
    if node.kind == CHECK:
        return entry_check(node.task_id, node.display_name, net.entry.rule)
    if node.kind == TOTALS:
        steps = [registry.get(job_id).task_id for job_id in net.steps]
        return totals_task(node.task_id, node.display_name, steps, run_lock=net.jobnet_id)
    raise ValueError(f"{net.jobnet_id}: unknown task kind {node.kind!r}")


def doc_md(net: JobNet, doc: str) -> str:
    """The DAG file's prose with the job net's graph (from the registry) after its first paragraph."""
    title, _, rest = doc.strip().partition("\n\n")
    graph = "\n".join("    " + line for line in registry.diagram(net).splitlines())
    return f"{title}\n\n{graph}\n\n{rest}\n" if rest else f"{title}\n\n{graph}\n"
