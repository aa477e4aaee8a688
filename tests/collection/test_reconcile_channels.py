"""消込 per channel, through the real steps (intake → post), against the golden payment files
and files made with the codec — on DuckDB and PostgreSQL (``ledger_url``).

For each channel: Σ posted amounts = Σ increase of 期別 累計収納額 = the file's trailer figures
minus the rejected records' amounts; 納付履歴 rows carry 納付区分 and the channel; every data
record has a 消込データ row; read = accepted + rejected.
"""

from __future__ import annotations

import polars as pl
from collection_helpers import (
    DAY1,
    DAY2,
    GOLDEN_COUNTER,
    GOLDEN_CVS,
    D,
    add_debit_requests,
    cvs_file,
    cvs_record,
    debit_file,
    debit_record,
    drop,
    error_rows,
    golden_record,
    golden_subset,
    installments,
    msg_ids,
    paid_total,
    payments,
    q,
    recon,
    register_golden_levy,
    run,
    write_pension,
)

from jobs.common import datasets
from jobs.common import fixedwidth as fw


def assert_control(res, rows: pl.DataFrame, n_records: int) -> None:
    """read = accepted + rejected = the file's data records, and the 消込データ has them all."""
    assert rows.height == n_records
    assert sorted(rows["record_no"].to_list()) == sorted(set(rows["record_no"].to_list()))
    t = res.totals
    assert t.read == n_records == t.accepted + t.rejected
    rejected = rows.filter(pl.col("status").is_in(["unmatched", "error", "duplicate"]))
    assert t.rejected == rejected.height


def money_by_status(rows: pl.DataFrame) -> dict[str, int]:
    return {s: int(a) for s, a in rows.group_by("status").agg(pl.col("amount").sum()).iter_rows()}


# --- 窓口・指定金融機関 -------------------------------------------------------------------------------


def test_counter_golden_file(ledger_url):
    """The golden file's widest amount, ¥9,999,999,999 (record 4), is above the counter's largest
    single payment (config plausibility.rules.counter_amount.max, issue 13): intake and 消込 end
    RC 4 with it in the error list and in the 消込データ as an error; the trailer agrees with all
    four records, so the other three are posted. (It used to be posted, RC 0.)"""
    register_golden_levy()
    before = installments()
    trailer = fw.read(fw.load_layout("counter_payment"), GOLDEN_COUNTER).frames["trailer"].row(0, named=True)
    drop(GOLDEN_COUNTER, "counter", "counter_crlf.dat")
    intake = run("SN200")
    assert intake.rc == 4 and "KKB112W" in msg_ids(intake)
    res = run("SN205")
    assert res.rc == 4, res.log_text

    rows = recon("counter_crlf.dat")
    assert_control(res, rows, trailer["total_count"])
    assert rows["status"].to_list() == ["posted", "posted", "error", "posted"]
    assert set(rows["payment_kind"]) == {"01"} and set(rows["channel"]) == {"counter"}
    posted = int(rows.filter(pl.col("status") == "posted")["amount"].sum())
    after = installments()
    increase = sum(after[k]["paid_amount"] - before[k]["paid_amount"] for k in after)
    assert posted == increase == trailer["amount_total"] - 9_999_999_999 == 32_457
    assert res.totals.money["posted"] == posted
    assert after[(2026, "10000000001", 1)]["paid_amount"] == 19_456  # paid in full
    assert after[(2025, "10000001234", 10)]["paid_amount"] == 0  # the implausible amount is not posted
    assert after[(2026, "10000000005", 1)]["paid_amount"] == 1  # partial: 299,999 remain

    pay = payments(rows["source_sha256"][0])
    assert pay.height == 3 and int(pay["tax_amount"].sum()) == posted
    assert set(pay["payment_kind"]) == {"01"} and set(pay["channel"]) == {"counter"}
    assert set(pay["refund_offset_kind"]) == {"0"} and set(pay["cash_kind"]) == {"1"}
    first = pay.row(0, named=True)
    assert (first["paid_date"], first["received_date"]) == (D(2026, 7, 31), D(2026, 7, 31))
    # the output dataset: one row per record
    out = datasets.read("reconciliation_counter", res.generation)
    assert out.height == 4
    err = error_rows(res)
    assert err.height == 1 and "plausibility.rules.counter_amount.max" in err["理由"][0]


