"""A week of ordinary days under the REAL scheduler (issue 12), driven only through the REST API as the
UI drives it (tests/live/conftest.py: one real Airflow per session; its soft file waits give up after a
few seconds, SHORT_FILE_WAITS, as they do after their hours in production).

Set-up (the history before the week, with ``kokuho run``'s runner, as tests/e2e builds its cities): a small
synthetic city; KB100's steps on 2026-06-01, KB300's 調定 steps (FK110–FK140) on 2026-07-01, the 調定登録
(SN100) the same day, and the counter and CVS payments received up to 2026-08-19 (SN200–SN215). Under the
scheduler before the week: KB510 年金特徴依頼 on its July day (2026-07-17: TK210 sends the Z22).

The week: Monday 2026-08-31 (the 2期 納期限) to Friday 2026-09-04, with the month close of August on
Tuesday 09-01 (KB700, the first business day of September) and the 異動賦課 (KB310, the 1st) that day. Each
business day runs the job nets the calendar runs that day, in cron order (KB700/KB100 06:30, KB310 07:30,
KB400 08:30, KB410 09:00, KB620 11:45, KB600 12:00), with the inbox traffic of an ordinary week: the daily
資格 file, the 住民税 異動 file on the 1st, counter files on some days, CVS files on others, an 執行停止 file
for KB620 on Wednesday and nothing at all on Thursday. The 1期 was not dunned before (the city's first week
on this system): Monday's KB600 issues its 督促状, its 督促 day (08-20) having come.

Asserted: every run ends success (tasks success or skipped, never failed); a step whose file is not due is
skipped with KKB109I; a due 資格 file that did not come is RC 4 (KKB110W) on Thursday and no step ends
above RC 4; the week's 消込 (SN205 + SN215 posted, and the ledger's 納付履歴 of the week) equal the money
of the week's files (counter: every record; CVS: the 確報); KB700 closes August to the yen.

test_pension_and_arrears_nets_after_the_week then runs the job nets of the pension and arrears work that
the week has not run, each once on its day, with one assertion on its output: KB610 催告 (09-10), KB500
年金特徴受信 of the insurer simulator's Z23 (09-10), KB520 結果反映 (09-24), KB530 社会保険料控除引継
(2027-01-21, after that day's KB400, whose SN400 KB530-WAIT waits for) and KB710 年次 (出納閉鎖 2027-05-31).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.live, pytest.mark.e2e]

INSURED = 150
SEED = 20261208
PAY_SEED = 11
MUNICIPALITY = "111007"
INTAKE_DATE = dt.date(2026, 6, 1)
ASSESS_DATE = dt.date(2026, 7, 1)
Z22_DATE = dt.date(2026, 7, 17)      # kokuho rundays KB510: the July send day (07-20 海の日 → the day before)
#: kokuho rundays resident_tax_change_file before the week (the 1st and the 16th, next business day)
RESIDENT_TAX_CHANGES = [dt.date(2026, 6, 16), dt.date(2026, 7, 1), dt.date(2026, 7, 16), dt.date(2026, 8, 3),
                        dt.date(2026, 8, 17)]
HISTORY_TO = dt.date(2026, 8, 19)    # the payments received before the week, posted by then
WEEK = [dt.date(2026, 8, 31) + dt.timedelta(days=i) for i in range(5)]
MONTH_CLOSE = dt.date(2026, 9, 1)    # kokuho rundays KB700
REASSESS = dt.date(2026, 9, 1)       # kokuho rundays KB310
#: the inbox traffic of each day: 資格 (the daily file), 住民税 (異動, the 1st), counter, CVS, arrears (KB620)
TRAFFIC = {
    WEEK[0]: ("shikaku", "counter", "cvs"),
    WEEK[1]: ("shikaku", "juminzei", "counter"),
    WEEK[2]: ("shikaku", "cvs", "arrears"),
    WEEK[3]: (),                                  # nothing at all, not even the 資格 file
    WEEK[4]: ("shikaku", "counter", "cvs"),
}
#: the synthetic payments without the records a 消込 refuses or holds on purpose (duplicates, unknown
#: notices, 速報取消, overpayments): the files' money is then the money posted
CLEAN_PAYMENTS = {"duplicate_rate": 0.0, "unknown_notice_rate": 0.0, "cancel_rate": 0.0, "overpayment_rate": 0.0,
                  "malformed_rate": 0.0}

DAGS = {"KB100": "kokuho_intake", "KB310": "kokuho_reassessment", "KB400": "kokuho_collection",
        "KB410": "kokuho_direct_debit", "KB500": "kokuho_pension_intake", "KB510": "kokuho_pension_request",
        "KB520": "kokuho_pension_apply", "KB530": "kokuho_pension_handover", "KB600": "kokuho_dunning",
        "KB610": "kokuho_reminder", "KB620": "kokuho_arrears_records", "KB700": "kokuho_month_close",
        "KB710": "kokuho_year_close"}

_state: dict[str, Any] = {}


@pytest.fixture
def patient_api(live_airflow):
    """The live Airflow's REST client with 5 minutes a request instead of 1: on the shared 2-core
    machine under load (load average 25) the API server (SQLite metadata DB) once took over 60 s to
    answer a run's state; a slow answer is not what these tests check."""
    import httpx

    api = live_airflow.api
    before = api.client.timeout
    api.client.timeout = httpx.Timeout(300)
    try:
        yield api
    finally:
        api.client.timeout = before


