"""End to end through Airflow: the 滞納 job nets KB700 月次締め and KB600 督促 on a small synthetic
city, with ``dag.test()`` on the real DAG files (tests/conftest.py: the session's temporary metadata
DB; the ``kokuho_var`` fixture: this test's own var/; the ledger: its DuckDB file var/ledger/ledger.duckdb,
or a PostgreSQL schema of its own, as the ledger tests do).

1. KB100 取込, KB300 当初賦課, then KB400 収納消込 with synthetic counter and CVS files (as
   test_collection_dags.py builds the city), a week after the first 納期限.
2. KB700 on the first business day of the month after the first 納期限's month (a manual run
   always goes on): TN510 closes that month, Σ調定 − Σ収入 + Σ還付 − Σ不納欠損 = Σ収入未済 in its
   control totals, TN520 writes the 決算帳票 CSV and PDF, TN530 (TN630's function) the 滞納状況 file
   for 国保年金課; a posting dated in the closed month is then refused by the ledger (KKB662E, nothing
   posted).
3. KB600 on the 督促 day of the first 納期限 (jobs.arrears.dunning.dunning_day): TN010/TN020 issue
   the 督促状 (one dunning_notice row each, the print file and its .sha256 in var/outbox/print/);
   a second run the same day issues nothing new.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pendulum
import polars as pl
import pytest
from e2e_helpers import (
    assert_all_success,
    bound_file_waits,
    ledger_scalar,
    load_dag,
    run_rows,
    synth_city,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

INSURED = 200
SEED = 20261206
PAY_SEED = 7
INTAKE_DATE = "2026-06-01"
ASSESS_DATE = "2026-07-01"  # config/municipalities/111007/fy2026/run_calendar.yaml initial_assessment.run_date
WAIT_SECONDS = 3




def _run(dag_id: str, business_date: str | dt.date, day: int):
    # one logical date per run: dag.test() replaces an earlier run of the same DAG and date
    return load_dag(dag_id).test(logical_date=pendulum.datetime(2026, 12, day, 9, 0, tz="Asia/Tokyo"),
                                 run_conf={"business_date": str(business_date)})


@pytest.fixture
def bounded_waits(monkeypatch):
    """As in test_collection_dags.py: a deferred file wait gives up after a few seconds."""
    bound_file_waits(monkeypatch, WAIT_SECONDS)


def _late_payment(on: dt.date) -> None:
    """A counter payment received ``on`` (a date in a closed month), posted the way the 消込 does:
    the ledger's bulk insert of 納付履歴, one transaction."""
    from jobs.ledger import Ledger, Run, audit_columns

    ledger = Ledger.open()
    try:
        inst = ledger.frame("SELECT levy_year, notice_number, installment_no FROM installment "
                            "ORDER BY levy_year, notice_number, installment_no LIMIT 1").row(0, named=True)
        row = {"source_sha256": "e2e-late-posting" + "0" * 48, "record_no": 1, "line_no": 1,
               "municipality_code": "111007", "levy_year": inst["levy_year"], "target_year": inst["levy_year"],
               "notice_number": inst["notice_number"], "installment_no": inst["installment_no"],
               "business_code": "0001", "collection_method": "1", "latest_flag": True, "refund_offset_kind": "0",
               "cash_kind": "1", "tax_amount": 100, "received_date": on, "paid_date": on, "payment_kind": "01",
               "channel": "counter", "job_id": "TEST", "generation": "g"}
        run = Run("111007", on, "TEST", "g", operator_id="test", run_id="t")
        with ledger.transaction() as tx:
            tx.insert("payment", pl.DataFrame([row]).with_columns(
                pl.col("levy_year", "target_year", "installment_no", "line_no").cast(pl.Int32), *audit_columns(run)))
    finally:
        ledger.dispose()


