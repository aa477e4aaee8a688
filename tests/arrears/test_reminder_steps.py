"""KB610 滞納者把握 and 催告 through the real steps, on DuckDB and PostgreSQL: TN110 (滞納 per taxpayer,
現年度 / 過年度, the 管理帳票), TN120 (現年催告書 on a 催告 day, 一斉催告書 on a bulk_reminder day, held
installments left out, never twice for a day and kind, the same bytes on a rerun), TN130 (the call
centre's list) and TN140 (phone results with 約束期日, rejects, a re-sent file refused).

The city: 督促状 issued on 2026-08-20 (TN010/TN020) for
    0000000001  2026 第1期 50,000 (納期限 2026-07-31)  → 現年催告
    0000000002  2026 第1期 30,000 (2026-07-31)          → held by an 執行停止 from 2026-09-01
    0000000003  2025 第1期  5,000 (2025-07-31)          → 過年度: only in the 一斉催告
and 0000000004  2026 第2期 20,000 (2026-08-31), unpaid but not yet 督促済 on 2026-09-10.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import polars as pl
import pytest
from collection_helpers import (
    D,
    drop,
    error_rows,
    levy_file,
    levy_row,
    msg_ids,
    put_levy,
    q,
    run,
    write_qualification,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.arrears.reminder_steps import band_of, taxpayers
from jobs.common import fixedwidth as fw
from jobs.common import paths
from jobs.ledger import Run, audit_columns

DUNNING_DAY = D(2026, 8, 20)
REMIND_DAY = D(2026, 9, 10)  # run_calendar reminder.run_days [10]
PAY_BY = D(2026, 9, 24)  # 9/20 (Sun) → 9/21 敬老の日, 9/22 国民の休日, 9/23 秋分の日 → 9/24
PHONE_DAY = D(2026, 9, 18)  # 8 days after the 催告 (phone.days_after_reminder 7)
BULK_DAY = D(2026, 8, 25)  # bulk_reminder.dates 08-25 (a Tuesday; 12-25 needs the 2027 late_fee rate)


def _city() -> None:
    put_levy(levy_file([levy_row("10000000001", 1, 50_000, due_date=D(2026, 7, 31)),
                        levy_row("10000000002", 1, 30_000, due_date=D(2026, 7, 31)),
                        levy_row("10000000004", 2, 20_000, due_date=D(2026, 8, 31))]), "levy_2026.dat")
    put_levy(levy_file([levy_row("10000000003", 1, 5_000, levy_year=2025, due_date=D(2025, 7, 31),
                                 levy_date=D(2025, 7, 1))], levy_year=2025, creation_date=D(2025, 7, 1)),
             "levy_2025.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification(["0000000001", "0000000002", "0000000003", "0000000004"])
    assert run("TN010", DUNNING_DAY).rc == 0
    res = run("TN020", DUNNING_DAY)
    assert res.rc == 0, res.log_text
    assert res.totals.money["tax"] == 85_000
    _suspend("0000000002", D(2026, 9, 1))


def _suspend(person_id: str, start) -> None:
    from collection_helpers import open_ledger

    row = {"suspension_id": f"S{person_id}", "municipality_code": "111007", "person_id": person_id,
           "reason_code": "1", "start_date": start, "immediate_extinction": False, "lifted_date": None,
           "note": None, "source_sha256": "0" * 64, "record_no": 1, "job_id": "TEST"}
    ledger = open_ledger()
    try:
        with ledger.transaction() as tx:
            tx.insert("arrears_suspension", pl.DataFrame([row]).with_columns(
                pl.col("lifted_date").cast(pl.Date), pl.col("note").cast(pl.String),
                *audit_columns(Run("111007", start, "TEST", "g", operator_id="test", run_id="t"))))
    finally:
        ledger.dispose()


def _csv(path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"))))


def test_grasp_remind_phone(ledger_url):
    _city()

    # --- TN110 滞納者把握 ---------------------------------------------------------------------------
    res = run("TN110", REMIND_DAY)
    assert res.rc == 0, res.log_text
    assert "KKB631I" in msg_ids(res)  # 0000000004's 第2期: past due, no 督促状 yet
    m = res.totals.money
    assert (m["arrears"], m["arrears_current"], m["arrears_past"], m["arrears_held"]) == (85_000, 80_000, 5_000, 30_000)
    assert res.totals.by_record_type["taxpayer"].read == 3
    folder = paths.reports_root() / "arrears" / "m111007_fy2026_d20260910"
    listing = {r["宛名番号"]: r for r in _csv(folder / "taino_ichiran.csv")}
    assert sorted(listing) == ["0000000001", "0000000002", "0000000003"]
    assert listing["0000000003"]["過年度分"] == "5000" and listing["0000000003"]["経過日数"] == "406"
    assert listing["0000000002"]["うち保留"] == "30000"
    assert "個人番号" not in (folder / "taino_ichiran.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    kanri = _csv(folder / "taino_kanri.csv")
    assert sum(int(r["滞納者数"]) for r in kanri) == 3 and sum(int(r["滞納額"]) for r in kanri) == 85_000
    cell = [r for r in kanri if r["滞納額"] == "50000"]
    assert [(c["滞納額区分"], c["経過日数区分"]) for c in cell] == [("5万円〜10万円未満", "0日〜90日未満")]
    assert (folder / "taino_kanri.pdf").read_bytes().startswith(b"%PDF")
    outputs = {p: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert run("TN110", REMIND_DAY).rc == 0
    assert {p: p.read_bytes() for p in folder.iterdir() if p.is_file()} == outputs  # a rerun: the same bytes

    # --- TN120 現年催告書 ---------------------------------------------------------------------------
    res = run("TN120", REMIND_DAY)
    assert res.rc == 0, res.log_text
    assert res.totals.money["tax"] == 50_000 and res.totals.figures["reminders"] == 1
    assert q("SELECT reminder_id, person_id, reminder_kind, amount, installments FROM arrears_reminder").rows() == [
        ("1202609100000000001", "0000000001", "current", 50_000, 1)]
    assert q("SELECT levy_year, notice_number, installment_no, balance FROM arrears_reminder_item").rows() == [
        (2026, "10000000001", 1, 50_000)]
    dat = paths.outbox("print") / "reminder_current_m111007_fy2026_d20260910.dat"
    got = fw.read(fw.load_layout("reminder_notice_print"), dat)
    assert got.totals["rejected"] == 0
    d = got.frames["data"].row(0, named=True)
    assert (d["reminder_no"], d["tax_amount"], d["pay_by"], d["item_seq"], d["item_count"]) == (
        "1202609100000000001", 50_000, PAY_BY, 1, 1)
    assert d["late_fee_amount"] == 0  # 50,000 × (2.8% 31 days + 8.7% 24 days) = 404 → under 1,000: not collected
    assert d["barcode"] and d["barcode"][30:43] == "2609240050000"  # 支払期限 指定期限, 印紙 0, 金額 本税
    pdf = folder / "saikoku_current" / "saikoku_current_001.pdf"
    assert res.totals.figures["pdf_pages"] == 2 and res.totals.figures["barcodes"] == 1
    first = {p: p.read_bytes() for p in (dat, pdf)}
    # rerun: nothing recorded twice, the same bytes
    res = run("TN120", REMIND_DAY)
    assert res.rc == 0 and "KKB642I" in msg_ids(res), res.log_text
    assert {p: p.read_bytes() for p in first} == first
    assert q("SELECT COUNT(*) AS n FROM arrears_reminder").item() == 1

    # --- TN130 電話催告対象者リスト / TN140 電話催告結果取込 ----------------------------------------------
    res = run("TN130", PHONE_DAY)
    assert res.rc == 0, res.log_text
    phone_csv = paths.reports_root() / "arrears" / "m111007_fy2026_d20260918" / "denwa_saikoku_taisho.csv"
    rows = _csv(phone_csv)
    assert [(r["宛名番号"], r["滞納額"], r["最終催告日"], r["最終催告種別"]) for r in rows] == [
        ("0000000001", "50000", "2026-09-10", "現年催告")]  # 0000000003: under 10,000; 0000000002: held
    assert "個人番号" not in rows[0]
    content = ("宛名番号,架電日,結果,約束期日,備考\r\n"
               "0000000001,2026-09-17,本人と話した,2026-09-30,分納の相談あり\r\n"
               "0000000009,2026-09-17,不在,,\r\n"
               "0000000003,2026-09-31,不在,,\r\n"
               "0000000003,2026-09-17,本人,2026-09-01,\r\n").encode("utf-8")
    drop(content, "arrears", "denwa_20260918.csv")
    res = run("TN140", PHONE_DAY)
    assert res.rc == 4, res.log_text
    t = res.totals.by_record_type["phone"]
    assert (t.read, t.accepted, t.rejected) == (4, 1, 3)
    errs = error_rows(res)
    assert len(errs) == 3
    assert q("SELECT person_id, reminder_kind, reminder_date, promise_date, amount FROM arrears_reminder "
             "WHERE reminder_kind = 'phone'").rows() == [("0000000001", "phone", D(2026, 9, 17), D(2026, 9, 30),
                                                          50_000)]
    # the same file again: refused, nothing registered
    res = run("TN140", PHONE_DAY)
    assert res.rc == 4 and "KKB651W" in msg_ids(res) and "KKB638I" in msg_ids(res)
    assert q("SELECT COUNT(*) AS n FROM arrears_reminder WHERE reminder_kind = 'phone'").item() == 1
    # a 約束期日 still to come takes the taxpayer off the list
    res = run("TN130", PHONE_DAY)
    assert res.rc == 0 and _csv(phone_csv) == []

    # --- TN120 on a 一斉催告 day: every year (on 8/25 the 執行停止 of 0000000002 has not started) ------
    res = run("TN120", BULK_DAY)
    assert res.rc == 0, res.log_text
    assert "KKB634I" in msg_ids(res)
    bulk = q("SELECT person_id, amount FROM arrears_reminder WHERE reminder_kind = 'bulk' ORDER BY person_id").rows()
    assert bulk == [("0000000001", 50_000), ("0000000002", 30_000), ("0000000003", 5_000)]
    got = fw.read(fw.load_layout("reminder_notice_print"), paths.outbox("print") / "reminder_bulk_m111007_fy2026_d20260825.dat")
    assert got.frames["header"]["reminder_kind"].to_list() == ["2"]
    assert got.frames["trailer"].row(0, named=True)["tax_total"] == 85_000
    assert got.frames["data"]["levy_year"].to_list() == ["2026", "2026", "2025"]

    # the 一斉催告 of 12-25: its 指定期限 falls in 2027, which has no 延滞金 rate yet → RC 8, nothing recorded
    res = run("TN120", D(2026, 12, 25))
    assert res.rc == 8 and "KKB650E" in msg_ids(res)
    assert q("SELECT COUNT(*) AS n FROM arrears_reminder WHERE reminder_date = DATE '2026-12-25'").item() == 0


def _insert(table: str, row: dict, day) -> None:
    from collection_helpers import open_ledger

    ledger = open_ledger()
    try:
        with ledger.transaction() as tx:
            tx.insert(table, pl.DataFrame([row]).with_columns(
                *audit_columns(Run("111007", day, "TEST", "g", operator_id="test", run_id="t"))))
    finally:
        ledger.dispose()


def test_plan_held_missing_address_and_plan_status(ledger_url):
    """A 分割納付 plan holds its installments from the 催告 (and shows in the 履行状況); a 滞納者 whose
    宛名 is gone from the latest 国保資格 gets no 催告 (RC 4, error list) and is not recorded, so the
    next 催告 day picks him up again."""
    put_levy(levy_file([levy_row("10000000001", 1, 50_000, due_date=D(2026, 7, 31)),
                        levy_row("10000000002", 1, 30_000, due_date=D(2026, 7, 31)),
                        levy_row("10000000003", 1, 20_000, due_date=D(2026, 7, 31))]), "levy_plan.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification(["0000000001", "0000000002", "0000000003"])
    assert run("TN010", DUNNING_DAY).rc == 0
    assert run("TN020", DUNNING_DAY).rc == 0
    write_qualification(["0000000001", "0000000002"], business_date=D(2026, 9, 1))  # 0000000003 moved out
    _insert("arrears_plan", {"plan_id": "P0000000002", "municipality_code": "111007", "person_id": "0000000002",
                             "household_id": "0000000002", "registered_date": D(2026, 9, 1),
                             "first_due_date": D(2026, 9, 30), "last_due_date": D(2026, 11, 30), "plan_amount": 30_000,
                             "installment_count": 3, "paid_at_registration": 0, "status": "active",
                             "status_date": None, "source_sha256": "1" * 64, "job_id": "TEST"}, D(2026, 9, 1))
    _insert("arrears_plan_target", {"plan_id": "P0000000002", "levy_year": 2026, "notice_number": "10000000002",
                                    "installment_no": 1, "municipality_code": "111007", "due_date": D(2026, 7, 31),
                                    "balance": 30_000}, D(2026, 9, 1))

    res = run("TN110", REMIND_DAY)
    assert res.rc == 0, res.log_text
    assert "KKB633I" in msg_ids(res) and res.totals.money["arrears_held"] == 30_000
    folder = paths.reports_root() / "arrears" / "m111007_fy2026_d20260910"
    assert [(r["状態"], r["計画数"], r["計画額"]) for r in _csv(folder / "bunkatsu_rikou.csv")] == [("履行中", "1", "30000")]
    listing = {r["宛名番号"]: r["氏名"] for r in _csv(folder / "taino_ichiran.csv")}
    assert listing["0000000003"] == ""  # the internal list keeps him, without a name

    res = run("TN120", REMIND_DAY)
    assert res.rc == 4 and "KKB635W" in msg_ids(res), res.log_text
    assert q("SELECT person_id FROM arrears_reminder").rows() == [("0000000001",)]
    errs = error_rows(res)
    assert len(errs) == 1 and "0000000003" in str(errs.row(0))
    assert res.totals.figures["held"] == 1
    t = res.totals.by_record_type["target"]
    assert (t.read, t.accepted, t.rejected) == (2, 1, 1)


@pytest.mark.parametrize("amount,band", [(0, 0), (9_999, 0), (10_000, 1), (49_999, 1), (50_000, 2),
                                         (1_000_000, 5), (9_999_999, 5)])
def test_band_of_the_configured_bounds(amount, band):
    assert band_of(amount, [0, 10000, 50000, 100000, 300000, 1000000]) == band


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.sampled_from([2024, 2025, 2026]), st.integers(1, 10),
                          st.integers(1, 400_000), st.integers(0, 900), st.booleans()), min_size=0, max_size=40,
                unique_by=lambda t: (t[0], t[1], t[2])))
def test_taxpayers_conserve_the_arrears(rows):
    """Per taxpayer sums add up to the items to the yen; 現年度 + 過年度 = 滞納額; each taxpayer's bands
    hold his amount and age."""
    as_of = D(2026, 12, 1)
    items = pl.DataFrame({
        "person_id": [f"{p:010d}" for p, *_ in rows], "household_id": [f"{p:010d}" for p, *_ in rows],
        "levy_year": [y for _, y, *_ in rows], "notice_number": [f"1{p:010d}" for p, *_ in rows],
        "installment_no": [k for _, _, k, *_ in rows], "due_date": [as_of - dt.timedelta(days=a) for *_, a, _ in rows],
        "balance": [b for _, _, _, b, _, _ in rows], "held": ["plan" if h else None for *_, h in rows]},
        schema={"person_id": pl.String, "household_id": pl.String, "levy_year": pl.Int32, "notice_number": pl.String,
                "installment_no": pl.Int32, "due_date": pl.Date, "balance": pl.Int64, "held": pl.String})
    amount_bounds, age_bounds = [0, 10000, 50000, 100000, 300000, 1000000], [0, 90, 180, 365, 730, 1095]
    out = taxpayers(items, as_of=as_of, fy=2026, amount_bounds=amount_bounds, age_bounds=age_bounds)
    assert int(out["amount"].sum() or 0) == sum(r[3] for r in rows)
    assert out.height == len({r[0] for r in rows})
    assert int(out["installments"].sum() or 0) == len(rows)
    for r in out.iter_rows(named=True):
        assert r["current_amount"] + r["past_amount"] == r["amount"]
        assert 0 <= r["held_amount"] <= r["amount"]
        a, g = r["amount_band"], r["age_band"]
        assert amount_bounds[a] <= r["amount"] and (a == len(amount_bounds) - 1 or r["amount"] < amount_bounds[a + 1])
        assert age_bounds[g] <= r["age_days"] and (g == len(age_bounds) - 1 or r["age_days"] < age_bounds[g + 1])