def _env(live, monkeypatch) -> None:
    for name in ("KOKUHO_VAR", "KOKUHO_HOME", "KOKUHO_SECRETS_DIR"):
        monkeypatch.setenv(name, live.env[name])


def _steps(live, plan: list[tuple]) -> None:
    """The history's steps with ``kokuho run``'s runner, in one process of the live Airflow's environment:
    (job id, 業務日[, the file it takes, as ``kokuho run --file``])."""
    script = (
        "import datetime as dt, json, sys\n"
        "from jobs.runner import run_job\n"
        "for job, day, *files in json.loads(sys.argv[1]):\n"
        "    opts = {'files': files} if files else {}\n"
        "    r = run_job(job, business_date=dt.date.fromisoformat(day), municipality='" + MUNICIPALITY + "', **opts)\n"
        "    if r.rc > 4:\n"
        "        print(job, day, r.rc, r.log_text[-3000:]); sys.exit(1)\n"
    )
    live._run(sys.executable, "-c", script,
              json.dumps([(p[0], p[1].isoformat(), *(str(f) for f in p[2:])) for p in plan]))


def _xcom(api, dag_id: str, run_id: str, task_id: str) -> dict | None:
    """A step's control totals, or None (a step skipped because its file wait was: no XCom)."""
    r = api.client.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
                       params={"deserialize": True, "stringify": False})
    if r.status_code == 404:
        return None
    assert r.is_success, r.text[:1000]
    return r.json()["value"]


class Problems(list):
    """The week's findings, all of them at the end (a week is long: one failed check must not hide the
    next day's): ``with problems.check("KB400 2026-08-31"):`` records a failed assert (or a missing key)."""

    @contextlib.contextmanager
    def check(self, what: str):
        try:
            yield
        except (AssertionError, KeyError, TypeError) as exc:
            self.append(f"{what}: {type(exc).__name__} {str(exc)[:1500]}")
            print(f"\nPROBLEM {self[-1]}", file=sys.stderr, flush=True)


def _start(api, net: str, day: dt.date) -> tuple[str, str, dt.date, float]:
    """Trigger ``net`` for 業務日 ``day`` as the 実行 form does (no logical date, the form's conf)."""
    run_id = f"week_{net}_{day:%Y%m%d}"
    api.trigger(DAGS[net], {"business_date": day.isoformat()}, run_id)
    return net, run_id, day, time.monotonic()


