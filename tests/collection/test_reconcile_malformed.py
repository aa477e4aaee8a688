"""Malformed and awkward payment data: each case ends with its expected error and no loss — the
record is in the error list (raw bytes, record number, reason) AND in the ledger's 消込データ
with status error / unmatched / duplicate, or the whole file is refused (RC 8, nothing posted).
On DuckDB and PostgreSQL (``ledger_url``)."""

from __future__ import annotations

import polars as pl
from collection_helpers import (
    DAY1,
    DAY2,
    DAY3,
    FIXTURES,
    D,
    counter_file,
    counter_record,
    cvs_file,
    cvs_record,
    drop,
    error_rows,
    installments,
    levy_file,
    levy_row,
    msg_ids,
    paid_total,
    payments,
    put_levy,
    q,
    recon,
    register_levy_direct,
    run,
    scalar,
)

from jobs.common import paths

STRIDE = 122


def record_bytes(data: bytes, record_no: int) -> bytes:
    return data[(record_no - 1) * STRIDE:(record_no - 1) * STRIDE + 120]


def patch(data: bytes, record_no: int, start: int, value: bytes) -> bytes:
    """Overwrite bytes of record ``record_no`` from 1-based column ``start``."""
    at = (record_no - 1) * STRIDE + start - 1
    return data[:at] + value + data[at + len(value):]


def levy_initial() -> None:
    """調定 (levy_initial.dat, registered with levy.register): 2026 10000000001 期別1 19,456 /
    期別2 13,000, 20000000002 期別4 26,256."""
    assert register_levy_direct(FIXTURES / "levy_file" / "levy_initial.dat") == 3


def nothing_posted() -> None:
    assert scalar("SELECT COUNT(*) FROM reconciliation") == 0
    assert scalar("SELECT COUNT(*) FROM payment") == 0
    assert scalar("SELECT COUNT(*) FROM posted_file WHERE channel <> 'levy'") == 0
    assert paid_total() == 0


def error_list_row(res, record_no: int) -> dict:
    err = error_rows(res)
    hit = err.filter(pl.col("レコード番号") == str(record_no))
    assert hit.height == 1, err
    return hit.row(0, named=True)


# --- the whole file refused -----------------------------------------------------------------------


def test_bad_trailer_count_refuses_the_file(ledger_url):
    levy_initial()
    good = counter_file([counter_record("10000000001", 1, 19_456), counter_record("10000000001", 2, 13_000, serial=2)])
    bad = patch(good, 4, 2, b"000000003")  # 合計件数 3, the file has 2
    inbox = drop(bad, "counter", "COUNTER_bad_count.dat")
    res = run("SN200")
    assert res.rc == 8 and "KKB104E" in msg_ids(res) and not res.committed
    assert "合計件数" in res.log_text
    assert inbox.is_file() and inbox.read_bytes() == bad  # stays in the inbox for the operator
    post = run("SN205")
    assert post.rc == 0 and "KKB422I" in msg_ids(post)
    nothing_posted()


def test_bad_trailer_sum_refuses_the_file(ledger_url):
    levy_initial()
    good = cvs_file([cvs_record("0000000001", 1, 19_456, data_kind="01"),
                     cvs_record("0000000001", 2, 13_000, data_kind="02")])
    bad = patch(good, 4, 41, b"000000013001")  # 確報金額 13,001, the record says 13,000
    inbox = drop(bad, "cvs", "CVS_bad_sum.dat")
    res = run("SN210")
    assert res.rc == 8 and "KKB104E" in msg_ids(res) and not res.committed
    assert "確報金額" in res.log_text
    assert inbox.is_file()
    assert not (paths.archive("cvs")).exists() or not any(paths.archive("cvs").iterdir())
    post = run("SN215")
    assert post.rc == 0
    nothing_posted()
    assert all(v["provisional_amount"] == 0 for v in installments().values())


# --- one record in error -----------------------------------------------------------------------------


def test_bad_check_digit(ledger_url):
    levy_initial()
    data = cvs_file([cvs_record("0000000001", 1, 19_456),
                     cvs_record("0000000001", 2, 13_000, bad_check_digit=True, paid_time="1300")])
    drop(data, "cvs", "CVS_cd.dat")
    assert run("SN210").rc == 0  # the codec reads digits; the barcode check is the adapter's
    res = run("SN215")
    assert res.rc == 4
    rows = recon("CVS_cd.dat")
    assert rows["status"].to_list() == ["posted", "error"]
    bad = rows.row(1, named=True)
    assert "チェックデジット" in bad["reason"] and bytes.fromhex(bad["raw_hex"]) == record_bytes(data, 3)
    e = error_list_row(res, 3)
    assert "チェックデジット" in e["理由"] and int(e["バイト位置"]) == 2 * STRIDE
    assert bytes.fromhex(e["生データ(16進)"]) == record_bytes(data, 3)
    assert installments()[(2026, "10000000001", 2)]["paid_amount"] == 0
    assert paid_total() == 19_456
    assert res.totals.read == 2 == res.totals.accepted + res.totals.rejected