# --- コンビニ・クレジット・スマホ決済 ------------------------------------------------------------------------


def test_cvs_golden_file(ledger_url):
    register_golden_levy()
    before = installments()
    trailer = fw.read(fw.load_layout("cvs_payment"), GOLDEN_CVS).frames["trailer"].row(0, named=True)
    drop(GOLDEN_CVS, "cvs", "cvs_payment_crlf.dat")
    assert run("SN210").rc == 0
    res = run("SN215")
    # two 確報 without a 速報 (credit, PayPay): posted, warned; one record above the ceiling
    assert res.rc == 4, res.log_text
    assert "KKB421W" in msg_ids(res)

    rows = recon("cvs_payment_crlf.dat")
    assert_control(res, rows, trailer["total_count"])
    got = [(r["record_no"], r["kind"], r["status"], r["channel"], r["payment_kind"]) for r in rows.iter_rows(named=True)]
    assert got == [
        (2, "provisional", "confirmed", "cvs", "02"),  # 速報 settled by the 確報 of record 3
        (3, "confirmed", "posted", "cvs", "02"),
        (4, "provisional", "cancelled", "cvs", "02"),  # 速報 cancelled by record 5
        (5, "cancel", "cancelled", "cvs", "02"),
        (6, "confirmed", "posted", "credit", "05"),  # CVSコード 0680
        (7, "confirmed", "posted", "app", "06"),  # CVSコード 0820 PayPay
        (8, "provisional", "error", "cvs", "02"),  # 999,999円 > cvs.barcode.max_amount
    ]
    bad = rows.row(6, named=True)
    assert "取扱上限 300000円" in bad["reason"]
    assert bytes.fromhex(bad["raw_hex"]) == golden_record(GOLDEN_CVS, 8)

    posted = rows.filter(pl.col("status") == "posted")
    after = installments()
    increase = sum(after[k]["paid_amount"] - before[k]["paid_amount"] for k in after)
    assert int(posted["amount"].sum()) == increase == trailer["confirmed_amount"] == 319_457
    # 速報: trailer 1,032,455 - the rejected 999,999 = the 速報 accepted (all settled in the file)
    prov = rows.filter((pl.col("kind") == "provisional") & (pl.col("status") != "error"))
    assert int(prov["amount"].sum()) == trailer["provisional_amount"] - 999_999 == 32_456
    assert all(v["provisional_amount"] == 0 for v in after.values())
    assert after[(2026, "10000000003", 2)]["paid_amount"] == 0  # cancelled: no money
    assert after[(2026, "10000000005", 1)]["paid_amount"] == 300_000

    pay = payments(rows["source_sha256"][0])
    assert sorted(zip(pay["channel"], pay["payment_kind"], pay["tax_amount"], strict=True)) == [
        ("app", "06", 1), ("credit", "05", 300_000), ("cvs", "02", 19_456)]
    agents = q("SELECT agent_code FROM payment ORDER BY agent_code")["agent_code"].to_list()
    assert agents == ["0010", "0680", "0820"]

    err = error_rows(res)
    assert err.height == 1
    e = err.row(0, named=True)
    assert (e["ファイル名"], int(e["レコード番号"]), int(e["バイト位置"])) == ("cvs_payment_crlf.dat", 8, 7 * 122)
    assert "取扱上限" in e["理由"]
    assert bytes.fromhex(e["生データ(16進)"]) == golden_record(GOLDEN_CVS, 8)