def _finish(api, started, problems: Problems, timeout: float = 600) -> tuple[dict[str, str], dict]:
    """Wait for a started run: it must end success with every task success or skipped (never failed),
    no step above RC 4. Returns the task states and the steps' control totals by job id (a skipped step
    with the XCom it wrote; a step skipped after its skipped file wait has none)."""
    from jobs import registry

    net, run_id, day, t0 = started
    dag_id = DAGS[net]
    state = api.wait_run(dag_id, run_id, timeout=timeout)
    states = api.states(dag_id, run_id)
    _state.setdefault("durations", []).append((net, day.isoformat(), round(time.monotonic() - t0, 1)))
    print(f"\n{net} {day} {state} {_state['durations'][-1][2]} s", file=sys.stderr, flush=True)
    with problems.check(f"{net} {day}"):
        assert state == "success" and set(states.values()) <= {"success", "skipped"}, states
    rows = {}
    for job_id in registry.jobnet(net).steps:
        row = _xcom(api, dag_id, run_id, job_id.lower())
        if row is not None:
            with problems.check(f"{net} {day} {job_id}"):
                assert row["rc"] <= 4 and row["business_date"] == day.isoformat(), row["messages"]
            rows[job_id] = row
    return states, rows


def _run(api, net: str, day: dt.date, problems: Problems | None = None) -> tuple[dict[str, str], dict]:
    """One job net run, start to end (``problems`` None: a failed check fails the test at once)."""
    own = Problems() if problems is None else problems
    out = _finish(api, _start(api, net, day), own)
    assert problems is not None or not own, own
    return out


def _day_file(original: dict[str, tuple[str, bytes]], folder: Path, day: dt.date, kind: str) -> Path:
    """The 資格 file of ``day`` (the city's file with its header's 作成年月日 and 基準日 moved: a new file,
    not a resend) or the 住民税 異動 file of ``day`` (作成年月日 moved, 異動区分 2) in ``folder``/``kind``."""
    ymd = f"{day:%Y%m%d}".encode()
    name, data = original[kind]
    lines = data.split(b"\r\n")
    for i, rec in enumerate(lines):
        if rec[:1] == b"1":  # header: layouts/nhi_qualification.yaml, layouts/resident_tax_income.yaml
            lines[i] = rec[:7] + ymd + rec[15:19] + (ymd + rec[27:] if kind == "shikaku" else b"2" + rec[20:])
    new_name = name.replace("20260601", ymd.decode()) if kind == "shikaku" else f"JUMINZEI_IDO_{ymd.decode()}.dat"
    assert new_name != name
    target = folder / kind / new_name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\r\n".join(lines))
    return target


def _payment_files(levy_files, inbox: Path, day: dt.date, kinds, since: dict[str, dt.date], cfg) -> dict[str, int]:
    """The day's counter / CVS files (records received since the channel's last file); their money:
    counter, every record; CVS, the 確報 (the 速報 only holds the 督促)."""
    from jobs.synth import payments as sp

    levy = sp.load_levy(levy_files)
    money = {"counter": 0, "cvs": 0}
    ymd = f"{day:%Y%m%d}"
    if "counter" in kinds:
        s = sp.write_counter_file(levy, inbox / "counter" / f"COUNTER_{ymd}.dat", business_date=day, seed=PAY_SEED,
                                  since=since["counter"], cfg=cfg, municipality=MUNICIPALITY)
        money["counter"] = s["amount"]
        since["counter"] = day
    if "cvs" in kinds:
        recs = sp.cvs_records(levy, business_date=day, seed=PAY_SEED, since=since["cvs"], cfg=cfg,
                              municipality=MUNICIPALITY)
        sp.write_cvs_file(levy, inbox / "cvs" / f"CVS_{ymd}.dat", business_date=day, seed=PAY_SEED,
                          since=since["cvs"], cfg=cfg, municipality=MUNICIPALITY)
        money["cvs"] = int(recs.filter(recs["data_kind"] == sp.KIND_CONFIRMED)["amount"].sum() or 0)
        since["cvs"] = day
    return money


def _ledger(live, sql: str):
    """One value from the live city's 収納台帳 (no task is running: the DuckDB file is free)."""
    from jobs.ledger import Ledger

    ledger = Ledger.open()
    try:
        return ledger.scalar(sql)
    finally:
        ledger.dispose()