def test_unknown_notice_number_is_held_then_posted_by_sn100(ledger_url):
    levy_initial()
    data = counter_file([counter_record("10000000001", 1, 19_456),
                         counter_record("10000000077", 1, 8_800, serial=2)])
    drop(data, "counter", "COUNTER_unknown.dat")
    assert run("SN200").rc == 0
    res = run("SN205")
    assert res.rc == 4
    rows = recon("COUNTER_unknown.dat")
    assert rows["status"].to_list() == ["posted", "unmatched"]
    held = rows.row(1, named=True)
    assert "10000000077" in held["reason"] and bytes.fromhex(held["raw_hex"]) == record_bytes(data, 3)
    e = error_list_row(res, 3)
    assert e["項目名"] == "調定なし(保留)" and bytes.fromhex(e["生データ(16進)"]) == record_bytes(data, 3)
    assert paid_total() == 19_456

    # the 調定 arrives: SN100 registers it and posts the held payment (保留 → 消込)
    put_levy(levy_file([levy_row("10000000077", 1, 8_800)], creation_date=D(2026, 10, 2)), "levy_late.dat")
    reg = run("SN100", DAY2)
    assert reg.rc == 0 and "KKB415I" in msg_ids(reg)
    assert reg.totals.figures["pending_posted"] == 1
    row = q("SELECT status, reason, resolved_date, levy_amount FROM reconciliation "
            "WHERE source_file = 'COUNTER_unknown.dat' AND record_no = 3").row(0, named=True)
    assert row == {"status": "posted", "reason": "調定登録により消込", "resolved_date": DAY2, "levy_amount": 8_800}
    assert installments()[(2026, "10000000077", 1)]["paid_amount"] == 8_800
    pay = payments()
    assert pay.height == 2 and int(pay["tax_amount"].sum()) == paid_total() == 19_456 + 8_800
    # a second SN100 posts it no second time
    assert run("SN100", DAY3).rc == 0
    assert payments().height == 2 and paid_total() == 28_256


def test_duplicate_record_inside_a_file(ledger_url):
    levy_initial()
    rec = counter_record("10000000001", 1, 19_456, serial=7)
    data = counter_file([rec, counter_record("10000000001", 2, 13_000, serial=8), rec])
    drop(data, "counter", "COUNTER_dup.dat")
    assert run("SN200").rc == 0
    res = run("SN205")
    assert res.rc == 4
    rows = recon("COUNTER_dup.dat")
    assert rows["status"].to_list() == ["posted", "posted", "duplicate"]
    assert "同一ファイル内" in rows["reason"][2]
    assert bytes.fromhex(rows["raw_hex"][2]) == record_bytes(data, 4)
    e = error_list_row(res, 4)
    assert e["項目名"] == "重複" and bytes.fromhex(e["生データ(16進)"]) == record_bytes(data, 4)
    assert installments()[(2026, "10000000001", 1)]["paid_amount"] == 19_456  # once
    assert payments().height == 2
    assert res.totals.money["duplicate"] == 19_456 and res.totals.money["posted"] == 32_456


def test_duplicate_file_is_refused_and_never_posted_twice(ledger_url):
    levy_initial()
    data = counter_file([counter_record("10000000001", 1, 19_456)])
    drop(data, "counter", "COUNTER_1001.dat")
    assert run("SN200", DAY1).rc == 0
    assert run("SN205", DAY1).rc == 0
    # the sender sends the same bytes again under another name, the next day
    again = drop(data, "counter", "COUNTER_1002.dat")
    res = run("SN200", DAY2)
    assert res.rc == 8 and "KKB107E" in msg_ids(res)
    assert "取込済み" in res.log_text and again.is_file()
    # an operator forces the intake: the ledger still posts the content once
    assert run("SN200", DAY2, force=True).rc == 4  # KKB107W
    post = run("SN205", DAY2)
    assert post.rc == 0 and "KKB422I" in msg_ids(post)
    assert scalar("SELECT COUNT(*) FROM reconciliation") == 1
    assert payments().height == 1 and paid_total() == 19_456
    assert scalar("SELECT COUNT(*) FROM posted_file WHERE channel = 'counter'") == 1


