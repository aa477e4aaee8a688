"""``make demo-year``: a whole fiscal year of a synthetic city through a REAL Airflow.

    python -m jobs.demo_year --insured 2000 --seed 20260601 --out var/demo-year
    python -m jobs.demo_year --plan            # the year plan only (no Airflow)

1. A real Airflow (scheduler, dag-processor, triggerer, api-server; tasks under the task supervisor)
   on free ports with its own metadata DB and var/ under ``--out`` (``jobs.airflow_live``).
2. ``kokuho synth`` writes the city's files into its inbox.
3. The year plan (``jobs.demo_year.plan``) is walked day by day: before the day's runs the
   counterparties answer (the counter and CVS payment files of the payments made since the last
   KB400 day — some taxpayers pay late, some never: ``payments:`` of config/synth.yaml; the banks'
   口座振替 result files for the day's 振替日; the pension insurer's Z23/Z24/Z2A/捕捉 files due by the
   day), then each job net is triggered through the REST API with conf ``{"business_date": …,
   "municipality": …}`` and waited for. A run must end success with every task success or skipped;
   each step's RC and control totals are read from its XCom.
4. At the end the money conservation Σ調定 − Σ収入 + Σ還付 − Σ不納欠損 = Σ収入未済 is computed from the
   ledger with ``jobs.arrears.closing.compute`` (TN510's function) and checked to the yen, and
   ``year_report.md`` / ``year_report.json`` are written under ``--out``.

Exit 0 when every run succeeded and the conservation holds; 1 otherwise (the report says why).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import resource
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jobs.airflow_live import LiveAirflow, LiveAirflowError

from . import plan as planmod

ROOT = Path(__file__).resolve().parents[2]
OK_TASK_STATES = {"success", "skipped"}
#: The file waits of the job nets for the demo (minutes, read by the DAG processor): the demo delivers
#: every file before it triggers a run (and the shipped completeness rule takes a file at once), so a
#: wait looks once — 0 minutes: a file there is taken, none is the soft wait's timeout at once (KKB186W,
#: skipped), with no trigger; a wait deferred to the triggerer lasted 20 s at least
#: (plugins/kokuho_file_trigger.py), 17 s of every KB410 run at 300,000 insured (production: hours;
#: README "make demo-year").
DEMO_WAITS = {
    "KOKUHO_PAYMENT_FILE_WAIT_MINUTES": "0",
    "KOKUHO_MANDATE_FILE_WAIT_MINUTES": "0",
    "KOKUHO_KAIGO_FILE_WAIT_MINUTES": "0",
    "KOKUHO_NENKIN_FILE_WAIT_MINUTES": "0",
    "KOKUHO_DATASET_WAIT_POKE_SECONDS": "2",
}
#: The demo city's own settings (written into the live Airflow's copy of config/): a payment dated in a
#: month that KB700 has closed (a counter or CVS file of the 1st that carries the last days of the month
#: before: the demo runs KB400 only on its work days) is booked to the next open month instead of refused
#: (``closing.late_posting_rule``, config/common/closing.yaml).
def demo_config_files(municipality: str) -> dict[str, str]:
    return {f"municipalities/{municipality}/closing.yaml": "closing:\n  late_posting_rule: next_month\n"}


#: What the year's headline counts are taken from: (label, job id, where in its control totals).
HEADLINES = (
    ("納税通知書 (世帯)", "FK150", "written"),
    ("税額変更通知書 (世帯)", "FK230", "written"),
    ("特徴中止変更通知書 (世帯)", "TK350", "written"),
    ("督促状", "TN020", "written"),
    ("催告書", "TN120", "written"),
    ("口座振替請求 (件)", "SN120", "written"),
    ("口座振替請求額 (円)", "SN120", "money.request_amount"),
    ("口座振替済額 (円)", "SN130", "money.done"),
    ("口座振替不能額 (円)", "SN130", "money.failed"),
    ("延滞金調定 (件)", "TN030", "written"),
)


@dataclasses.dataclass
class RunRecord:
    date: str
    jobnet_id: str
    dag_id: str
    run_id: str
    reason: str
    state: str
    seconds: float
    task_states: dict[str, str | None]
    steps: dict[str, dict[str, Any]]
    task_seconds: dict[str, float] = dataclasses.field(default_factory=dict)  # each task's own duration

    @property
    def step_seconds(self) -> float:
        """The job steps' own time in this run (their task durations; the rest of ``seconds`` is Airflow's
        scheduling, task start-up and the waits)."""
        from jobs.registry import JOBS

        return sum(v for t, v in self.task_seconds.items() if t.upper() in JOBS)

    @property
    def ok(self) -> bool:
        return self.state == "success" and set(self.task_states.values()) <= OK_TASK_STATES

    @property
    def rc(self) -> int:
        return max((int(s.get("rc", 0)) for s in self.steps.values()), default=0)


def _task_seconds(ti: dict[str, Any]) -> float:
    """A task's duration; a task still running: its time so far (from its start_date)."""
    if ti.get("duration") is not None:
        return float(ti["duration"])
    if ti.get("state") == "running" and ti.get("start_date"):
        start = dt.datetime.fromisoformat(str(ti["start_date"]).replace("Z", "+00:00"))
        return max(0.0, (dt.datetime.now(dt.timezone.utc) - start).total_seconds())
    return 0.0