@pytest.mark.timeout(3600)  # 3 to 12 minutes a day on 2 shared cores (load average 7 to 27)
def test_a_week_of_ordinary_days_runs_green(live_airflow, patient_api, monkeypatch):
    import polars as pl

    from jobs.synth import payments as sp
    from jobs.synth.config import load_config

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
    from e2e_helpers import synth_city

    live, api = live_airflow, patient_api
    _env(live, monkeypatch)
    t_start = time.monotonic()
    live.wipe_var()
    inbox = live.var / "inbox"
    manifest = synth_city(inbox, insured=INSURED, seed=SEED)
    original = {k: (Path(manifest["files"][k]["path"]).name, (inbox / manifest["files"][k]["path"]).read_bytes())
                for k in ("shikaku", "juminzei")}
    shutil.rmtree(inbox / "koufuri")  # this city's 口座振替 is not in the week (KB410 has no 依頼書 to take)
    for net in DAGS:
        api.wait_for_dag(DAGS[net])
        api.unpause(DAGS[net])

    # --- the history: 取込 (06-01), 当初賦課 (07-01), 調定登録, the 住民税 異動 files of the 1st and the 16th
    # (kokuho rundays resident_tax_change_file: FK010 is due on them), the payments up to 08-19 ----------
    staged = live.base / "staged"
    changes = {d: _day_file(original, staged, d, "juminzei") for d in RESIDENT_TAX_CHANGES}
    _steps(live, [("FK020", INTAKE_DATE), ("FK010", INTAKE_DATE), ("FK030", INTAKE_DATE), ("FK035", INTAKE_DATE),
                  ("FK010", RESIDENT_TAX_CHANGES[0], changes[RESIDENT_TAX_CHANGES[0]]),
                  ("FK110", ASSESS_DATE), ("FK120", ASSESS_DATE), ("FK130", ASSESS_DATE), ("FK140", ASSESS_DATE),
                  ("SN100", ASSESS_DATE)]
           + [("FK010", d, changes[d]) for d in RESIDENT_TAX_CHANGES[1:]])
    levy_files = sorted((live.var / "outbox" / "ledger").glob("levy_initial_*.dat"))
    assert levy_files
    cfg = load_config(overrides={"payments": {**load_config()["payments"], **CLEAN_PAYMENTS}})
    since: dict[str, dt.date | None] = {"counter": None, "cvs": None}
    _payment_files(levy_files, inbox, HISTORY_TO, ("counter", "cvs"), since, cfg)
    _steps(live, [("SN200", HISTORY_TO), ("SN205", HISTORY_TO), ("SN210", HISTORY_TO), ("SN215", HISTORY_TO)])
    posted_before = int(_ledger(live, "SELECT COALESCE(SUM(tax_amount), 0) FROM payment"))
    assert posted_before > 0

    # KB510 on its July day under the scheduler: TK210 sends the Z22 (特別徴収依頼) of FK120's households
    _, rows = _run(api, "KB510", Z22_DATE)
    z22 = sorted((live.var / "outbox" / "nenkin").glob("Z22*"))
    z22 = [p for p in z22 if not p.name.endswith(".sha256")]
    assert z22 and rows["TK210"]["written"] > 0, rows["TK210"]["messages"]
    assert all(p.with_name(p.name + ".sha256").is_file() for p in z22)
    _state["setup_seconds"] = round(time.monotonic() - t_start, 1)

    # --- the week --------------------------------------------------------------------------------------
    levy = sp.load_levy(levy_files)
    unpaid = sp.payment_plan(levy, seed=PAY_SEED, cfg=cfg, municipality=MUNICIPALITY).filter(
        (pl.col("channel") == "unpaid") & (pl.col("installment_no") == 1))
    stopped = str(unpaid["notice_number"][0])
    stopped_person = str(levy.filter(levy["notice_number"] == stopped)["taxpayer_person_id"][0])
    t_week = time.monotonic()
    files_money = {"counter": 0, "cvs": 0}
    posted = {"counter": 0, "cvs": 0}
    skipped_109 = []
    problems = Problems()
    for day in WEEK:
        kinds = TRAFFIC[day]
        for kind in ("shikaku", "juminzei"):
            if kind in kinds:
                _day_file(original, inbox, day, kind)
        money = _payment_files(levy_files, inbox, day, kinds, since, cfg)
        for k in files_money:
            files_money[k] += money[k]
        if "arrears" in kinds:
            (inbox / "arrears").mkdir(parents=True, exist_ok=True)
            (inbox / "arrears" / f"teishi_{day:%Y%m%d}.csv").write_text(
                f"宛名番号,停止事由コード,停止開始日\n{stopped_person},1,{day.isoformat()}\n", encoding="utf-8")

        # 06:30 KB100 取込, and on the first business day KB700 月次締め beside it
        on_0630 = [_start(api, "KB100", day)] + ([_start(api, "KB700", day)] if day == MONTH_CLOSE else [])
        (states, intake), *close = [_finish(api, r, problems) for r in on_0630]
        for job_id in ("FK010", "FK030"):
            with problems.check(f"KB100 {day} {job_id}"):
                if job_id == "FK010" and "juminzei" in kinds:
                    assert states["fk010"] == "success" and intake["FK010"]["accepted"] > 0, intake["FK010"]
                    continue
                assert states[job_id.lower()] == "skipped", states
                assert any("KKB109I" in x for x in intake[job_id]["messages"]), intake[job_id]["messages"]
                skipped_109.append((day, job_id))
        with problems.check(f"KB100 {day} FK020"):
            fk020 = intake["FK020"]
            if "shikaku" in kinds:
                assert fk020["rc"] == 0 and fk020["rejected"] == 0, fk020["messages"]
                assert fk020["by_record_type"]["data"]["read"] == manifest["files"]["shikaku"]["records"]["data"]
            else:  # due every business day and missing: a warning on the day (grace 2 business days)
                assert states["fk020"] == "success" and fk020["rc"] == 4, fk020
                assert any("KKB110W" in x for x in fk020["messages"]), fk020["messages"]
        with problems.check(f"KB100 {day} FK035"):  # the 介護保険台帳 comes at the month's end only
            assert states["wait_kaigo_file"] == "skipped" and states["fk035"] == "skipped", states
        if close:
            with problems.check(f"KB700 {day}"):
                m = close[0][1]["TN510"]["money"]
                assert m["conservation.levy"] - m["conservation.income"] + m["conservation.refund"] \
                    - m["conservation.write_off"] == m["conservation.unpaid"], m
                assert any("KKB661I" in x for x in close[0][1]["TN510"]["messages"])
                assert sorted(p.suffix for p in (live.var / "reports" / "closing").glob("*/kessan_202608.*")) \
                    == [".csv", ".pdf"]

        if day == REASSESS:  # 07:30 KB310 異動賦課 on the day's 資格 and 住民税
            _, re = _run(api, "KB310", day, problems)
            with problems.check(f"KB310 {day}"):
                assert "FK210" in re, re

        # 08:30 KB400 収納消込 (one after another: a cross-net wait that must poke again under load meets an
        # Airflow race, README "Real-scheduler suite")
        states, coll = _run(api, "KB400", day, problems)
        with problems.check(f"KB400 {day}"):
            assert "SN100" in coll and states["sn400"] == "success", states
            for channel, step, wait in (("counter", "SN205", "wait_counter_file"), ("cvs", "SN215", "wait_cvs_file")):
                if channel in kinds:
                    assert states[step.lower()] == "success", (channel, states)
                    posted[channel] += coll[step]["money"]["posted"]
                else:  # no file that day: the wait gives up, the channel is skipped (not failed)
                    assert states[wait] == "skipped" and states[step.lower()] == "skipped", (channel, states)

        # 09:00 KB410 口座振替請求 (no 口座振替依頼書, no 振替日 to request this week) and 11:45 KB620 滞納記録
        # (the 執行停止 file on its day, else nothing: RC 0), side by side, their waits (KB410-WAIT: SN100;
        # KB620-WAIT: SN400) finding KB400's output at once; then 12:00 KB600 督促
        (debit_states, _debit), (_, rec) = [_finish(api, r, problems) for r in
                                            [_start(api, "KB410", day), _start(api, "KB620", day)]]
        with problems.check(f"KB410 {day}"):
            assert debit_states["wait_mandate_file"] == "skipped" and debit_states["sn120"] == "success", debit_states
        with problems.check(f"KB620 {day}"):
            if "arrears" in kinds:
                assert rec["TN410"]["accepted"] == 1, rec["TN410"]["messages"]
            else:
                assert rec["TN410"]["read"] == 0 and rec["TN410"]["rc"] == 0, rec["TN410"]["messages"]

        # the first day issues the 1期's 督促状 (its 督促 day 08-20 has come), the others none
        _, dun = _run(api, "KB600", day, problems)
        with problems.check(f"KB600 {day}"):
            written = dun.get("TN020", {}).get("written", 0)
            if day == WEEK[0]:
                assert written > 0, dun["TN020"]["messages"]
                _state["dunned"] = written
            else:
                assert written == 0, dun["TN020"]

    _state["week_seconds"] = round(time.monotonic() - t_week, 1)
    _state["week_done"] = True
    print(f"\nweek: set-up {_state['setup_seconds']} s, week {_state['week_seconds']} s, runs: {_state['durations']}",
          file=sys.stderr)
    assert problems == [], "\n".join(problems)
    assert skipped_109, "the steps not due were skipped with KKB109I"
    assert files_money["counter"] > 0 and files_money["cvs"] > 0, files_money
    assert posted == files_money, (posted, files_money)
    week_ledger = int(_ledger(live, "SELECT COALESCE(SUM(tax_amount), 0) FROM payment")) - posted_before
    assert week_ledger == sum(files_money.values()), (week_ledger, files_money)
    assert int(_ledger(live, "SELECT COUNT(*) FROM dunning_notice")) == _state["dunned"]
    assert int(_ledger(live, "SELECT COUNT(*) FROM arrears_suspension")) == 1


