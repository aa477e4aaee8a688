"""統制合計表: the control totals (件数・金額, RC) of a job net's steps, as one table.

Used in two places:

- the last task of a job net (``KB100-END 統制合計表``) logs the table of its run's steps from
  their XComs, and a WARNING naming every step that ended with RC 4;
- ``python -m _kokuho.totals <dag_id> [--run-id ID]`` (``make demo``) prints the table of a DAG's
  latest run from the Airflow metadata DB and exits 1 unless the run succeeded.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator

log = logging.getLogger("kokuho.totals")

_COLUMNS = (("ジョブ", 28, False), ("RC", 5, True), ("状態", 10, False), ("読込", 11, True),
            ("正常", 11, True), ("エラー", 9, True), ("出力", 11, True))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cell(text: str, width: int, right: bool) -> str:
    pad = " " * max(width - _width(text), 0)
    return pad + text if right else text + pad


def _row(values: Sequence[str]) -> str:
    return "  ".join(_cell(v, w, r) for v, (_, w, r) in zip(values, _COLUMNS, strict=True)).rstrip()


def format_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """One line per step, then its money totals (金額) one field a line, its other figures (PDF
    pages ...) and the output files it delivered (print data, PDF folder, 調定 file ...).

    A row is a step's XCom (``execute_job``'s return value), or for a step that returned
    nothing ``{"job_id": ..., "state": "failed"}``. The RC labels are the job log's
    (``jobs.common.step.rc_label``, imported here at run time, not when the DAG is parsed)."""
    from jobs.common.step import rc_label

    lines = [_row([c for c, _, _ in _COLUMNS]), "-" * (sum(w for _, w, _ in _COLUMNS) + 2 * (len(_COLUMNS) - 1))]
    money_lines, figure_lines, file_lines = [], [], []
    for r in rows:
        rc = r.get("rc")
        labels = r.get("labels") or {}
        for name, amount in (r.get("money") or {}).items():
            money_lines.append(f"  {r.get('job_id', '?')}  {_cell(_label(labels, name), 40, False)} {amount:>18,} 円")
        for name, value in (r.get("figures") or {}).items():
            figure_lines.append(f"  {r.get('job_id', '?')}  {_cell(_label(labels, name), 40, False)} {value:>18,}")
        for path in r.get("files") or ():
            file_lines.append(f"  {r.get('job_id', '?')}  {path}")
        state = ("スキップ" if r.get("skipped") is not None else rc_label(rc)) if rc is not None \
            else str(r.get("state") or "-")
        lines.append(_row([
            f"{r.get('job_id', '?')} {r.get('name', '')}".strip(),
            "-" if rc is None else f"{rc:04d}",
            state,
            *(f"{r[k]:,}" if isinstance(r.get(k), int) else "-" for k in ("read", "accepted", "rejected", "written")),
        ]))
    if money_lines:
        lines += ["", "金額 (正常レコードの合計)"] + money_lines
    if figure_lines:
        lines += ["", "その他の件数 (ページ数など)"] + figure_lines
    if file_lines:
        lines += ["", "出力ファイル"] + file_lines
    return "\n".join(lines)


def _label(labels: Mapping[str, str], name: str) -> str:
    """The step's Japanese label of a money or figure key (its log's KKB060I/KKB061I name); the
    key itself only when the step gave none (every add_money/add_figure call gives one: tested)."""
    return labels.get(name) or name


def max_rc(rows: Iterable[Mapping[str, Any]]) -> int:
    return max((int(r["rc"]) for r in rows if r.get("rc") is not None), default=0)


# --- the last task of a job net ------------------------------------------------------------------


def report_totals(job_task_ids: Sequence[str], run_lock: str | None = None, **context: Any) -> dict[str, Any]:
    """Log the table of this run's steps; return ``{"max_rc": n, "steps": {task_id: rc}}``; then give
    the job net's run lock back (``run_lock``: the job net id)."""
    ti = context["ti"]
    rows = []
    for task_id in job_task_ids:
        value = ti.xcom_pull(task_ids=task_id)
        rows.append(value if isinstance(value, Mapping) else {"job_id": task_id.upper(), "state": "no XCom"})
    log.info("統制合計表\n%s", format_table(rows))
    warned = [f"{r['job_id']} {r.get('name', '')}".strip() for r in rows if 0 < (r.get("rc") or 0) < 8]
    if warned:
        log.warning("警告終了 (RC=0004) のジョブがあります: %s — エラーリストを確認してください (var/errors/<ジョブID>/)",
                    ", ".join(warned))
    if run_lock:
        from jobs.airflow_task import release_run_lock

        release_run_lock(run_lock, context)
    return {"max_rc": max_rc(rows), "steps": {r.get("job_id", "?"): r.get("rc") for r in rows}}