def test_cvs_provisional_then_confirmed_next_day(ledger_url):
    register_golden_levy()
    # day 1: the two 速報 of the golden file; day 2: its 確報 and 取消
    drop(golden_subset(GOLDEN_CVS, "cvs_payment", [2, 4]), "cvs", "cvs_sokuho.dat")
    assert run("SN210", DAY1).rc == 0
    res1 = run("SN215", DAY1)
    assert res1.rc == 0, res1.log_text
    inst = installments()
    assert inst[(2026, "10000000001", 1)]["provisional_amount"] == 19_456
    assert inst[(2026, "10000000003", 2)]["provisional_amount"] == 13_000
    assert paid_total() == 0 and payments().height == 0
    assert recon("cvs_sokuho.dat")["status"].to_list() == ["provisional", "provisional"]

    drop(golden_subset(GOLDEN_CVS, "cvs_payment", [3, 5]), "cvs", "cvs_kakuho.dat")
    assert run("SN210", DAY2).rc == 0
    res2 = run("SN215", DAY2)
    assert res2.rc == 0, res2.log_text  # every 確報 had its 速報: no KKB421W
    inst = installments()
    assert inst[(2026, "10000000001", 1)]["provisional_amount"] == 0
    assert inst[(2026, "10000000001", 1)]["paid_amount"] == 19_456
    assert inst[(2026, "10000000003", 2)]["provisional_amount"] == 0
    assert inst[(2026, "10000000003", 2)]["paid_amount"] == 0
    assert recon("cvs_sokuho.dat")["status"].to_list() == ["confirmed", "cancelled"]
    assert recon("cvs_kakuho.dat")["status"].to_list() == ["posted", "cancelled"]
    resolved = q("SELECT resolved_date FROM reconciliation WHERE source_file = 'cvs_sokuho.dat'")
    assert resolved["resolved_date"].to_list() == [DAY2, DAY2]
    assert payments().height == 1 and int(payments()["tax_amount"].sum()) == 19_456


def test_cvs_credit_and_app_channels(ledger_url):
    register_golden_levy()
    recs = [
        cvs_record("0000000001", 2, 13_000, data_kind="01", agent_code="0680", store_code=None),
        cvs_record("0000000001", 2, 13_000, data_kind="02", agent_code="0680", store_code=None),
        cvs_record("0000000003", 2, 13_000, data_kind="02", agent_code="0820", store_code="PP00001"),
        cvs_record("0000000005", 1, 1_000, data_kind="02", agent_code="0030"),
    ]
    drop(cvs_file(recs), "cvs", "cvs_channels.dat")
    assert run("SN210").rc == 0
    res = run("SN215")
    assert res.rc == 4 and "KKB421W" in msg_ids(res)  # two 確報 without 速報
    rows = recon("cvs_channels.dat")
    assert_control(res, rows, 4)
    assert rows.select("channel", "payment_kind", "status").rows() == [
        ("credit", "05", "confirmed"), ("credit", "05", "posted"), ("app", "06", "posted"), ("cvs", "02", "posted")]
    pay = payments()
    assert sorted(zip(pay["channel"], pay["payment_kind"], pay["tax_amount"], strict=True)) == [
        ("app", "06", 13_000), ("credit", "05", 13_000), ("cvs", "02", 1_000)]
    assert paid_total() == 27_000


# --- 口座振替 ---------------------------------------------------------------------------------------


