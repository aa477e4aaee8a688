"""End to end through Airflow: KB610 催告ジョブネット on a small synthetic city, with ``dag.test()`` on
the real DAG file (tests/conftest.py: the session's temporary metadata DB; the ``kokuho_var`` fixture:
this test's own var/; the ledger: its DuckDB file, or a PostgreSQL schema of its own).

1. KB100 取込 and KB300 当初賦課 through Airflow (as test_arrears_dags.py), then the ledger's 調定
   (SN100) and the 督促状 of the first 納期限 (TN010, TN020) with ``kokuho run``'s runner: nobody pays.
2. KB610 on the first 催告 day (run_calendar ``reminder``) after the 督促 day: TN110 writes the
   管理帳票, TN120 the 現年催告書 or, on a 一斉催告 day, the 一斉催告書 (one arrears_reminder per 督促済 taxpayer, the print file with its
   .sha256 and the PDFs), TN130 the call centre's list, TN140 has no file (RC 0), TN150 asks no bank
   (no 催告書 is old enough yet; tests/arrears/test_property_inquiry.py has the 照会書).
3. The call centre's result file is dropped and KB610 runs again the same day: nothing recorded
   twice (KKB642I), the print file byte for byte the same, the phone 催告 registered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pendulum
import pytest
from e2e_helpers import assert_all_success, ledger_scalar, load_dag, run_rows, synth_city

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("airflow_db")]

INSURED = 120
SEED = 20261207
INTAKE_DATE = "2026-06-01"
ASSESS_DATE = "2026-07-01"  # config/municipalities/111007/fy2026/run_calendar.yaml initial_assessment.run_date



def _run(dag_id: str, business_date, day: int):
    return load_dag(dag_id).test(logical_date=pendulum.datetime(2026, 11, day, 9, 0, tz="Asia/Tokyo"),
                                 run_conf={"business_date": str(business_date)})


def _step(job_id: str, day: dt.date) -> None:
    from jobs.runner import run_job

    res = run_job(job_id, business_date=day, municipality="111007")
    assert res.rc in (0, 4), res.log_text


def test_reminder_job_net(kokuho_var: Path, ledger_backend):
    from jobs.arrears import dunning as dn
    from jobs.common import config
    from jobs.common.bizcal import BusinessCalendar
    from jobs.common.runcalendar import monthly_rule
    from jobs.synth import payments as sp

    synth_city(kokuho_var / "inbox", insured=INSURED, seed=SEED)
    assert_all_success(_run("kokuho_intake", INTAKE_DATE, 1))
    assert_all_success(_run("kokuho_initial_assessment", ASSESS_DATE, 2))
    levy = sp.load_levy(sorted((kokuho_var / "outbox" / "ledger").glob("*.dat")))
    first_due = levy.filter(levy["collection_method"] == "1")["due_date"].min()
    cfg = config.load("111007", 2026)
    cal = BusinessCalendar.from_config(cfg)
    dunning_day = dn.dunning_day(first_due, dn.DunningRules.from_config(cfg), cal)
    _step("SN100", dt.date(2026, 7, 1))
    _step("TN010", dunning_day)
    _step("TN020", dunning_day)
    dunned_people = int(ledger_scalar("SELECT COUNT(DISTINCT person_id) FROM installment WHERE dunning_issued_date IS NOT NULL"))
    assert dunned_people > 0
    remind_day = monthly_rule("reminder", cfg).next_run_day(dunning_day + dt.timedelta(days=1), cal)
    assert remind_day is not None and remind_day > dunning_day
    # the first 催告 day may be a 一斉催告 day (08-25): then TN120 sends the 一斉催告書
    kind = "bulk" if monthly_rule("bulk_reminder", cfg).is_run_day(remind_day, cal) else "current"

    # --- KB610 on the first 催告 day after the 督促 day ---------------------------------------------
    dr = _run("kokuho_reminder", remind_day, 3)

    assert_all_success(dr)
    rows = run_rows(dr)
    assert sorted(rows) == ["TN110", "TN120", "TN130", "TN140", "TN150"]
    for job_id, row in rows.items():
        assert row["rc"] == 0 and row["business_date"] == remind_day.isoformat(), (job_id, row["messages"])
    assert rows["TN110"]["money"]["arrears"] == int(ledger_scalar(
        "SELECT SUM(levy_amount - paid_amount - provisional_amount) FROM installment WHERE dunning_issued_date IS NOT NULL"))
    reminders = int(ledger_scalar(f"SELECT COUNT(*) FROM arrears_reminder WHERE reminder_kind = '{kind}'"))
    assert reminders == dunned_people  # every 督促済 taxpayer owes this year's tax (min_amount 1), none held
    assert rows["TN120"]["written"] == int(ledger_scalar("SELECT COUNT(*) FROM arrears_reminder_item"))
    prints = sorted((kokuho_var / "outbox" / "print").glob(f"reminder_{kind}_*.dat"))
    assert len(prints) == 1, prints
    first_print = prints[0].read_bytes()
    sidecar = prints[0].with_name(prints[0].name + ".sha256")
    assert hashlib.sha256(first_print).hexdigest() in sidecar.read_text(encoding="utf-8")
    reports = kokuho_var / "reports" / "arrears"
    assert len(list(reports.glob(f"*/saikoku_{kind}/saikoku_{kind}_*.pdf"))) >= 1
    assert len(list(reports.glob("*/taino_kanri.pdf"))) == 1
    phone = next(reports.glob("*/denwa_saikoku_taisho.csv")).read_bytes()
    assert phone.startswith(b"\xef\xbb\xbf") and "個人番号".encode() not in phone
    person = ledger_scalar("SELECT MIN(person_id) FROM arrears_reminder")
    # TN150 財産調査照会: nobody's 催告書 is days_after_reminder old yet, so no 照会 (RC 0)
    assert any("KKB656I" in m for m in rows["TN150"]["messages"]), rows["TN150"]["messages"]
    assert int(ledger_scalar("SELECT COUNT(*) FROM arrears_reminder WHERE reminder_kind = 'inquiry'")) == 0

    # --- the call centre's results, and the same day again ----------------------------------------------
    inbox = kokuho_var / "inbox" / "arrears"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "denwa_01.csv").write_text(f"宛名番号,架電日,結果,約束期日\n{person},{remind_day.isoformat()},本人,"
                                        f"{(remind_day + dt.timedelta(days=14)).isoformat()}\n", encoding="utf-8")

    dr = _run("kokuho_reminder", remind_day, 4)

    assert_all_success(dr)
    again = run_rows(dr)
    assert any("KKB642I" in m for m in again["TN120"]["messages"]), again["TN120"]["messages"]
    assert int(ledger_scalar(f"SELECT COUNT(*) FROM arrears_reminder WHERE reminder_kind = '{kind}'")) == reminders
    assert prints[0].read_bytes() == first_print
    assert int(ledger_scalar("SELECT COUNT(*) FROM arrears_reminder WHERE reminder_kind = 'phone'")) == 1
    assert again["TN140"]["rc"] == 0