def totals_task(task_id: str, display_name: str, job_task_ids: Sequence[str],
                run_lock: str | None = None) -> PythonOperator:
    """The last task of a job net (``KB400-END 統制合計表``): the table of ``job_task_ids``, and the
    release of the run lock (``run_lock``). It runs when no step before it failed, also when some were
    skipped (a file not due today)."""
    return PythonOperator(
        task_id=task_id,
        task_display_name=display_name,
        trigger_rule="none_failed",
        python_callable=report_totals,
        op_kwargs={"job_task_ids": list(job_task_ids), **({"run_lock": run_lock} if run_lock else {})},
    )


# --- command line (make demo) --------------------------------------------------------------------


def collect(dag_id: str, run_id: str | None = None) -> tuple[Any, list[dict[str, Any]]]:
    """(dag run, rows) of ``run_id`` or the DAG's latest run, from the metadata DB."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from jobs import registry

    with create_session() as session:
        query = select(DagRun).where(DagRun.dag_id == dag_id)
        query = query.where(DagRun.run_id == run_id) if run_id else query.order_by(DagRun.id.desc()).limit(1)
        dr = session.scalars(query).first()
        if dr is None:
            raise SystemExit(f"{dag_id}: no DAG run{' ' + run_id if run_id else ''} in the metadata DB")
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == dr.run_id)
        ).all()
        xcoms = {
            x.task_id: XComModel.deserialize_value(x)
            for x in session.scalars(
                select(XComModel).where(XComModel.dag_id == dag_id, XComModel.run_id == dr.run_id,
                                        XComModel.key == "return_value")
            ).all()
        }
        rows = []
        for ti in sorted(tis, key=lambda t: (t.start_date is None, t.start_date or 0, t.task_id)):
            value = xcoms.get(ti.task_id)
            if isinstance(value, Mapping) and "job_id" in value:
                rows.append(dict(value))
            elif ti.task_id.upper() in registry.JOBS:  # a job step without its XCom (failed, skipped ...)
                rows.append({"job_id": ti.task_id.upper(), "state": getattr(ti.state, "value", ti.state)})
        session.expunge(dr)
        return dr, rows


def check_manifest(rows: Iterable[Mapping[str, Any]], manifest: Mapping[str, Any]) -> list[str]:
    """Compare steps' totals with a ``kokuho synth`` manifest (the synthetic city's oracle):
    records read per record type and money totals, for every step whose inbox the manifest has.
    Returns the problems (empty: all equal)."""
    from jobs import registry

    problems = []
    for r in rows:
        spec = registry.JOBS.get(str(r.get("job_id")))
        want = manifest.get("files", {}).get(spec.inbox) if spec else None
        if want is None or "by_record_type" not in r:
            continue
        got = {rt: v["read"] for rt, v in r["by_record_type"].items() if rt != "lead_in"}
        if got != want["records"]:
            problems.append(f"{r['job_id']}: 件数 {got} ≠ manifest {want['records']}")
        if (r.get("money") or {}) != want.get("money", {}):
            problems.append(f"{r['job_id']}: 金額 {r.get('money')} ≠ manifest {want.get('money')}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m _kokuho.totals", description=__doc__.splitlines()[0])
    p.add_argument("dag_id")
    p.add_argument("--run-id")
    p.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    p.add_argument("--manifest", metavar="FILE", help="also check the totals against a kokuho synth manifest")
    args = p.parse_args(argv)
    dr, rows = collect(args.dag_id, args.run_id)
    state = getattr(dr.state, "value", dr.state)
    if args.json:
        print(json.dumps({"run_id": dr.run_id, "state": state, "rows": rows}, ensure_ascii=False, indent=2))
    else:
        print(f"\n統制合計表  {args.dag_id}  run {dr.run_id}  state {state}  最大RC {max_rc(rows):04d}\n")
        print(format_table(rows))
    ok = state == "success"
    if args.manifest:
        with open(args.manifest, encoding="utf-8") as fh:
            problems = check_manifest(rows, json.load(fh))
        checked = sum(1 for r in rows if "by_record_type" in r)
        print(f"\n照合 (synth manifest {args.manifest}): " + ("一致" if not problems else "不一致"))
        for line in problems:
            print("  " + line)
        ok = ok and not problems and checked > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