def test_duplicate_cvs_file_is_refused(ledger_url):
    levy_initial()
    data = cvs_file([cvs_record("0000000001", 1, 19_456)])
    drop(data, "cvs", "CVS_a.dat")
    assert run("SN210", DAY1).rc == 0
    drop(data, "cvs", "CVS_b.dat")
    res = run("SN210", DAY2)
    assert res.rc == 8 and "KKB107E" in msg_ids(res)


def test_amount_above_the_ceiling(ledger_url):
    levy_initial()
    recs = [cvs_record("0000000001", 1, 350_000, paid_time="0900"),  # > cvs.barcode.max_amount 300,000
            cvs_record("0000000001", 2, 13_000, paid_time="1000"),
            cvs_record("0000000001", 1, 19_456, paid_time="1100")]
    data = patch(cvs_file(recs), 3, 1, b"9")  # an unknown record type code: rejected by the codec
    data = patch(data, 5, 41, b"000000369456")  # the 確報 sum over the records the trailer can see
    drop(data, "cvs", "CVS_amounts.dat")
    intake = run("SN210")
    assert intake.rc == 8 and "KKB104E" in msg_ids(intake)  # the 確報 sums cannot be verified: refused
    drop(cvs_file(recs), "cvs", "CVS_amounts.dat")
    intake = run("SN210")
    assert intake.rc == 0
    res = run("SN215")
    assert res.rc == 4
    rows = recon("CVS_amounts.dat")
    assert rows.select("record_no", "status").rows() == [(2, "error"), (3, "posted"), (4, "posted")]
    over = rows.row(0, named=True)
    assert "取扱上限 300000円" in over["reason"] and over["amount"] == 350_000
    assert bytes.fromhex(over["raw_hex"]) == record_bytes(cvs_file(recs), 2)
    assert error_list_row(res, 2)["理由"] == over["reason"]
    assert paid_total() == 13_000 + 19_456
    assert res.totals.read == 3 == res.totals.accepted + res.totals.rejected


def test_non_numeric_amount_refuses_the_file(ledger_url):
    """Issue 13: a record whose 支払金額 cannot be read leaves the trailer's sums unverifiable: the
    file is refused (RC 8, kept in the inbox, nothing posted). It used to be rejected alone with
    the sum difference reported as a warning (KKB424W)."""
    levy_initial()
    recs = [cvs_record("0000000001", 2, 13_000, paid_time="1000"),
            cvs_record("0000000001", 1, 19_456, paid_time="1100")]
    data = patch(cvs_file(recs), 2, 53, b"01A000")
    inbox = drop(data, "cvs", "CVS_nonnum.dat")
    intake = run("SN210")
    assert intake.rc == 8 and "KKB104E" in msg_ids(intake) and not intake.committed
    assert "照合できません" in intake.log_text and "レコード 2" in intake.log_text
    assert inbox.is_file() and inbox.read_bytes() == data
    assert run("SN215").rc == 0
    nothing_posted()


# --- 速報・確報・取消 -----------------------------------------------------------------------------------


def test_provisional_without_confirmed_stays_provisional(ledger_url):
    levy_initial()
    drop(cvs_file([cvs_record("0000000001", 2, 13_000, data_kind="01")]), "cvs", "CVS_s.dat")
    assert run("SN210", DAY1).rc == 0
    assert run("SN215", DAY1).rc == 0
    assert run("SN215", DAY2).rc == 0  # the next day: no 確報 came
    assert recon("CVS_s.dat")["status"].to_list() == ["provisional"]
    inst = installments()[(2026, "10000000001", 2)]
    assert (inst["provisional_amount"], inst["paid_amount"]) == (13_000, 0)
    assert payments().height == 0


def test_confirmed_without_provisional_is_posted_with_a_warning(ledger_url):
    levy_initial()
    drop(cvs_file([cvs_record("0000000001", 2, 13_000)]), "cvs", "CVS_k.dat")
    assert run("SN210").rc == 0
    res = run("SN215")
    assert res.rc == 4 and "KKB421W" in msg_ids(res) and res.totals.rejected == 0
    rows = recon("CVS_k.dat")
    assert rows.select("status", "reason").rows() == [("posted", "速報なし確報")]
    assert installments()[(2026, "10000000001", 2)]["paid_amount"] == 13_000