def _step_summary(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("rc", "status", "read", "accepted", "rejected", "written", "money", "figures")
    out = {k: row[k] for k in keep if k in row}
    out["warnings"] = [m for m in row.get("messages", []) if len(m) > 6 and m[6] in "WE"]
    return out


class Year:
    """One demo year: the live Airflow, the simulators' state and the runs' records."""

    def __init__(self, live: LiveAirflow, *, municipality: str, fy: int, seed: int,
                 log: Callable[[str], None] = print, run_timeout: float = 1800):
        self.live = live
        self.api = live.api
        self.var = live.var
        self.municipality = municipality
        self.fy = fy
        self.seed = seed
        self.log = log
        self.run_timeout = run_timeout
        self.runs: list[RunRecord] = []
        self.events: list[dict[str, Any]] = []
        self.last_payments: dt.date | None = None
        self.delivered: set[str] = set()
        self.stopped_before: dt.date | None = None   # the first day left out by the time budget
        self.last_day: dt.date | None = None         # the last day walked
        self.unpaused: set[str] = set()
        self._persons = None

    # --- counterparties --------------------------------------------------------------------------

    def _levy_files(self) -> list[Path]:
        return sorted((self.var / "outbox" / "ledger").glob("levy_*.dat"))

    def payments(self, day: dt.date) -> dict[str, Any]:
        """The counter and CVS files with the payments made in (last KB400 day, day]."""
        from jobs.synth import payments as sp

        requests = sorted((self.var / "outbox" / "bank").glob("*/KOUFURI_*.dat"))
        made = sp.generate(self._levy_files(), self.var / "inbox", business_date=day, seed=self.seed,
                           channels=("counter", "cvs"), since=self.last_payments, debit_request=requests or None,
                           municipality=self.municipality)
        self.last_payments = day
        return {"kind": planmod.PAYMENTS, "files": len(made), "records": sum(m["records"] for m in made),
                "amount": sum(m["amount"] for m in made)}

    def bank_results(self, day: dt.date) -> dict[str, Any]:
        """Each bank answers its request file of the 振替日 ``day`` (some accounts fail)."""
        from jobs.synth import payments as sp

        requests = sorted((self.var / "outbox" / "bank").glob(f"*/KOUFURI_*_{day:%Y%m%d}.dat"))
        inbox = self.var / "inbox" / "bank"
        inbox.mkdir(parents=True, exist_ok=True)
        done = [sp.write_debit_result_file(req, inbox / f"KEKKA_{req.stem}.dat", rng=[self.seed, day.toordinal(), i])
                for i, req in enumerate(requests)]
        return {"kind": planmod.BANK_RESULTS, "files": len(done), "records": sum(d["records"] for d in done),
                "amount": sum(d["amount"] for d in done), "failed_amount": sum(d["failed_amount"] for d in done)}

    def nenkin(self, day: dt.date) -> dict[str, Any]:
        """The pension insurer's answers due by ``day`` that it has not delivered yet (Z23, Z24, Z2A, 捕捉)."""
        from jobs.synth import insurer as ins

        muni = self.municipality[:5]
        if self._persons is None:
            archived = sorted((self.var / "archive" / "shikaku").glob("*KOKUHO_SHIKAKU_*.dat"))
            self._persons = ins.load_city_persons(archived[0]) if archived else []
        files, refusals = ins.read_requests(self.var / "outbox" / "nenkin", municipality=muni)
        if refusals:
            raise RuntimeError(f"the insurer simulator refuses the city's files: {[str(r) for r in refusals]}")
        answer = ins.simulate(files, as_of=day, seed=self.seed, cfg=ins.load_insurer_config(), municipality=muni,
                              capture_persons=self._persons or None)
        new = tuple(f for f in answer.files if f.name not in self.delivered)
        if new:
            ins.write_answer(dataclasses.replace(answer, files=new), self.var / "inbox" / "nenkin")
            self.delivered |= {f.name for f in new}
        return {"kind": planmod.NENKIN, "files": len(new), "names": [f.name for f in new],
                "records": sum(len(f.records) for f in new)}

    # --- runs ----------------------------------------------------------------------------------

    def run(self, day: dt.date, r: planmod.Run) -> RunRecord:
        from jobs.registry import JOBNETS

        dag_id = JOBNETS[r.jobnet_id].dag_id
        if dag_id not in self.unpaused:
            self.api.wait_for_dag(dag_id)
            self.api.unpause(dag_id)
            self.unpaused.add(dag_id)
        run_id = f"year_{r.jobnet_id}_{day:%Y%m%d}"
        t0 = time.monotonic()
        self.api.trigger(dag_id, {"business_date": day.isoformat(), "municipality": self.municipality}, run_id)
        try:
            state = self.api.wait_run(dag_id, run_id, timeout=self.run_timeout, poll=0.5)
        except LiveAirflowError:
            if time.monotonic() - t0 < self.run_timeout:
                raise
            state = "timeout"    # recorded with its tasks' states and times so far; the year stops here
        except SystemExit:       # TERM while waiting: the run as it stands goes into the report
            self._record(day, r, dag_id, run_id, "interrupted", time.monotonic() - t0)
            raise
        return self._record(day, r, dag_id, run_id, state, time.monotonic() - t0)

    def _record(self, day: dt.date, r: planmod.Run, dag_id: str, run_id: str, state: str,
                seconds: float) -> RunRecord:
        from jobs.registry import JOBS

        tis = self.api.task_instances(dag_id, run_id)
        steps = {}
        for task_id, ti in tis.items():
            job_id = task_id.upper()
            if job_id in JOBS and ti["state"] == "success":
                try:
                    steps[job_id] = _step_summary(self.api.xcom(dag_id, run_id, task_id))
                except LiveAirflowError:
                    pass  # a step that pushed nothing (skipped inside)
        rec = RunRecord(day.isoformat(), r.jobnet_id, dag_id, run_id, r.reason, state, round(seconds, 1),
                        {t: ti["state"] for t, ti in tis.items()}, steps,
                        {t: round(_task_seconds(ti), 2) for t, ti in tis.items()})
        self.runs.append(rec)
        return rec

    def walk(self, days: Sequence[planmod.Day], deadline: float | None = None) -> None:
        """Each day's counterparty events, then its runs; stops at the first failed run, and before the
        first day that starts after ``deadline`` (``time.monotonic()``: whole days only, so the ledger is
        at a day's end)."""
        simulate = {planmod.PAYMENTS: self.payments, planmod.BANK_RESULTS: self.bank_results,
                    planmod.NENKIN: self.nenkin}
        for day in days:
            if deadline is not None and time.monotonic() > deadline:
                self.stopped_before = day.date
                self.log(f"{day.date}: the time budget is spent; the year stops before this day "
                         f"({len(days) - days.index(day)} of {len(days)} days left)")
                return
            self.last_day = day.date
            got = {}
            for ev in day.events:
                got[ev] = simulate[ev](day.date)
                self.events.append({"date": day.date.isoformat(), **got[ev]})
            for r in day.runs:
                if r.if_files and not got.get(planmod.NENKIN, {}).get("files"):
                    continue
                if r.jobnet_id == "KB210" and not got.get(planmod.BANK_RESULTS, {}).get("files"):
                    self.log(f"{day.date} KB210: no 口座振替 request file for this 振替日, not run")
                    continue
                rec = self.run(day.date, r)
                flag = "" if rec.ok else "   <<< FAILED"
                self.log(f"{day.date} {r.jobnet_id} {rec.state:<8} RC {rec.rc} {rec.seconds:6.1f} s  {r.reason}{flag}")
                if not rec.ok:
                    self.log(f"    task states: {rec.task_states}")
                    self.log("    the year stops here: the later days build on this run")
                    return


# --- the year's figures ---------------------------------------------------------------------------


def _dig(row: dict[str, Any], where: str) -> int:
    if where.startswith("money."):
        return int(row.get("money", {}).get(where[6:], 0) or 0)
    return int(row.get(where, 0) or 0)


def figures(year: Year, last_day: dt.date) -> dict[str, Any]:
    """Σ of the steps' control totals over the year, the ledger's payments by channel, and the money
    conservation from the ledger (``closing.compute``, what TN510 checks each month)."""
    from jobs.arrears import closing
    from jobs.common import bizcal
    from jobs.common import config as config_mod
    from jobs.ledger import Ledger

    heads = {}
    for label, job_id, where in HEADLINES:
        heads[label] = sum(_dig(r.steps[job_id], where) for r in year.runs if job_id in r.steps)
    cfg = config_mod.load(year.municipality, year.fy)
    cal = bizcal.BusinessCalendar.from_config(cfg)
    ledger = Ledger.open()
    try:
        fig = closing.compute(ledger, year.municipality, closing.period_of(last_day.replace(day=1), cal))
        by_channel = ledger.query("demo_year/payments_by_channel", {"m": year.municipality})
    finally:
        ledger.dispose()
    c = closing.conservation_fields(fig, f"{last_day}")
    channels = {r["channel"]: {"n": int(r["n"]), "tax": int(r["tax"]), "late_fee": int(r["late_fee"]),
                               "dunning_fee": int(r["dunning_fee"])} for r in by_channel.iter_rows(named=True)}
    heads["収納 (件)"] = sum(v["n"] for v in channels.values())
    heads["延滞金収入 (円)"] = sum(v["late_fee"] for v in channels.values())
    tn510 = [r.steps["TN510"]["money"] for r in year.runs if "TN510" in r.steps]
    return {
        "conservation": {"levy": c["levy"], "income": c["income"], "refund": c["refund"], "write_off": c["write_off"],
                         "lhs": c["lhs"], "unpaid": c["unpaid"], "difference": c["lhs"] - c["unpaid"],
                         "holds": c["lhs"] == c["unpaid"]},
        "headlines": heads,
        "payments_by_channel": channels,
        "month_closes": len(tn510),
    }


# --- the report ------------------------------------------------------------------------------------


def _yen(v: int) -> str:
    return f"{v:,}"


def report_md(meta: dict[str, Any], year: Year, fig: dict[str, Any] | None) -> str:
    from collections import Counter

    lines = [f"# 年間運用デモ (make demo-year): 団体 {meta['municipality']} 年度 {meta['fy']}", "",
             f"- 被保険者 {meta['insured']:,} 人, seed {meta['seed']}; 期間 {meta['first_day']} – {meta['last_day']}",
             *([f"- **時間予算 (--time-budget) で停止**: {meta['stopped_before']} 以降 (計画の最終日 "
                f"{meta['planned_last_day']} まで) は実行していません; 下の数字はそこまでの台帳"]
               if meta.get("stopped_before") else []),
             f"- 実 Airflow (scheduler, dag-processor, triggerer, api-server) の REST API で "
             f"{len(year.runs)} 回のジョブネット実行; 失敗 {sum(not r.ok for r in year.runs)} 回",
             f"- 所要 {meta['wall_seconds']:.0f} s (Airflow 起動 {meta['start_seconds']:.0f} s, 合成 "
             f"{meta['synth_seconds']:.0f} s, 実行 {meta['runs_seconds']:.0f} s); CPU {meta['cpu_seconds']:.0f} s "
             f"(このプロセスと子プロセス); 負荷 {meta['load']}; {meta['machine']}", ""]
    if fig:
        c = fig["conservation"]
        lines += ["## 収支の保存 (Σ調定 − Σ収入 + Σ還付 − Σ不納欠損 = Σ収入未済)", "",
                  "| Σ調定 | Σ収入 | Σ還付 | Σ不納欠損 | 左辺 | Σ収入未済 | 差 |", "|---:|---:|---:|---:|---:|---:|---:|",
                  f"| {_yen(c['levy'])} | {_yen(c['income'])} | {_yen(c['refund'])} | {_yen(c['write_off'])} | "
                  f"{_yen(c['lhs'])} | {_yen(c['unpaid'])} | {_yen(c['difference'])} |", "",
                  "円単位で一致" if c["holds"] else "**一致しません**", "", "## 年間の件数", "",
                  "| 項目 | 値 |", "|---|---:|"]
        lines += [f"| {k} | {_yen(v)} |" for k, v in fig["headlines"].items()]
        lines += ["", "## 収納 (納付履歴, チャネル別)", "", "| チャネル | 件数 | 本税 | 延滞金 | 督促手数料 |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {ch} | {_yen(v['n'])} | {_yen(v['tax'])} | {_yen(v['late_fee'])} | {_yen(v['dunning_fee'])} |"
                  for ch, v in fig["payments_by_channel"].items()]
    n = Counter(r.jobnet_id for r in year.runs)
    secs: dict[str, float] = {}
    own: dict[str, float] = {}
    for r in year.runs:
        secs[r.jobnet_id] = secs.get(r.jobnet_id, 0.0) + r.seconds
        own[r.jobnet_id] = own.get(r.jobnet_id, 0.0) + r.step_seconds
    lines += ["", "## ジョブネット別 (秒: 起動から終了まで / うちジョブステップ自身のタスク時間)", "",
              "| ジョブネット | 実行 | 成功 | 平均秒 | 合計秒 | ステップ合計秒 |", "|---|---:|---:|---:|---:|---:|"]
    for j in sorted(n):
        ok = sum(r.ok for r in year.runs if r.jobnet_id == j)
        lines.append(f"| {j} | {n[j]} | {ok} | {secs[j] / n[j]:.1f} | {secs[j]:.0f} | {own[j]:.0f} |")
    lines += ["", "## 実行一覧", "", "| 業務日 | ジョブネット | 状態 | RC | 秒 | 理由 |", "|---|---|---|---:|---:|---|"]
    lines += [f"| {r.date} | {r.jobnet_id} | {r.state} | {r.rc} | {r.seconds:.1f} | {r.reason} |" for r in year.runs]
    return "\n".join(lines) + "\n"


def _machine() -> str:
    import platform

    return f"{platform.node()} {os.cpu_count()} CPU, Python {platform.python_version()}"


def _cpu_seconds() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m jobs.demo_year", description=__doc__.split("\n")[0])
    p.add_argument("--insured", type=int, default=2000)
    p.add_argument("--seed", type=int, default=20260601)
    p.add_argument("--municipality", default="111007")
    p.add_argument("--fiscal-year", "--fy", dest="fy", type=int, default=None,
                   help="the fiscal year (default: the latest one whose statutory figures config has to its 出納閉鎖: "
                        "plan.config_year_needs)")
    p.add_argument("--intake-date", type=dt.date.fromisoformat, default=None,
                   help="the synthetic city's file date (kokuho synth --as-of; default: config/synth.yaml "
                        "as_of_month_day in the fiscal year, on a business day)")
    p.add_argument("--no-closing-period", action="store_true", help="stop at March 31st (no 出納整理期間, no KB710)")
    p.add_argument("--until", type=dt.date.fromisoformat, default=None, help="stop after this business date")
    p.add_argument("--out", type=Path, default=ROOT / "var" / "demo-year")
    p.add_argument("--plan", action="store_true", help="print the year plan and exit (no Airflow)")
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds: start no new day after this long (the report covers the days walked; exit 1)")
    p.add_argument("--run-timeout", type=float, default=1800,
                   help="seconds a job-net run may take (a big city); a run past it is recorded as 'timeout' "
                        "with its tasks' times so far, and the year stops there")
    p.add_argument("--keep", action="store_true", help="keep the Airflow home and var/ under --out/run")
    return p


# what a previous year's --out folder holds: only such a folder (or an empty one) is emptied for a new year
OUT_MARKERS = ("year_report.json", "year_report.md", "run", "logs")


def prepare_out(out: Path) -> Path:
    """The year's folder as an absolute path (the Airflow home under it goes into SQLite and Airflow URLs,
    which refuse a relative path), emptied when it is a previous year's folder. A non-empty folder that
    holds none of ``OUT_MARKERS`` is refused (SystemExit with the reason), never deleted: ``--out`` at a wrong
    folder must not cost an operator its files."""
    out = Path(out).expanduser().resolve()
    if out.exists():
        if not out.is_dir():
            raise SystemExit(f"demo-year: --out {out} is a file, not a folder")
        entries = {e.name for e in out.iterdir()}
        if entries and not entries & set(OUT_MARKERS):
            raise SystemExit(f"demo-year: --out {out} is not empty and holds no previous year "
                             f"({', '.join(OUT_MARKERS)}): refused, nothing deleted")
        if entries:
            shutil.rmtree(out)
    out.mkdir(parents=True, mode=0o700, exist_ok=True)
    return out


def _cut_at_late_fee_rates(days: list, municipality: str, fy: int) -> tuple[list, object]:
    """Stop the year before the first day whose 延滞金 needs a rate ``late_fee.rates`` does not have
    (e.g. the next calendar year's, published by 財務省告示 by November 30th): said on stderr, never
    guessed. Returns the plan and the first day left out (None: nothing left out)."""
    from jobs.arrears.late_fee import LateFeeRules
    from jobs.common import config

    cfg = config.load(municipality, fy)
    rates_end = max(p.end for p in LateFeeRules.from_config(cfg).periods)
    days, cut = planmod.cut_at_late_fee_rates(days, rates_end, int(cfg.get("arrears_records.reminder.pay_by_days")))
    if cut is not None:
        print(f"demo-year: 延滞金の割合が {rates_end} までしか設定されていません (config/common/late_fee.yaml "
              f"late_fee.rates): {cut.date} 以降 ({', '.join(r.jobnet_id for r in cut.runs)}) は実行しません。"
              f"翌年の割合 (財務省告示の平均貸付割合 + 1%) を出典つきで設定すると最後まで実行します。",
              file=sys.stderr)
    return days, cut


#: the environment this process points at the demo Airflow's folders while the year runs
POINTED_ENV = ("KOKUHO_VAR", "KOKUHO_HOME", "KOKUHO_SECRETS_DIR")


def main(argv: Sequence[str] | None = None) -> int:
    """The year (``_main``); afterwards this process's environment and TERM handler are as they were —
    a caller in the same process (the live test under pytest) must not keep pointing at the demo
    Airflow's deleted folders."""
    saved = {name: os.environ.get(name) for name in POINTED_ENV}
    term = signal.getsignal(signal.SIGTERM)
    try:
        return _main(argv)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        signal.signal(signal.SIGTERM, term)


def choose_year(args: argparse.Namespace) -> None:
    """``args.fy`` (when not given: the latest fiscal year config covers) and ``args.intake_date`` (when not
    given: the synthetic city's file date in that year), and say which year and why on stdout."""
    from jobs.common import bizcal
    from jobs.common import config as config_mod
    from jobs.synth.config import load_config

    needs = planmod.config_year_needs(args.municipality)
    best, after = planmod.choose_fiscal_year(needs)
    if args.fy is None:
        if best is None:
            raise SystemExit(f"demo-year: {planmod.describe_choice(best, after)}")
        args.fy = best.fy
        print(f"==> {planmod.describe_choice(best, after)}", flush=True)
    else:
        mine = next((n for n in needs if n.fy == args.fy), None)
        said = ("; ".join(mine.missing) if mine and mine.missing else "covered by config") if mine else "no tax config"
        print(f"==> FY{args.fy} (--fiscal-year): {said}" + (f"; the default would be FY{best.fy}" if best else ""),
              flush=True)
    if args.intake_date is None:
        cal = bizcal.BusinessCalendar.from_config(config_mod.load(args.municipality, args.fy))
        args.intake_date = cal.roll_forward(load_config(overrides={"fiscal_year": args.fy}).date_in_year("as_of_month_day"))


def _main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    choose_year(args)
    days = planmod.year_plan(args.fy, municipality=args.municipality, intake_date=args.intake_date,
                             with_closing_period=not args.no_closing_period)
    if args.until:
        days = [d for d in days if d.date <= args.until]
    days, cut = _cut_at_late_fee_rates(days, args.municipality, args.fy)
    if args.plan:
        print(planmod.describe(days))
        print("runs per job net:", planmod.counts(days))
        return 0
    out = prepare_out(args.out)
    t_start = time.monotonic()
    load0 = os.getloadavg()
    # a TERM (make interrupted, a CI timeout) stops the Airflow components too: SystemExit runs the finally
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    live = LiveAirflow(out / "run", municipality=args.municipality, extra_env=DEMO_WAITS,
                       config_files=demo_config_files(args.municipality))
    for name in POINTED_ENV:
        os.environ[name] = live.env[name]   # this process synthesizes and reads the ledger like the tasks
    year = None
    fig = None
    rc = 1
    interrupted = False
    marks: dict[str, float] = {}
    try:
        print(f"==> a real Airflow on {live.url} (component logs: {live.logs})", flush=True)
        live.start()
        marks["started"] = time.monotonic()
        print(f"==> kokuho synth: {args.insured:,} insured, seed {args.seed}, as of {args.intake_date}", flush=True)
        from jobs.synth.cli import main as synth_main

        if synth_main(["--insured", str(args.insured), "--seed", str(args.seed), "--out", str(live.var / "inbox"),
                       "--fiscal-year", str(args.fy), "--as-of", args.intake_date.isoformat(), "--quiet"]) != 0:
            raise RuntimeError("kokuho synth failed")
        marks["synth"] = time.monotonic()
        print(f"==> the year: {len(days)} days, planned runs {planmod.counts(days)}", flush=True)
        year = Year(live, municipality=args.municipality, fy=args.fy, seed=args.seed,
                    log=lambda s: print(s, flush=True), run_timeout=args.run_timeout)
        try:
            year.walk(days, deadline=t_start + args.time_budget if args.time_budget else None)
        except SystemExit:   # TERM: the report covers the runs so far (the one cut short marked 'interrupted')
            interrupted = True
            print("demo-year: TERM: the year stops here; the report covers the runs so far", file=sys.stderr)
        finally:
            marks["runs"] = time.monotonic()
        failed = [r for r in year.runs if not r.ok]
        if not failed and year.last_day is not None:
            fig = figures(year, year.last_day)
        rc = 0 if (not failed and fig and fig["conservation"]["holds"] and year.stopped_before is None
                   and not interrupted) else 1
    except Exception as exc:  # noqa: BLE001 - reported, logs kept, exit 1
        print(f"demo-year: {type(exc).__name__}: {exc}", file=sys.stderr)
        rc = 1
    finally:
        live.stop()
    now = time.monotonic()
    load1 = os.getloadavg()
    meta = {"municipality": args.municipality, "fy": args.fy, "insured": args.insured, "seed": args.seed,
            "first_day": days[0].date.isoformat(),
            "last_day": (year.last_day if year is not None and year.last_day else days[-1].date).isoformat(),
            "planned_last_day": days[-1].date.isoformat(),
            "stopped_before": year.stopped_before.isoformat() if year is not None and year.stopped_before else None,
            "wall_seconds": now - t_start, "start_seconds": marks.get("started", now) - t_start,
            "synth_seconds": marks.get("synth", now) - marks.get("started", now),
            "runs_seconds": marks.get("runs", now) - marks.get("synth", now),
            "cpu_seconds": _cpu_seconds(), "load": f"{load0[0]:.1f} → {load1[0]:.1f} (1 min)", "machine": _machine()}
    if year is not None:
        (out / "year_report.json").write_text(json.dumps(
            {"meta": meta, "figures": fig, "events": year.events,
             "runs": [dataclasses.asdict(r) | {"ok": r.ok, "rc": r.rc, "step_seconds": round(r.step_seconds, 2)}
                      for r in year.runs], "ok": rc == 0},
            ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        (out / "year_report.md").write_text(report_md(meta, year, fig), encoding="utf-8")
        print(f"==> {out / 'year_report.md'}")
        if fig:
            c = fig["conservation"]
            print(f"Σ調定 {_yen(c['levy'])} − Σ収入 {_yen(c['income'])} + Σ還付 {_yen(c['refund'])} − Σ不納欠損 "
                  f"{_yen(c['write_off'])} = {_yen(c['lhs'])};  Σ収入未済 {_yen(c['unpaid'])}  "
                  f"({'一致' if c['holds'] else '不一致 ' + _yen(c['difference'])})")
            for k, v in fig["headlines"].items():
                print(f"  {k}: {_yen(v)}")
    if rc != 0 or not args.keep:
        kept = live.dump_logs(out / "logs") if rc != 0 else None
        if kept:
            print(f"logs of the failed year: {kept}", file=sys.stderr)
        if not args.keep:
            shutil.rmtree(out / "run", ignore_errors=True)
    print(f"==> demo-year {'OK' if rc == 0 else 'FAILED'} in {meta['wall_seconds']:.0f} s")
    return rc
