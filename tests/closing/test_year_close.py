"""KB710 年次 on a synthetic multi-year ledger, on DuckDB and PostgreSQL: TN620 不納欠損 (時効 with its
renewals by 督促 and 納付, 執行停止3年, 即時消滅: 地方税法18条, 18条の2, 15条の7④⑤), TN610 出納閉鎖・
滞納繰越 (Σ 収入未済 of FY2026 at 2027-05-31 = Σ 滞納繰越分 調定 of FY2027, to the yen), TN630
滞納状況引継, the month books afterwards (不納欠損額, 滞納繰越分), the money conservation after each
step, and byte-identical reruns with no double posting.

The ledger (business date 2027-05-31, 出納閉鎖 of FY2026):

    A  FY2020 P1 30,000 due 2020-07-31, nothing since      → 時効完成 2025-07-31: 不納欠損 01
    B  FY2021 P1 20,000 due 2022-05-20, 督促 2022-06-10     → 2027-05-20 renewed to 2027-06-20: kept, carried
    C  FY2021 P4 10,000 due 2021-08-31, 2,000 paid 2022-06-15 → 2027-06-15 (承認): kept, 8,000 carried
    D  FY2023 P2 40,000 due 2023-07-31, 執行停止 2024-05-01 → 消滅 2027-05-01: 不納欠損 02
    L  FY2025 P2  6,000 due 2025-07-31: after the 執行停止's start, not covered by it → carried
    E  FY2026 P3 15,000 due 2026-07-31, 執行停止 2027-01-10 即時消滅 → 不納欠損 03
    F  FY2026 P1 50,000 due 2026-07-31, 10,000 paid 2026-07-20 → 40,000 carried
    G  FY2026 P1 25,000 due 2026-12-25, 5,000 paid 2027-04-15 (出納整理期間) → 20,000 carried
    H  FY2026 P5 12,000 due 2027-04-30 → 12,000 carried
    K  FY2026 P6 10,000 due 2026-07-31, 11,000 paid (1,000 還付未済: not carried)
"""

from __future__ import annotations

import datetime as dt
import hashlib

import collection_helpers as ch
import polars as pl
from closing_helpers import D, book, scalar

from jobs.common import datasets
from jobs.ledger import Run, audit_columns

DAY = D(2027, 5, 31)


def ids(res) -> list[str]:
    return [m.msg_id for m in res.messages]


def suspend(b, sid: str, person: str, start: dt.date, *, immediate: bool = False) -> None:
    row = {"suspension_id": sid, "municipality_code": ch.MUNI, "person_id": person, "reason_code": "1",
           "start_date": start, "immediate_extinction": immediate, "source_sha256": hashlib.sha256(sid.encode())
           .hexdigest(), "record_no": 1, "job_id": "TEST"}
    with b.ledger.transaction() as tx:
        tx.insert("arrears_suspension", pl.DataFrame([row]).with_columns(
            *audit_columns(Run(ch.MUNI, start, "TEST", "g", operator_id="test", run_id="t"))))


def seed(b) -> None:
    b.levy(2020, "0000000000A", 1, 30000, due=D(2020, 7, 31), person="P000000001")
    b.levy(2021, "0000000000B", 1, 20000, due=D(2022, 5, 20), person="P000000001")
    b.levy(2021, "0000000000C", 1, 10000, due=D(2021, 8, 31), person="P000000004")
    b.pay(2021, "0000000000C", 1, 2000, on=D(2022, 6, 15))
    b.levy(2023, "0000000000D", 1, 40000, due=D(2023, 7, 31), person="P000000002")
    b.levy(2025, "0000000000L", 1, 6000, due=D(2025, 7, 31), person="P000000002")
    b.levy(2026, "0000000000E", 1, 15000, due=D(2026, 7, 31), person="P000000003")
    b.levy(2026, "0000000000F", 1, 50000, due=D(2026, 7, 31), person="P000000001")
    b.pay(2026, "0000000000F", 1, 10000, on=D(2026, 7, 20))
    b.levy(2026, "0000000000G", 1, 25000, due=D(2026, 12, 25), person="P000000001")
    b.pay(2026, "0000000000G", 1, 5000, on=D(2027, 4, 15))
    b.levy(2026, "0000000000H", 1, 12000, due=D(2027, 4, 30), person="P000000005")
    b.levy(2026, "0000000000K", 1, 10000, due=D(2026, 7, 31), person="P000000006")
    b.pay(2026, "0000000000K", 1, 11000, on=D(2026, 7, 25))
    with b.ledger.transaction() as tx:
        tx.execute("UPDATE installment SET dunning_issued_date = :d WHERE notice_number = '0000000000B'",
                   {"d": D(2022, 6, 10)})
    suspend(b, "S1", "P000000002", D(2024, 5, 1))
    suspend(b, "S2", "P000000003", D(2027, 1, 10), immediate=True)


GOLDEN = ch.FIXTURES / "closing_books"