SIM_SEED = 1
REMINDER_DAY = dt.date(2026, 9, 10)   # kokuho rundays KB610
Z23_DAY = dt.date(2026, 9, 10)        # the insurers' Z23 (依頼処理結果) comes; KB500 takes it (a manual run)
APPLY_Z23 = dt.date(2026, 9, 24)      # kokuho rundays KB520
Z24_DAY = dt.date(2026, 11, 12)       # kokuho rundays KB500: the October Z24 (特別徴収結果)
APPLY_Z24 = dt.date(2026, 11, 20)     # kokuho rundays KB520
POST_Z24 = dt.date(2026, 11, 24)      # KB400 after it: SN235 posts the October pension
#: KB530 (a manual run) the business day after its run day 2027-01-20 (kokuho rundays KB530), which is also
#: KB520's (pension_apply): that day KB400-WAIT 賦課調定ファイル待ち would wait for KB520's 調定 file
HANDOVER = dt.date(2027, 1, 21)
YEAR_CLOSE = dt.date(2027, 5, 31)     # kokuho rundays KB710 (出納閉鎖)


def _insurer(live, as_of: dt.date, delivered: set[str]) -> list[str]:
    """The pension insurers (the simulator, jobs/synth/insurer.py) answer the city's Z22 up to ``as_of``;
    each file is delivered once (the simulator is stateless and writes every answer due again)."""
    import dataclasses

    from jobs.synth import insurer as ins

    files, refusals = ins.read_requests(live.var / "outbox" / "nenkin", municipality=MUNICIPALITY[:5])
    assert files and refusals == []
    answer = ins.simulate(files, as_of=as_of, seed=SIM_SEED, cfg=ins.load_insurer_config(),
                          municipality=MUNICIPALITY[:5])
    new = tuple(f for f in answer.files if f.name not in delivered)
    assert new, f"the insurer has nothing new on {as_of}"
    ins.write_answer(dataclasses.replace(answer, files=new), live.var / "inbox" / "nenkin")
    delivered |= {f.name for f in new}
    return [f.name for f in new]


