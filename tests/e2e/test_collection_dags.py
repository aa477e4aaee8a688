"""End to end through Airflow: the 収納 job nets on a small synthetic city, with ``dag.test()`` on
the real DAG files (tests/conftest.py: the session's temporary metadata DB; the ``kokuho_var``
fixture: this test's own var/, so its own DuckDB ledger var/ledger/ledger.duckdb).

1. KB100 取込 (2026-06-01) and KB300 当初賦課 (2026-07-01) make the 調定 file (FK140).
2. KB400 収納消込 on a business date after the first 納期限, with synthetic counter and CVS files
   (jobs.synth.payments, the same code as ``kokuho synth-payments``) in var/inbox/counter/ and
   var/inbox/cvs/: SN100 registers the 調定, SN205/SN215 post the payments, SN400's 日計
   reconciles; the files are archived under their SHA-256; Σ installment.paid_amount = Σ
   payment.tax_amount.
3. The operator drops the same files again and re-runs KB400 for the same date: nothing is
   posted twice. A day without any file: the waits are skipped (soft_fail) with their
   channels' steps, and SN410 → SN300 → SN400 still run (none_failed).
4. KB410 口座振替請求 on the request day of the first 納期限, after that day's KB400 (KB410-WAIT waits
   for its SN100): SN010 takes in the city's
   口座振替依頼書, SN020 registers it, SN120 writes one request file per bank in
   var/outbox/bank/<bank>/.
5. The banks answer (synthetic result files in var/inbox/bank/), KB210 on the 振替日: SN115
   posts 振替済, SN130 writes the 口座振替不能通知書 PDF.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pendulum
import pytest
from e2e_helpers import bound_file_waits, load_dag, run_rows, synth_city, ti_states

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

INSURED = 300
SEED = 20260801
PAY_SEED = 11
INTAKE_DATE = "2026-06-01"
WAIT_SECONDS = 3
ASSESS_DATE = "2026-07-01"  # config/municipalities/111007/fy2026/run_calendar.yaml initial_assessment.run_date
KB400_TASKS = ["run_lock", "check_business_day", "wait_levy_files", "sn100", "wait_counter_file", "sn200", "sn205",
               "wait_cvs_file", "sn210", "sn215", "sn235", "sn410", "sn300", "sn400", "control_totals"]


def _run(dag_id: str, business_date: str | dt.date, day: int):
    # one logical date per run: dag.test() replaces an earlier run of the same DAG and date
    return load_dag(dag_id).test(logical_date=pendulum.datetime(2026, 12, day, 9, 0, tz="Asia/Tokyo"),
                                 run_conf={"business_date": str(business_date)})


def _assert_all_success(dr) -> None:
    states = ti_states(dr)
    assert dr.state == "success", states
    assert set(states.values()) == {"success"}, states


def _ledger_figures() -> dict:
    from jobs.ledger import Ledger

    ledger = Ledger.open()
    try:
        recon = ledger.frame("SELECT channel, status, COUNT(*) AS n, SUM(amount) AS amount FROM reconciliation "
                             "GROUP BY channel, status ORDER BY channel, status")
        return {
            "paid": int(ledger.scalar("SELECT COALESCE(SUM(paid_amount), 0) FROM installment")),
            "payments": int(ledger.scalar("SELECT COALESCE(SUM(tax_amount), 0) FROM payment")),
            "payment_rows": int(ledger.scalar("SELECT COUNT(*) FROM payment")),
            "levy": int(ledger.scalar("SELECT COALESCE(SUM(levy_amount), 0) FROM installment")),
            "installments": int(ledger.scalar("SELECT COUNT(*) FROM installment")),
            "posted_files": int(ledger.scalar("SELECT COUNT(*) FROM posted_file")),
            "recon": {(r["channel"], r["status"]): (int(r["n"]), int(r["amount"] or 0))
                      for r in recon.iter_rows(named=True)},
        }
    finally:
        ledger.dispose()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def bounded_waits(monkeypatch):
    """dag.test() runs a deferred sensor's trigger inline and ignores the sensor's timeout, so a
    missing file would hang the test: here the trigger gives up after a few seconds, as the
    triggerer does at the timeout (the sensor then fails, or is skipped with soft_fail)."""
    bound_file_waits(monkeypatch, WAIT_SECONDS)


def test_collection_job_nets(kokuho_var: Path, tmp_path: Path, bounded_waits):
    from jobs.collection import direct_debit as dd
    from jobs.common import config, crypto
    from jobs.common.bizcal import BusinessCalendar
    from jobs.synth import payments as sp

    synth_city(kokuho_var / "inbox", insured=INSURED, seed=SEED)
    _assert_all_success(_run("kokuho_intake", INTAKE_DATE, 1))
    assert any((kokuho_var / "inbox" / "koufuri").iterdir()), "the mandates wait for KB410 (SN010 left KB100)"
    _assert_all_success(_run("kokuho_initial_assessment", ASSESS_DATE, 2))

    levy_files = sorted((kokuho_var / "outbox" / "ledger").glob("*.dat"))
    assert [p.name for p in levy_files] == ["levy_initial_m111007_fy2026_d20260701.dat"]
    levy = sp.load_levy(levy_files)
    first_due = levy.filter(levy["collection_method"] == "1")["due_date"].min()
    cfg = config.load("111007", 2026)
    cal = BusinessCalendar.from_config(cfg)
    request_day = dd.request_day(cal, cfg, first_due)
    pay_date = first_due + dt.timedelta(days=7)
    while not cal.is_business_day(pay_date):
        pay_date += dt.timedelta(days=1)
    assert request_day < first_due < pay_date

    # --- KB400 収納消込, with the day's counter and CVS files -----------------------------------------
    drop = tmp_path / "payments"  # the counterparties' copies, to drop again later
    made = sp.generate(levy_files, drop, business_date=pay_date, seed=PAY_SEED, channels=("counter", "cvs"))
    assert [Path(m["file"]).parent.name for m in made] == ["counter", "cvs"] and all(m["records"] for m in made)
    dropped = {}
    for m in made:
        src = Path(m["file"])
        target = kokuho_var / "inbox" / src.parent.name / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, target)
        dropped[src.parent.name] = (src, _sha256(src))

    dr = _run("kokuho_collection", pay_date, 3)

    _assert_all_success(dr)
    assert sorted(ti_states(dr)) == sorted(KB400_TASKS)
    rows = run_rows(dr)
    assert sorted(rows) == ["SN100", "SN200", "SN205", "SN210", "SN215", "SN235", "SN300", "SN400", "SN410"]
    for job_id, row in rows.items():
        assert row["rc"] in (0, 4) and row["business_date"] == pay_date.isoformat(), (job_id, row["messages"])
    figs = _ledger_figures()
    assert figs["levy"] == int(levy["amount"].sum()) and figs["installments"] == levy.height  # SN100
    assert rows["SN100"]["money"]["levy_amount"] == figs["levy"]
    assert figs["paid"] == figs["payments"] > 0  # every yen posted to an installment is in 納付履歴
    posted = {ch: figs["recon"].get((ch, "posted"), (0, 0)) for ch in ("counter", "cvs")}
    assert posted["counter"][0] > 0 and posted["cvs"][0] > 0
    assert rows["SN205"]["money"]["posted"] == posted["counter"][1]
    cvs_family = sum(v[1] for (ch, st), v in figs["recon"].items() if st == "posted" and ch in ("cvs", "credit", "app"))
    assert rows["SN215"]["money"]["posted"] == cvs_family
    # SN400 日計: the day's postings per channel, reconciled with 納付履歴 (else RC 8)
    sn400 = rows["SN400"]
    day_posted = sum(v for k, v in sn400["money"].items() if k.endswith(".posted"))
    assert day_posted == sum(v[1] for (ch, st), v in figs["recon"].items() if st == "posted")
    report_dir = kokuho_var / "reports" / "collection" / f"m111007_fy2026_d{pay_date:%Y%m%d}"
    assert (report_dir / f"shuno_nikkei_{pay_date:%Y%m%d}.csv").is_file()
    assert (report_dir / f"shuno_nikkei_{pay_date:%Y%m%d}.pdf").read_bytes().startswith(b"%PDF")
    # each input archived under its SHA-256, the inbox empty for the next day
    for source, (src, sha) in dropped.items():
        assert not any((kokuho_var / "inbox" / source).iterdir()), source
        archived = kokuho_var / "archive" / source / f"{sha}_{src.name}"
        assert archived.is_file() and crypto.is_encrypted(archived), archived  # encrypted at rest
        assert hashlib.sha256(crypto.decrypt_bytes(archived)).hexdigest() == sha, archived

    # --- the same files dropped again, KB400 re-run for the same date: nothing posted twice ------------
    for source, (src, _) in dropped.items():
        shutil.copy(src, kokuho_var / "inbox" / source / src.name)

    dr = _run("kokuho_collection", pay_date, 4)

    _assert_all_success(dr)
    again = run_rows(dr)
    assert _ledger_figures() == figs
    assert any("KKB422I" in m for m in again["SN205"]["messages"]), again["SN205"]["messages"]
    assert again["SN400"]["money"] == sn400["money"]

    # --- a day without any file: the waits give up (bounded_waits: as the triggerer does at the timeout)
    assert not any((kokuho_var / "inbox" / "counter").iterdir()) and not any((kokuho_var / "inbox" / "cvs").iterdir())

    dr = _run("kokuho_collection", pay_date, 5)

    states = ti_states(dr)
    assert dr.state == "success", states
    skipped = {"wait_counter_file", "sn200", "sn205", "wait_cvs_file", "sn210", "sn215"}
    assert {t for t, s in states.items() if s == "skipped"} == skipped, states
    assert {t for t, s in states.items() if s == "success"} == set(KB400_TASKS) - skipped
    assert _ledger_figures() == figs

    # --- KB410 口座振替請求 on the request day of the first 納期限 --------------------------------------
    # KB410-WAIT waits for that day's SN100 (issue 12): KB400 of the request day (no payment files yet)
    dr = _run("kokuho_collection", request_day, 8)
    assert dr.state == "success" and ti_states(dr)["sn100"] == "success", ti_states(dr)
    assert _ledger_figures()["levy"] == figs["levy"]  # the 調定 file is not registered twice
    dr = _run("kokuho_direct_debit", request_day, 6)

    _assert_all_success(dr)
    rows = run_rows(dr)
    assert sorted(rows) == ["SN010", "SN020", "SN120"]
    assert rows["SN020"]["written"] > 0  # the city's 口座振替依頼書, taken in by SN010
    requests = [Path(f) for f in rows["SN120"]["files"]]
    assert requests and rows["SN120"]["figures"]["request_files"] == len(requests)
    for f in requests:  # one file per bank: var/outbox/bank/<bank>/KOUFURI_<団体コード>_<bank>_<振替日>.dat
        assert f.is_file() and f.parent.parent == kokuho_var / "outbox" / "bank", f
        assert f.name == f"KOUFURI_111007_{f.parent.name}_{first_due:%Y%m%d}.dat", f
    assert not any((kokuho_var / "inbox" / "koufuri").iterdir())

    # --- the banks' results, then KB210 on the 振替日 -------------------------------------------------
    bank_inbox = kokuho_var / "inbox" / "bank"
    bank_inbox.mkdir(parents=True, exist_ok=True)
    results = [sp.write_debit_result_file(f, bank_inbox / f"KEKKA_{f.parent.name}_{f.stem}.dat", rng=i,
                                          failure_rates={"1": 0.2, "2": 0.05})
               for i, f in enumerate(requests)]
    before = _ledger_figures()
    requested = rows["SN120"]["money"]["request_amount"]

    dr = _run("kokuho_bank_result", first_due, 7)

    _assert_all_success(dr)
    rows = run_rows(dr)
    assert sorted(rows) == ["SN110", "SN115", "SN130"]
    after = _ledger_figures()
    debited = sum(r["amount"] - r["failed_amount"] for r in results)
    failed = sum(r["failed"] for r in results)
    assert after["recon"].get(("debit", "posted"), (0, 0)) == (sum(r["records"] - r["failed"] for r in results), debited)
    assert after["recon"].get(("debit", "debit_failed"), (0, 0))[0] == failed > 0
    assert after["paid"] == after["payments"] == before["paid"] + debited
    assert sum(r["amount"] for r in results) == requested
    assert rows["SN115"]["money"]["posted"] == rows["SN130"]["money"]["done"] == debited
    assert rows["SN130"]["money"]["failed"] == sum(r["failed_amount"] for r in results)
    pdfs = [Path(f) for f in rows["SN130"]["files"] if f.endswith(".pdf")]
    assert pdfs and all(p.read_bytes().startswith(b"%PDF") for p in pdfs), rows["SN130"]
    assert all(p.parent == kokuho_var / "reports" / "collection" / f"m111007_fy2026_d{first_due:%Y%m%d}" for p in pdfs)
    assert not any(bank_inbox.iterdir())
