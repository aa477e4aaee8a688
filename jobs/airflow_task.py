"""The one wrapper the DAGs call: run a job step inside an Airflow task.

    def run_job_step(job_id, **context):
        from jobs.airflow_task import execute_job
        return execute_job(job_id, **context)      # or execute_job(job_id) inside a task

- The business date is resolved purely from the run (``resolve_business_date``): the
  ``business_date`` param when given, else the run's ``data_interval_start`` (scheduled runs),
  else ``dag_run.run_after`` (manual runs have no logical date) — in Asia/Tokyo. Never ``ds``,
  which is a UTC rendering and is missing on manual runs.
- The fiscal year is the ``fiscal_year`` param or the fiscal year of the business date; the
  municipality is the ``municipality`` param or the configured default.
- RC 0 → the task succeeds; RC 4 → it succeeds with a WARNING banner in the log; RC >= 8 →
  ``AirflowFailException`` (fails at once, no retry: bad input does not improve by rereading).
  The step's control totals are the return value (XCom).

It runs a job by its id (``jobs.runner.run_job`` over ``jobs.registry``), so it sits above the
registry, beside jobs.cli. Airflow is imported only inside functions, so this module and its
tests run without it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from jobs.common.tz import TIMEZONE

logger = logging.getLogger("kokuho.airflow")

OUTCOME_SUCCESS = "success"
OUTCOME_WARNING = "warning"
OUTCOME_FAIL = "fail"


def resolve_business_date(params: Mapping[str, Any] | None = None, dag_run_run_after: dt.datetime | None = None,
                          data_interval_start: dt.datetime | None = None, *, tz: str = TIMEZONE) -> dt.date:
    """The business date of a run (pure).

    ``params["business_date"]`` ("YYYY-MM-DD" or a date) wins; else ``data_interval_start``;
    else ``dag_run_run_after``; datetimes are converted to ``tz`` (naive ones count as UTC).
    For convenience a whole task context may be passed as the only argument.
    """
    if _is_context(params) and dag_run_run_after is None and data_interval_start is None:
        return resolve_business_date(*context_inputs(params), tz=tz)
    given = (params or {}).get("business_date")
    if given not in (None, ""):
        return _parse_date(given)
    moment = data_interval_start or dag_run_run_after
    if moment is None:
        raise ValueError("業務日を決められません: business_date パラメータも実行時刻 (run_after) もありません")
    return to_local_date(moment, tz)


def to_local_date(moment: dt.datetime, tz: str = TIMEZONE) -> dt.date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(ZoneInfo(tz)).date()


def context_inputs(context: Mapping[str, Any]) -> tuple[dict[str, Any], dt.datetime | None, dt.datetime | None]:
    """(params, dag_run.run_after, data_interval_start) out of a task context; never reads ``ds``."""
    params = dict(_get(context, "params") or {})
    dag_run = _get(context, "dag_run")
    run_after = getattr(dag_run, "run_after", None) if dag_run is not None else None
    return params, run_after, _get(context, "data_interval_start")


def run_parameters(context: Mapping[str, Any]) -> dict[str, Any]:
    """The run_job keyword arguments of a task context (business_date, fy, municipality)."""
    from jobs.common import bizcal
    from jobs.common import config as config_mod

    params, run_after, start = context_inputs(context)
    municipality = params.get("municipality") or config_mod.default_municipality()
    cfg = config_mod.load(municipality)
    tz = str(cfg.get("calendar.timezone"))
    bdate = resolve_business_date(params, run_after, start, tz=tz)
    fy = params.get("fiscal_year") or params.get("fy")
    if fy in (None, ""):
        fy = bizcal.BusinessCalendar.from_config(cfg).fiscal_year(bdate)
    return {"business_date": bdate, "fy": int(fy), "municipality": str(municipality)}


#: what ``airflow dags test`` puts in ``triggering_user_name``: no person, so the run's conf
#: ``operator`` or the login of the process that ran the command is the 操作者 instead
DAGS_TEST_USER = "dag_test"


def run_operator(context: Mapping[str, Any]) -> tuple[str, str]:
    """(操作者ID, run id) of a task context: the Airflow user who triggered the DAG run
    (``dag_run.triggering_user_name``); ``scheduler`` for a scheduled, asset-triggered or backfill
    run without one; else the ``operator`` of the run's conf (``airflow dags test -c``, whose
    user is the placeholder ``dag_test``); else the login of the process. The run id is ``dag_run.run_id``."""
    from jobs.common.operator import SCHEDULER, cli_operator

    dag_run = _get(context, "dag_run")
    run_id = str(getattr(dag_run, "run_id", "") or _get(context, "run_id") or "")
    user = getattr(dag_run, "triggering_user_name", None) if dag_run is not None else None
    if user and user != DAGS_TEST_USER:
        return str(user), run_id
    run_type = str(getattr(getattr(dag_run, "run_type", None), "value", getattr(dag_run, "run_type", "")) or "")
    if run_type in ("scheduled", "asset_triggered", "backfill"):
        return SCHEDULER, run_id
    conf = getattr(dag_run, "conf", None) or {}
    if isinstance(conf, Mapping) and conf.get("operator"):
        return str(conf["operator"]), run_id
    return cli_operator(), run_id


def rc_outcome(rc: int) -> str:
    """success (RC 0), warning (RC 1–7: the task succeeds), fail (RC >= 8)."""
    if rc < 0:
        raise ValueError(f"RC must be >= 0: {rc}")
    return OUTCOME_SUCCESS if rc == 0 else OUTCOME_WARNING if rc < 8 else OUTCOME_FAIL


def warning_banner(summary: Mapping[str, Any]) -> str:
    lines = [
        f"警告終了 RC={summary['rc']:04d} {summary['job_id']} {summary['name']}",
        f"読込 {summary['read']:,}件 / 正常 {summary['accepted']:,}件 / エラー {summary['rejected']:,}件",
    ]
    if summary.get("error_list"):
        lines.append(f"エラーリスト: {summary['error_list']}")
    lines.append("後続ジョブは続行します。エラーリストを確認してください。")
    width = 72
    return "\n".join(["*" * width] + [f"* {x}" for x in lines] + ["*" * width])


def execute_job(job_id: str, run_lock: str | None = None, **context: Any) -> dict[str, Any]:
    """Run ``job_id`` for this task's DAG run; return the control totals (XCom). With ``run_lock``
    (the job net id) the step first checks the job net's run lock for the run's 団体コード
    (``ensure_run_lock``: refused with KKB183E while another run of the job net and city is active)."""
    from jobs.common import config as config_mod
    from jobs.common import paths
    from jobs.common.step import StepAbend
    from jobs.runner import run_job

    paths.private_umask()  # owner-only files (0600) and folders (0700) from here on
    if not context:
        context = _current_context()
    try:
        run = run_parameters(context)
    except (config_mod.ConfigError, ValueError) as exc:
        _fail(f"{job_id} パラメータ不正: {exc}", exc)
    operator, run_id = run_operator(context)
    if run_lock:
        ensure_run_lock(run_lock, job_id, run["municipality"], context)
    logger.info("%s 業務日=%s 年度=%s 団体=%s 操作者=%s run=%s", job_id, run["business_date"], run["fy"],
                run["municipality"], operator, run_id)
    try:
        result = run_job(job_id, operator=operator, run_id=run_id, **run)
    except StepAbend as exc:
        _fail(f"{job_id} RC={exc.result.rc:04d} 異常終了: {exc}", exc)
    except config_mod.ConfigError as exc:
        _fail(f"{job_id} 設定エラー: {exc}", exc)
    summary = result.to_dict()
    if result.skipped is not None:
        _skip(f"{job_id} {result.name_ja}: {result.skipped}", summary, context)
    outcome = rc_outcome(result.rc)
    if outcome == OUTCOME_WARNING:
        logger.warning("\n%s", warning_banner(summary))
    elif outcome == OUTCOME_FAIL:
        errors = [m.line for m in result.messages if m.rc >= 8]
        _fail(f"{job_id} {result.name_ja} RC={result.rc:04d}: " + (" / ".join(errors) or "エラー"), None)
    return summary


# --- the run lock: one run per job net and 団体コード at a time (jobs.common.runlock) -----------------

#: DAG run states that hold a job net's run lock
ACTIVE_RUN_STATES = ("queued", "running")


def _lock_ids(context: Mapping[str, Any]) -> tuple[str, str]:
    """(dag_id, run_id) of the task's DAG run."""
    dag_run = _get(context, "dag_run")
    ti = _get(context, "ti")
    dag_id = str(getattr(dag_run, "dag_id", None) or getattr(ti, "dag_id", None) or "")
    run_id = str(getattr(dag_run, "run_id", None) or _get(context, "run_id") or getattr(ti, "run_id", ""))
    return dag_id, run_id