def test_month_close_and_dunning_job_nets(kokuho_var: Path, tmp_path: Path, bounded_waits, ledger_backend):
    from jobs.arrears import dunning as dn
    from jobs.common import config
    from jobs.common.bizcal import BusinessCalendar
    from jobs.ledger import LedgerError
    from jobs.synth import payments as sp

    synth_city(kokuho_var / "inbox", insured=INSURED, seed=SEED)
    assert_all_success(_run("kokuho_intake", INTAKE_DATE, 1))
    assert_all_success(_run("kokuho_initial_assessment", ASSESS_DATE, 2))
    levy_files = sorted((kokuho_var / "outbox" / "ledger").glob("*.dat"))
    levy = sp.load_levy(levy_files)
    first_due = levy.filter(levy["collection_method"] == "1")["due_date"].min()
    cfg = config.load("111007", 2026)
    cal = BusinessCalendar.from_config(cfg)
    pay_date = cal.roll_forward(first_due + dt.timedelta(days=7))
    for m in sp.generate(levy_files, tmp_path / "payments", business_date=pay_date, seed=PAY_SEED,
                         channels=("counter", "cvs")):
        src = Path(m["file"])
        (kokuho_var / "inbox" / src.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, kokuho_var / "inbox" / src.parent.name / src.name)
    assert_all_success(_run("kokuho_collection", pay_date, 3))
    payments = int(ledger_scalar("SELECT COUNT(*) FROM payment"))
    assert payments > 0
    # the steps used this test's ledger: DuckDB's file in var/ledger/ only when on DuckDB
    assert (kokuho_var / "ledger" / "ledger.duckdb").is_file() == (ledger_backend == "duckdb")

    # --- KB700 月次締め on the first business day of the month after the first 納期限's month -----------
    next_month = (first_due.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    close_day = cal.roll_forward(next_month)
    ym = f"{first_due:%Y%m}"

    dr = _run("kokuho_month_close", close_day, 4)

    assert_all_success(dr)
    rows = run_rows(dr)
    assert sorted(rows) == ["TN510", "TN520", "TN530"]
    for job_id, row in rows.items():
        assert row["rc"] == 0 and row["business_date"] == close_day.isoformat(), (job_id, row["messages"])
    money = rows["TN510"]["money"]
    levy_sum, income, refund, write_off, unpaid = (money[f"conservation.{k}"] for k in
                                                   ("levy", "income", "refund", "write_off", "unpaid"))
    assert levy_sum > 0 and income > 0, money
    assert levy_sum - income + refund - write_off == unpaid
    assert levy_sum == int(ledger_scalar("SELECT SUM(levy_amount) FROM installment"))  # all 調定 dated before
    assert rows["TN520"]["money"]["conservation.unpaid"] == unpaid
    assert any("KKB661I" in m for m in rows["TN510"]["messages"]), rows["TN510"]["messages"]
    books = list((kokuho_var / "reports" / "closing").glob(f"*/kessan_{ym}.*"))
    assert sorted(p.suffix for p in books) == [".csv", ".pdf"], books
    pdf = next(p for p in books if p.suffix == ".pdf")
    csv = next(p for p in books if p.suffix == ".csv")
    assert pdf.read_bytes().startswith(b"%PDF") and csv.read_bytes().startswith("\ufeff".encode())
    assert int(ledger_scalar(f"SELECT COUNT(*) FROM closing_month WHERE closing_month = '{ym}'")) == 1
    # TN530 (TN630's function) after the closing: the 滞納状況 for 国保年金課 (給付), no 個人番号
    handover = kokuho_var / "outbox" / "kyufu" / f"taino_jokyo_{close_day:%Y%m%d}.csv"
    assert handover.is_file(), rows["TN530"]["messages"]
    kyufu = pl.read_csv(handover, infer_schema=False)
    assert kyufu.columns[:3] == ["世帯番号", "納税義務者宛名番号", "滞納期数"] and "個人番号" not in kyufu.columns
    assert any("KKB683I" in m for m in rows["TN530"]["messages"]), rows["TN530"]["messages"]
    assert rows["TN530"]["money"]["handover.amount"] == sum(int(x) for x in kyufu["滞納額"])
    assert 0 < kyufu.height <= int(ledger_scalar("SELECT COUNT(DISTINCT notice_number) FROM installment"))

    # a posting dated in the closed month is refused, nothing posted
    with pytest.raises(LedgerError, match="月次締め済み"):
        _late_payment(first_due)
    assert int(ledger_scalar("SELECT COUNT(*) FROM payment")) == payments

    # --- KB600 督促 on the 督促 day of the first 納期限 -----------------------------------------------
    dunning_day = dn.dunning_day(first_due, dn.DunningRules.from_config(cfg), cal)
    assert dunning_day > first_due
    # KB600-WAIT 収納消込待ち: that day's KB400 (its last step SN400, here alone: no payment file that day)
    from jobs.runner import run_job
    assert run_job("SN400", business_date=dunning_day).rc == 0

    dr = _run("kokuho_dunning", dunning_day, 5)

    assert_all_success(dr)
    rows = run_rows(dr)
    assert {"TN010", "TN020"} <= set(rows)
    for job_id, row in rows.items():
        assert row["rc"] in (0, 4) and row["business_date"] == dunning_day.isoformat(), (job_id, row["messages"])
    notices = int(ledger_scalar("SELECT COUNT(*) FROM dunning_notice"))
    assert notices > 0
    assert rows["TN020"]["written"] == notices
    prints = sorted((kokuho_var / "outbox" / "print").glob("dunning_notice_*.dat"))
    assert len(prints) == 1, prints
    sidecar = prints[0].with_name(prints[0].name + ".sha256")
    first_print = prints[0].read_bytes()
    assert hashlib.sha256(first_print).hexdigest() in sidecar.read_text(encoding="utf-8")

    # --- the same day again: nothing new issued (never twice) ------------------------------------------
    dr = _run("kokuho_dunning", dunning_day, 6)

    assert_all_success(dr)
    again = run_rows(dr)
    assert int(ledger_scalar("SELECT COUNT(*) FROM dunning_notice")) == notices
    assert any("KKB606I" in m for m in again["TN020"]["messages"]), again["TN020"]["messages"]
    # the same day's print file written again, byte for byte (the generation is the business date's)
    assert sorted((kokuho_var / "outbox" / "print").glob("dunning_notice_*.dat")) == prints
    assert prints[0].read_bytes() == first_print