def test_debit_result_file(ledger_url):
    register_golden_levy()
    before = installments()
    recs = [
        debit_record("10000000001", 2, 13_000, "0"),
        debit_record("10000000003", 2, 13_000, "1"),  # 資金不足
        debit_record("10000000005", 1, 300_000, "2"),  # 取引なし
        debit_record("19999999999", 10, 1_000, "3"),  # 預金者の都合
        debit_record("10000001234", 3, 999_999, "4", levy_year=2025),  # 依頼書なし
        debit_record("10000000001", 1, 19_456, "8"),  # 委託者の都合
        debit_record("10000001234", 10, 5_000, "9", levy_year=2025),  # その他
        debit_record("10000000003", 2, 13_000, "0", seq=2),  # 再振替 (請求連番 002)
    ]
    add_debit_requests(recs, debit_date=D(2026, 9, 30))  # a result answers a request (else 消込エラー)
    path = drop(debit_file(recs, debit_date=D(2026, 9, 30)), "bank", "KOUFURI_KEKKA_20260930.dat")
    trailer = fw.read(fw.load_layout("zengin_91_result"), path).frames["trailer"].row(0, named=True)
    assert run("SN110").rc == 0
    res = run("SN115")
    assert res.rc == 0, res.log_text

    rows = recon("KOUFURI_KEKKA_20260930.dat")
    assert_control(res, rows, trailer["total_count"])
    assert rows.select("record_no", "kind", "status", "result_code").rows() == [
        (2, "confirmed", "posted", "0"),
        (3, "debit_failed", "debit_failed", "1"),
        (4, "debit_failed", "debit_failed", "2"),
        (5, "debit_failed", "debit_failed", "3"),
        (6, "debit_failed", "debit_failed", "4"),
        (7, "debit_failed", "debit_failed", "8"),
        (8, "debit_failed", "debit_failed", "9"),
        (9, "confirmed", "posted", "0"),
    ]
    # the key from the 顧客番号: 賦課年度 4 + 通知書番号 11 + 期別 2 + 請求連番 3
    assert rows.select("levy_year", "notice_number", "installment_no").row(4) == (2025, "10000001234", 3)
    posted = rows.filter(pl.col("status") == "posted")
    failed = rows.filter(pl.col("status") == "debit_failed")
    after = installments()
    increase = sum(after[k]["paid_amount"] - before[k]["paid_amount"] for k in after)
    assert int(posted["amount"].sum()) == increase == trailer["done_amount"] == 26_000
    assert int(failed["amount"].sum()) == trailer["failed_amount"]
    assert failed.height == trailer["failed_count"] == 6
    assert after[(2026, "10000000003", 2)]["paid_amount"] == 13_000  # the re-debit
    assert after[(2026, "10000000005", 1)]["paid_amount"] == 0  # 振替不能: no money
    pay = payments()
    assert pay.height == 2 and set(pay["payment_kind"]) == {"03"} and set(pay["channel"]) == {"debit"}
    assert set(pay["paid_date"]) == {D(2026, 9, 30)} and set(pay["received_date"]) == {D(2026, 9, 30)}


# --- 年金特別徴収 -------------------------------------------------------------------------------------


def test_pension_result_dataset(ledger_url):
    register_golden_levy()
    before = installments()
    frame, sha = write_pension([
        {"notice_number": "20000000002", "installment_no": 4, "amount": 26_256, "received_date": D(2026, 9, 15)},
        {"notice_number": "20000000006", "installment_no": 4, "amount": 18_000, "received_date": D(2026, 9, 15),
         "payer_code": "002"},
        {"notice_number": "20000000099", "installment_no": 4, "amount": 5_000, "received_date": D(2026, 9, 15)},
    ], name="pension_result_20260915.csv")
    res = run("SN235")
    assert res.rc == 4, res.log_text  # the unknown 通知書番号 is 保留 (error list)
    rows = recon("pension_result_20260915.csv")
    assert_control(res, rows, frame.height)
    assert rows["status"].to_list() == ["posted", "posted", "unmatched"]
    assert set(rows["payment_kind"]) == {"04"} and set(rows["channel"]) == {"pension"}
    after = installments()
    increase = sum(after[k]["paid_amount"] - before[k]["paid_amount"] for k in after)
    rejected = int(rows.filter(pl.col("status") == "unmatched")["amount"].sum())
    assert int(rows.filter(pl.col("status") == "posted")["amount"].sum()) == increase \
        == int(frame["amount"].sum()) - rejected == 44_256
    pay = payments(sha)
    assert pay.select("notice_number", "tax_amount", "payment_kind", "channel").rows() == [
        ("20000000002", 26_256, "04", "pension"), ("20000000006", 18_000, "04", "pension")]
    assert q("SELECT agent_code FROM payment ORDER BY agent_code")["agent_code"].to_list() == ["001", "002"]
    err = error_rows(res)
    assert err.height == 1 and int(err["レコード番号"][0]) == 3 and "20000000099" in err["理由"][0]