def run_alive(context: Mapping[str, Any]):
    """``alive(holder)`` for ``runlock.acquire``: is the holder's DAG run queued or running? Asked of
    Airflow (the task SDK's ``get_dagrun_state``); a run Airflow no longer knows is not active."""
    ti = _get(context, "ti")

    def alive(holder) -> bool:
        if ti is None or not hasattr(ti, "get_dagrun_state"):
            return True  # cannot tell: never take a lock over blind
        try:
            state = ti.get_dagrun_state(holder.dag_id, holder.run_id)
        except Exception:  # noqa: BLE001 - the run was deleted (or the id is unreadable)
            return False
        return str(getattr(state, "value", state)) in ACTIVE_RUN_STATES

    return alive


def take_run_lock(jobnet_id: str, **context: Any) -> bool:
    """Poke of ``KBnnn-LOCK 同時実行制御``: True when this run holds the lock of its job net and
    団体コード; False (KKB181W) while another active run holds it."""
    from jobs.common import messages, runlock

    municipality = run_parameters(context)["municipality"]
    dag_id, run_id = _lock_ids(context)
    holder = runlock.acquire(jobnet_id, municipality, dag_id=dag_id, run_id=run_id, alive=run_alive(context))
    if holder is None:
        logger.info("%s", messages.line("KKB184I", jobnet=jobnet_id, municipality=municipality, run_id=run_id))
        return True
    logger.warning("%s", messages.line("KKB181W", jobnet=jobnet_id, municipality=municipality,
                                       holder=holder.describe()))
    return False