def test_cancel_of_an_unknown_provisional_is_an_error(ledger_url):
    levy_initial()
    data = cvs_file([cvs_record("0000000001", 2, 13_000, data_kind="03")])
    drop(data, "cvs", "CVS_c.dat")
    assert run("SN210").rc == 0
    res = run("SN215")
    assert res.rc == 4
    rows = recon("CVS_c.dat")
    assert rows.select("kind", "status", "reason").rows() == [("cancel", "error", "取消の対象となる速報がありません")]
    assert bytes.fromhex(rows["raw_hex"][0]) == record_bytes(data, 2)
    assert bytes.fromhex(error_list_row(res, 2)["生データ(16進)"]) == record_bytes(data, 2)
    inst = installments()[(2026, "10000000001", 2)]
    assert (inst["provisional_amount"], inst["paid_amount"]) == (0, 0)


# --- amounts ----------------------------------------------------------------------------------------


def test_partial_and_over_payment(ledger_url):
    levy_initial()
    drop(counter_file([counter_record("10000000001", 1, 10_000),  # of 19,456
                       counter_record("10000000001", 2, 15_000, serial=2)]),  # of 13,000
         "counter", "COUNTER_amounts.dat")
    assert run("SN200").rc == 0
    res = run("SN205")
    assert res.rc == 0
    inst = installments()
    part, over = inst[(2026, "10000000001", 1)], inst[(2026, "10000000001", 2)]
    assert part["levy_amount"] - part["paid_amount"] == 9_456  # the balance remains
    assert over["paid_amount"] - over["levy_amount"] == 2_000  # 過誤納: paid above the levy
    assert recon("COUNTER_amounts.dat")["status"].to_list() == ["posted", "posted"]
    assert int(payments()["tax_amount"].sum()) == 25_000 == paid_total()


def test_payment_before_the_levy_exists(ledger_url):
    """A CVS 確報 for a 期別 whose 調定 is not registered yet: 保留, posted by SN100."""
    data = cvs_file([cvs_record("0000000001", 1, 19_456)])
    drop(data, "cvs", "CVS_early.dat")
    assert run("SN210", DAY1).rc == 0
    res = run("SN215", DAY1)
    assert res.rc == 4
    assert recon("CVS_early.dat")["status"].to_list() == ["unmatched"]
    assert bytes.fromhex(error_list_row(res, 2)["生データ(16進)"]) == record_bytes(data, 2)
    assert scalar("SELECT COUNT(*) FROM payment") == 0
    put_levy(FIXTURES / "levy_file" / "levy_initial.dat", "levy_initial.dat")
    reg = run("SN100", DAY2)
    assert reg.rc == 0 and "KKB415I" in msg_ids(reg)
    assert recon("CVS_early.dat")["status"].to_list() == ["posted"]
    assert installments()[(2026, "10000000001", 1)]["paid_amount"] == 19_456
    pay = payments()
    assert pay.select("channel", "payment_kind", "tax_amount").rows() == [("cvs", "02", 19_456)]


# --- plausibility (issue 13) ----------------------------------------------------------------------------


def test_implausible_payments_are_rejected_at_intake_and_kept_at_reconciliation(ledger_url):
    """A ¥9,999,999,999 payment, a ¥0 one and one dated after the 業務日: intake RC 4 (KKB112W)
    with each in its error list; 消込 RC 4, each in the 消込データ as an error with its raw bytes,
    the plausible one posted; read = accepted + rejected at both steps. One of them
    (dated 2026-10-02) would pass the rule on the 消込 step's later business day: it is still an
    error there, because the intake did not accept it."""
    levy_initial()
    recs = [counter_record("10000000001", 1, 9_999_999_999, serial=1),
            counter_record("10000000001", 1, 0, serial=2),
            counter_record("10000000001", 2, 13_000, serial=3, received_date=D(2026, 10, 2)),
            counter_record("10000000001", 1, 19_456, serial=4)]
    data = counter_file(recs)
    drop(data, "counter", "COUNTER_implausible.dat")
    intake = run("SN200", DAY1)
    assert intake.rc == 4 and "KKB112W" in msg_ids(intake)
    assert intake.totals.read == intake.totals.accepted + intake.totals.rejected
    assert "counter_amount.max" in error_list_row(intake, 2)["理由"]
    assert "counter_amount.min" in error_list_row(intake, 3)["理由"]
    assert error_list_row(intake, 4)["項目"] == "received_date"
    res = run("SN205", DAY2)
    assert res.rc == 4, res.log_text
    rows = recon("COUNTER_implausible.dat")
    assert rows.select("record_no", "status").rows() == [(2, "error"), (3, "error"), (4, "error"), (5, "posted")]
    assert "取込時に妥当性検査で不合格" in rows.row(2, named=True)["reason"]
    for r in rows.filter(pl.col("status") == "error").iter_rows(named=True):
        assert bytes.fromhex(r["raw_hex"]) == record_bytes(data, r["record_no"])
    assert paid_total() == 19_456
    assert res.totals.read == 4 == res.totals.accepted + res.totals.rejected