def golden(name: str, actual: bytes) -> None:
    """The file equals fixtures/closing_books/<name> (on mismatch: the actual written beside it)."""
    path = GOLDEN / name
    if not path.exists() or path.read_bytes() != actual:
        path.with_name(path.stem + "_actual" + path.suffix).write_bytes(actual)
    assert path.exists() and path.read_bytes() == actual, f"golden differs: see {path.stem}_actual{path.suffix}"


def files(kind: str) -> dict[str, bytes]:
    root = ch.paths.reports_root() / "closing"
    return {p.name: p.read_bytes() for p in sorted(root.rglob(f"{kind}*"))}


def test_year_close_write_off_carry_over_handover_and_books(ledger_url):
    with book() as b:
        seed(b)
    # --- TN620 不納欠損 ----------------------------------------------------------------------------
    res = ch.run("TN620", DAY)
    assert res.rc == 0, res.log_text()
    assert "KKB661I" in ids(res) and "KKB677I" in ids(res)
    wo = datasets.read("write_off_schedule", municipality=ch.MUNI).sort("notice_number")
    assert wo.select("notice_number", "write_off_kind", "tax_amount").rows() == [
        ("0000000000A", "01", 30000), ("0000000000D", "02", 40000), ("0000000000E", "03", 15000)]
    assert res.totals.money["write_off.total"] == 85000
    assert scalar("SELECT SUM(write_off_amount) FROM installment") == 85000
    assert scalar("SELECT SUM(tax_amount) FROM write_off") == 85000
    assert scalar("SELECT limitation_date FROM installment WHERE notice_number = '0000000000A'") == D(2025, 7, 31)
    csv = files("funou_kesson")
    assert csv["funou_kesson_20270531.csv"].decode("utf-8-sig").splitlines()[0].startswith("整理番号,賦課年度")
    assert csv["funou_kesson_20270531.pdf"].startswith(b"%PDF")
    golden("funou_kesson_20270531.csv", csv["funou_kesson_20270531.csv"])
    # rerun: nothing new, no double posting, the same 調書 bytes
    res2 = ch.run("TN620", DAY)
    assert res2.rc == 0 and "KKB678I" in ids(res2), res2.log_text()
    assert scalar("SELECT COUNT(*) FROM write_off") == 3
    assert files("funou_kesson") == csv

    # --- TN610 出納閉鎖・滞納繰越 -----------------------------------------------------------------------
    res = ch.run("TN610", DAY)
    assert res.rc == 0, res.log_text()
    assert {"KKB661I", "KKB669I", "KKB668I"} <= set(ids(res))
    carried = datasets.read("carry_over_schedule", municipality=ch.MUNI).sort("notice_number")
    assert carried.select("notice_number", "carried_tax_amount").rows() == [
        ("0000000000B", 20000), ("0000000000C", 8000), ("0000000000F", 40000), ("0000000000G", 20000),
        ("0000000000H", 12000), ("0000000000L", 6000)]
    # Σ 収入未済 of FY≤2026 at 2027-05-31 (106,000) − 還付未済 1,000 = the ledger's postings (105,000)
    assert res.totals.money["carried.levy"] == res.totals.money["carried.unpaid"] == 106000
    assert res.totals.money["carried.overpaid"] == 1000
    line = next(m.text for m in res.messages if m.msg_id == "KKB669I")
    assert "105,000円 / 台帳" in line and "一致" in line
    assert scalar("SELECT SUM(carried_tax_amount) FROM installment WHERE carried_year = 2027") == 106000
    # the components of the 繰越調定額 add up to it
    assert scalar("SELECT SUM(carried_medical_general + carried_support_general + carried_care_general) "
                  "FROM installment WHERE carried_year = 2027") == 106000
    first = files("taino_kurikoshi")
    assert set(first) == {"taino_kurikoshi_2027.csv", "taino_kurikoshi_2027.pdf"}
    body = first["taino_kurikoshi_2027.csv"].decode("utf-8-sig").splitlines()
    assert body[0].startswith("賦課年度,通知書番号") and len(body) == 7
    golden("taino_kurikoshi_2027.csv", first["taino_kurikoshi_2027.csv"])
    res2 = ch.run("TN610", DAY)
    assert res2.rc == 0 and "KKB674I" in ids(res2), res2.log_text()
    assert scalar("SELECT SUM(carried_tax_amount) FROM installment WHERE carried_year = 2027") == 106000
    assert files("taino_kurikoshi") == first

    # --- TN630 滞納状況引継 -----------------------------------------------------------------------------
    res = ch.run("TN630", DAY)
    assert res.rc == 0, res.log_text()
    out = (ch.paths.outbox("kyufu") / "taino_jokyo_20270531.csv").read_bytes()
    text = out.decode("utf-8-sig")
    assert "個人番号" not in text
    side = ch.paths.outbox("kyufu") / "taino_jokyo_20270531.csv.sha256"  # the hand-off's checksum beside it
    assert hashlib.sha256(out).hexdigest() in side.read_text(encoding="ascii")
    rows = [r.split(",") for r in text.splitlines()[1:]]
    assert rows == [["H000000001", "P000000001", "3", "80000", "20220520", "60", "1", "20270531"],
                    ["H000000002", "P000000002", "1", "6000", "20250731", "22", "1", "20270531"],
                    ["H000000004", "P000000004", "1", "8000", "20210831", "69", "1", "20270531"],
                    ["H000000005", "P000000005", "1", "12000", "20270430", "1", "0", "20270531"]]
    golden("taino_jokyo_20270531.csv", out)
    assert ch.run("TN630", DAY).rc == 0
    assert (ch.paths.outbox("kyufu") / "taino_jokyo_20270531.csv").read_bytes() == out

    # --- the month books afterwards ---------------------------------------------------------------------
    with book("june") as b2:
        b2.pay(2021, "0000000000B", 1, 5000, on=D(2027, 6, 10))
    res = ch.run("TN510", D(2027, 6, 1))  # May: the 不納欠損 of 5/31
    assert res.rc == 0, res.log_text()
    may = datasets.read("closing_month_books", municipality=ch.MUNI)
    car = may.filter((pl.col("category") == "carried") & (pl.col("component") == "total")).row(0, named=True)
    assert car["write_off_month"] == 85000 and car["write_off"] == 85000
    res = ch.run("TN510", D(2027, 7, 1))  # June: 滞納繰越分 調定 = the 繰越調定額, 5,000 collected
    assert res.rc == 0, res.log_text()
    june = datasets.read("closing_month_books", municipality=ch.MUNI)
    car = june.filter((pl.col("category") == "carried") & (pl.col("component") == "total")).row(0, named=True)
    # 調定 106,000 − 還付未済 1,000 (K's balance is carried as −1,000 in the 年度区分) ; 収入 5,000 in June
    assert (car["levy"], car["income"], car["write_off"]) == (105000, 5000, 0)
    assert car["unpaid"] == 100000
    res = ch.run("TN520", D(2027, 7, 1))  # the June book (CSV + PDF) from the same figures
    assert res.rc == 0, res.log_text()
    assert res.totals.money["carried.levy"] == 105000 and res.totals.money["carried.write_off"] == 0