def ensure_run_lock(jobnet_id: str, job_id: str, municipality: str, context: Mapping[str, Any]) -> None:
    """Before a step: this run holds the lock (or takes it, free or left by a run that is over);
    while another active run holds it the step fails with KKB183E and does nothing."""
    from jobs.common import messages, runlock

    dag_id, run_id = _lock_ids(context)
    holder = runlock.acquire(jobnet_id, municipality, dag_id=dag_id, run_id=run_id, alive=run_alive(context))
    if holder is not None:
        text = messages.line("KKB183E", jobnet=jobnet_id, municipality=municipality, job_id=job_id,
                             holder=holder.describe())
        logger.error("%s", text)
        _fail(text, None)


def release_run_lock(jobnet_id: str, context: Mapping[str, Any]) -> bool:
    """The job net's last task gives the lock back (KKB185I)."""
    from jobs.common import messages, runlock

    municipality = run_parameters(context)["municipality"]
    dag_id, run_id = _lock_ids(context)
    released = runlock.release(jobnet_id, municipality, dag_id=dag_id, run_id=run_id)
    if released:
        logger.info("%s", messages.line("KKB185I", jobnet=jobnet_id, municipality=municipality, run_id=run_id))
    return released


def _skip(text: str, summary: Mapping[str, Any], context: Mapping[str, Any]):
    """A step with nothing due (StepSkip): the task ends skipped with the reason in its log; its
    summary still goes to XCom, so the job net's 統制合計表 shows the step and why."""
    from airflow.sdk.exceptions import AirflowSkipException

    logger.info("スキップ: %s", text)
    ti = _get(context, "ti")
    if ti is not None:
        ti.xcom_push(key="return_value", value=dict(summary))
    raise AirflowSkipException(text)


def _fail(text: str, cause: BaseException | None):
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(text) from cause


def _current_context() -> Mapping[str, Any]:
    from airflow.sdk import get_current_context

    return get_current_context()


def _is_context(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    try:
        return "dag_run" in value or "ti" in value or "task_instance" in value
    except TypeError:
        return False


def _get(context: Mapping[str, Any], key: str) -> Any:
    try:
        return context.get(key)
    except KeyError:  # Airflow's context raises for keys a manual run does not have
        return None


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"business_date が日付ではありません: {value!r} (YYYY-MM-DD)") from exc