@pytest.mark.timeout(1800)
def test_pension_and_arrears_nets_after_the_week(live_airflow, patient_api, monkeypatch):
    """KB610, KB500, KB520, KB530 and KB710 under the scheduler, each on its day after the week, each with
    an assertion on its output (KB510, KB600, KB620 and KB700 ran in the week)."""
    if not _state.get("week_done"):  # (set when the week ran, also with failed checks)
        pytest.fail("needs the week of test_a_week_of_ordinary_days_runs_green first")
    live, api = live_airflow, patient_api
    _env(live, monkeypatch)
    t0 = time.monotonic()

    problems = Problems()
    # 09-10: KB610 催告 (07:00; the 督促済 unpaid 1期 get their 現年催告書) and KB500 (07:00) taking the Z23
    delivered: set[str] = set()
    z23 = _insurer(live, Z23_DAY, delivered)
    (_, rem), (_, got) = [_finish(api, r, problems) for r in [_start(api, "KB610", REMINDER_DAY),
                                                              _start(api, "KB500", Z23_DAY)]]
    with problems.check("KB610"):
        assert rem["TN110"]["rc"] == 0 and rem["TN120"]["written"] > 0, rem["TN120"]["messages"]
        assert int(_ledger(live, "SELECT COUNT(*) FROM arrears_reminder")) == rem["TN120"]["written"]
    with problems.check("KB500 Z23"):
        assert got["TK110"]["rc"] == 0 and got["TK110"]["accepted"] > 0, got["TK110"]["messages"]
        assert not any((live.var / "inbox" / "nenkin").glob("Z2*.dta")), z23
    _, applied = _run(api, "KB520", APPLY_Z23, problems)
    with problems.check("KB520 Z23"):
        assert applied["TK310"]["read"] > 0, applied["TK310"]["messages"]

    # the October Z24: KB500, KB520 (TK320 → pension_withholding_result), KB400 posts it (SN235)
    _insurer(live, Z24_DAY, delivered)
    _run(api, "KB500", Z24_DAY, problems)
    _, applied = _run(api, "KB520", APPLY_Z24, problems)
    with problems.check("KB520 Z24"):
        assert applied["TK320"]["read"] > 0, applied["TK320"]["messages"]
    _, coll = _run(api, "KB400", POST_Z24, problems)
    pension_posted = coll.get("SN235", {}).get("money", {}).get("posted", 0)
    with problems.check("KB400 SN235"):
        assert pension_posted > 0, coll.get("SN235")

    # KB530 社会保険料控除引継 (January) after that day's KB400, whose SN400 KB530-WAIT 収納消込待ち waits for:
    # the 2026 pension withheld, to the yen, in the file for 市民税課
    _run(api, "KB400", HANDOVER, problems)
    _, hand = _run(api, "KB530", HANDOVER, problems)
    with problems.check("KB530"):
        m = hand["TK290"]["money"]
        assert m["withheld"] == pension_posted == m["handed_over"] + m["refunded"], (m, pension_posted)
        out = live.var / "outbox" / "shiminzei" / "NENKIN_KOJO_2026.dat"
        assert out.is_file() and out.with_name(out.name + ".sha256").is_file()

    # KB710 年次 on the 出納閉鎖 day: the FY2026 収入未済 carried over, to the yen
    _, year = _run(api, "KB710", YEAR_CLOSE, problems)
    with problems.check("KB710"):
        carried = year["TN610"]["money"]
        assert carried["carried.levy"] == carried["carried.unpaid"] > 0, carried
        assert year["TN630"]["money"]["handover.amount"] == carried["carried.unpaid"]
    _state["after_week_seconds"] = round(time.monotonic() - t0, 1)
    print(f"\nafter the week: {_state['after_week_seconds']} s, runs: "
          f"{_state['durations']}", file=sys.stderr)
    assert problems == [], "\n".join(problems)