def test_write_off_is_not_booked_on_another_day(ledger_url):
    with book() as b:
        seed(b)
    res = ch.run("TN620", D(2027, 5, 28))
    assert res.rc == 0 and "KKB673I" in ids(res), res.log_text()
    assert scalar("SELECT COUNT(*) FROM write_off") == 0
    res = ch.run("TN620", D(2027, 5, 28), force="1")
    assert res.rc == 0 and "KKB677I" in ids(res), res.log_text()
    assert scalar("SELECT COUNT(*) FROM write_off") == 3


def test_carry_over_before_the_cash_closing_is_rc8(ledger_url):
    res = ch.run("TN610", D(2027, 4, 30), year="2026")
    assert res.rc == 8 and "KKB672E" in ids(res)


def test_write_off_into_a_closed_month_is_rc8(ledger_url):
    with book() as b:
        seed(b)
    assert ch.run("TN510", D(2027, 6, 1)).rc == 0  # May closed before the 不納欠損
    res = ch.run("TN620", DAY)
    assert res.rc == 8 and "KKB681E" in ids(res), res.log_text()
    assert scalar("SELECT COUNT(*) FROM write_off") == 0
    assert scalar("SELECT SUM(write_off_amount) FROM installment") == 0


def test_an_empty_ledger_is_a_warning(ledger_url):
    res = ch.run("TN620", DAY)
    assert res.rc == 4 and "KKB682W" in ids(res), res.log_text()
    res = ch.run("TN610", DAY)
    assert res.rc == 4 and "KKB671W" in ids(res), res.log_text()
    res = ch.run("TN630", DAY)
    assert res.rc == 4 and "KKB684W" in ids(res), res.log_text()


def test_a_carry_rerun_with_other_figures_is_rc8_and_changes_nothing(ledger_url):
    with book() as b:
        seed(b)
    assert ch.run("TN620", DAY).rc == 0
    assert ch.run("TN610", DAY).rc == 0
    with book("backdated") as b2:  # a payment dated before the 出納閉鎖, posted after the carry
        b2.pay(2026, "0000000000H", 1, 2000, on=D(2027, 5, 20))
    res = ch.run("TN610", DAY)
    assert res.rc == 8 and "KKB685E" in ids(res), res.log_text()
    assert scalar("SELECT carried_tax_amount FROM installment WHERE notice_number = '0000000000H'") == 12000


def test_a_ledger_out_of_balance_books_no_write_off(ledger_url):
    with book() as b:
        seed(b)
        with b.ledger.transaction() as tx:  # a 累計収納額 no posting explains
            tx.execute("UPDATE installment SET paid_amount = paid_amount + 7 WHERE notice_number = '0000000000F'")
    res = ch.run("TN620", DAY)
    assert res.rc == 8 and "KKB664E" in ids(res), res.log_text()
    assert scalar("SELECT COUNT(*) FROM write_off") == 0
