"""Trust in 消込 (issue 13): a payment's duplicate key is its slip's identity, never its amount.

- a re-send of the same slip with the same amount is a duplicate: nothing posted twice;
- with another amount it is a conflict (金額相違): not posted, held (消込データ status conflict,
  消込エラー list, 日計), RC 4, KKB435W naming the file, the record, the earlier posting and both
  amounts; the ledger is unchanged;
- CVS 22 (郵便振替訂正, FORMATS.md §3.2 a) reverses the posted 確報 of the same slip through the
  ledger: a negative 納付履歴 row (出納区分 3), the 期別's 累計収納額 back, the earlier row kept
  with status reversed, its reason and the operator; the corrected amount posted in its place;
  the 日計 shows both and still reconciles to the yen;
- a 口座振替 result must answer a request (debit_request) with its amount, else it is rejected.

Money reconciles in every case: Σ posted − Σ reversed = Δ Σ 累計収納額. On DuckDB and PostgreSQL.
"""

from __future__ import annotations

import polars as pl
from collection_helpers import (
    DAY1,
    DAY2,
    FIXTURES,
    MUNI,
    D,
    add_debit_requests,
    counter_file,
    counter_record,
    cvs_file,
    cvs_record,
    debit_file,
    debit_record,
    drop,
    error_rows,
    installments,
    msg_ids,
    paid_total,
    payments,
    q,
    recon,
    register_levy_direct,
    run,
)

from jobs.common import datasets

N1 = "10000000001"  # 期別1 19,456 / 期別2 13,000 (levy_initial.dat)
H1 = "0000000001"  # its 世帯番号 (the CVS barcode's 自由使用欄)


def levy_initial() -> None:
    assert register_levy_direct(FIXTURES / "levy_file" / "levy_initial.dat") == 3


def pay_totals() -> tuple[int, int]:
    """Σ posted (出納区分 1) and Σ reversed (出納区分 3, as a positive amount) of 納付履歴."""
    p = payments()
    posted = int(p.filter(pl.col("cash_kind") == "1")["tax_amount"].sum() or 0)
    reversed_ = -int(p.filter(pl.col("cash_kind") == "3")["tax_amount"].sum() or 0)
    return posted, reversed_


def assert_money_reconciles(paid_before: int = 0) -> None:
    posted, reversed_ = pay_totals()
    assert posted - reversed_ == paid_total() - paid_before


def daily(day) -> dict[tuple[str, str], tuple[int, int]]:
    res = run("SN400", day)
    assert res.rc == 0, res.log_text  # reconciled with 納付履歴 to the yen (else KKB480E, RC 8)
    summary = datasets.read("daily_collection", datasets.generation_name(MUNI, 2026, day))
    return {(r["channel"], r["kind"]): (r["count"], r["amount"]) for r in summary.iter_rows(named=True)}


# --- re-sends -------------------------------------------------------------------------------------


def test_resend_with_the_same_amount_is_a_duplicate(ledger_url):
    levy_initial()
    slip = counter_record(N1, 1, 19_456, serial=7)
    drop(counter_file([slip]), "counter", "COUNTER_1001.dat")
    assert run("SN200", DAY1).rc == 0 and run("SN205", DAY1).rc == 0
    before, pays = installments(), payments().height
    # the bank sends the slip again the next day, in another file
    drop(counter_file([counter_record(N1, 2, 13_000, serial=8), slip], creation_date=DAY2), "counter",
         "COUNTER_1002.dat")
    assert run("SN200", DAY2).rc == 0
    res = run("SN205", DAY2)
    assert res.rc == 4
    rows = recon("COUNTER_1002.dat")
    assert rows.select("record_no", "status").rows() == [(2, "posted"), (3, "duplicate")]
    assert "COUNTER_1001.dat 第2レコード" in rows["reason"][1]
    assert installments()[(2026, N1, 1)]["paid_amount"] == before[(2026, N1, 1)]["paid_amount"] == 19_456
    assert payments().height == pays + 1
    assert_money_reconciles()


def test_resend_with_another_amount_is_a_conflict(ledger_url):
    levy_initial()
    drop(counter_file([counter_record(N1, 1, 19_456, serial=7)]), "counter", "COUNTER_1001.dat")
    assert run("SN200", DAY1).rc == 0 and run("SN205", DAY1).rc == 0
    inst_before, pay_before, paid_before = installments(), payments(), paid_total()
    # the same slip (bank, branch, 通知書番号, 期別, 領収日, 通し番号) with a corrected amount
    drop(counter_file([counter_record(N1, 1, 19_000, serial=7)], creation_date=DAY2), "counter",
         "COUNTER_1002.dat")
    assert run("SN200", DAY2).rc == 0
    res = run("SN205", DAY2)
    assert res.rc == 4 and "KKB435W" in msg_ids(res)
    line = next(m for m in res.log_text.splitlines() if "KKB435W" in m)
    for part in ("COUNTER_1002.dat 第2レコード", "COUNTER_1001.dat 第2レコード", "19,456円", "19,000円"):
        assert part in line, line
    rows = recon("COUNTER_1002.dat")
    assert rows.select("status", "amount").rows() == [("conflict", 19_000)]
    assert "COUNTER_1001.dat 第2レコード 19456円" in rows["reason"][0]
    assert rows["raw_hex"][0]  # held with its bytes for the operator
    err = error_rows(res)
    assert err.select("レコード番号", "項目名").rows() == [("2", "金額相違(保留)")]
    # the ledger is unchanged: the earlier posting stays, nothing new posted
    assert installments() == inst_before and paid_total() == paid_before
    assert payments().equals(pay_before)
    assert recon("COUNTER_1001.dat")["status"].to_list() == ["posted"]
    assert res.totals.rejected == 1 and res.totals.money["conflict"] == 19_000
    # the 日計 shows the 保留
    assert daily(DAY2)[("counter", "conflict")] == (1, 19_000)
    # a third send of the other amount: a held conflict is never the reference — the record is
    # compared with the posting again and held again (not a duplicate of the conflict)
    drop(counter_file([counter_record(N1, 1, 19_000, serial=7), counter_record(N1, 2, 13_000, serial=9)],
                      creation_date=DAY2), "counter", "COUNTER_1003.dat")
    assert run("SN200", DAY2).rc == 0
    assert run("SN205", DAY2).rc == 4
    assert recon("COUNTER_1003.dat")["status"].to_list() == ["conflict", "posted"]
    assert_money_reconciles()


def test_conflict_inside_one_file(ledger_url):
    levy_initial()
    drop(counter_file([counter_record(N1, 1, 19_456, serial=7), counter_record(N1, 1, 9_456, serial=7)]),
         "counter", "COUNTER_1001.dat")
    assert run("SN200", DAY1).rc == 0
    res = run("SN205", DAY1)
    assert res.rc == 4 and "KKB435W" in msg_ids(res)
    rows = recon("COUNTER_1001.dat")
    assert rows.select("status", "amount").rows() == [("posted", 19_456), ("conflict", 9_456)]
    assert "同一ファイル第2レコード" in rows["reason"][1]
    assert paid_total() == 19_456
    assert_money_reconciles()


def test_cvs_resend_with_another_amount_is_a_conflict(ledger_url):
    levy_initial()
    drop(cvs_file([cvs_record(H1, 2, 13_000)]), "cvs", "CVS_1001.dat")
    assert run("SN210", DAY1).rc == 0 and run("SN215", DAY1).rc in (0, 4)
    # the same store transaction of the same slip, reported with another amount (its barcode
    # differs only in 支払金額 and チェックデジット)
    drop(cvs_file([cvs_record(H1, 2, 12_000), cvs_record(H1, 2, 13_000, paid_time="1300")], creation_date=DAY2),
         "cvs", "CVS_1002.dat")
    assert run("SN210", DAY2).rc == 0
    res = run("SN215", DAY2)
    assert res.rc == 4 and "KKB435W" in msg_ids(res)
    rows = recon("CVS_1002.dat")
    assert rows.select("status", "amount").rows() == [("conflict", 12_000), ("posted", 13_000)]
    assert installments()[(2026, N1, 2)]["paid_amount"] == 26_000  # the first, and the 13:00 payment
    assert_money_reconciles()


# --- 取消・訂正 ---------------------------------------------------------------------------------------


def postal(amount: int, data_kind: str = "12", **kw) -> dict:
    """A 郵便振替 (12) / 郵便振替訂正 (22) record (DSK: 収納時刻 0) of 期別2 of N1."""
    return cvs_record(H1, 2, amount, data_kind=data_kind, paid_time="0000", agent_code="0910", **kw)


def test_correction_to_zero_reverses_a_posted_slip(ledger_url):
    levy_initial()
    drop(cvs_file([postal(13_000)]), "cvs", "CVS_1001.dat")
    assert run("SN210", DAY1).rc == 0
    assert run("SN215", DAY1).rc in (0, 4)
    assert installments()[(2026, N1, 2)]["paid_amount"] == 13_000
    first = payments()
    assert first.height == 1

    drop(cvs_file([postal(0, "22")], creation_date=DAY2), "cvs", "CVS_1002.dat")
    assert run("SN210", DAY2).rc == 0
    res = run("SN215", DAY2)
    assert res.rc == 0, res.log_text
    assert "KKB437I" in msg_ids(res)
    # the 期別 back to unpaid; the earlier rows never deleted
    assert installments()[(2026, N1, 2)]["paid_amount"] == 0
    pays = payments()
    assert pays.height == 2 and pays.filter(pl.col("cash_kind") == "1").equals(first.filter(pl.col("cash_kind") == "1"))
    rev = pays.filter(pl.col("cash_kind") == "3")
    assert rev.select("record_no", "line_no", "tax_amount", "refund_offset_kind").rows() == [(2, 1, -13_000, "0")]
    old = q("SELECT status, reason, resolved_date, operator_id, amount FROM reconciliation "
            "WHERE source_file = 'CVS_1001.dat'").row(0, named=True)
    assert (old["status"], old["resolved_date"], old["operator_id"], old["amount"]) == ("reversed", DAY2, "SN215",
                                                                                         13_000)
    assert "訂正により取消 (CVS_1002.dat 第2レコード, 13000円 → 0円)" == old["reason"]
    new = recon("CVS_1002.dat").row(0, named=True)
    assert (new["kind"], new["status"], new["amount"]) == ("correction", "corrected", 0)
    assert "CVS_1001.dat 第2レコード 13000円 を取消し 0円 に訂正" in new["reason"]
    # the 日計: day 1 posted 13,000; day 2 the reversal −13,000 (and reconciles: RC 0)
    assert daily(DAY1)[("cvs", "posted")] == (1, 13_000)
    d2 = daily(DAY2)
    assert d2[("cvs", "reversal")] == (1, -13_000) and d2[("cvs", "correction")] == (1, 0)
    assert_money_reconciles()
    # the same 訂正 sent again: a duplicate, nothing reversed twice
    drop(cvs_file([postal(0, "22"), postal(5_000, paid_date=D(2026, 9, 29))], creation_date=DAY2), "cvs",
         "CVS_1003.dat")
    assert run("SN210", DAY2).rc == 0
    assert run("SN215", DAY2).rc == 4
    assert recon("CVS_1003.dat")["status"].to_list() == ["duplicate", "posted"]
    assert installments()[(2026, N1, 2)]["paid_amount"] == 5_000
    assert_money_reconciles()


def test_correction_replaces_the_amount_in_the_same_file_and_across_files(ledger_url):
    levy_initial()
    # the same file: a 郵便振替 of 13,000, then its 訂正 to 12,000
    drop(cvs_file([postal(13_000), postal(12_000, "22")]), "cvs", "CVS_1001.dat")
    assert run("SN210", DAY1).rc == 0
    res = run("SN215", DAY1)
    assert res.rc == 4 and "KKB421W" in msg_ids(res)  # a 郵便振替 has no 速報 (warned like any 確報 without one)
    assert res.totals.rejected == 0
    rows = recon("CVS_1001.dat")
    assert rows.select("record_no", "kind", "status", "amount").rows() == [
        (2, "confirmed", "reversed", 13_000), (3, "correction", "corrected", 12_000)]
    assert installments()[(2026, N1, 2)]["paid_amount"] == 12_000
    assert payments().select("record_no", "line_no", "cash_kind", "tax_amount").rows() == [
        (2, 1, "1", 13_000), (3, 1, "3", -13_000), (3, 2, "1", 12_000)]
    d1 = daily(DAY1)
    assert d1[("cvs", "posted")] == (1, 13_000) and d1[("cvs", "reversal")] == (1, -13_000)
    assert d1[("cvs", "correction")] == (1, 12_000)
    assert_money_reconciles()


def test_correction_without_a_posting_is_an_error(ledger_url):
    levy_initial()
    drop(cvs_file([postal(12_000, "22")]), "cvs", "CVS_1001.dat")
    assert run("SN210", DAY1).rc == 0
    res = run("SN215", DAY1)
    assert res.rc == 4
    rows = recon("CVS_1001.dat")
    assert rows.select("status", "reason").rows() == [("error", "訂正の対象となる消込済みの確報がありません")]
    assert paid_total() == 0 and payments().height == 0


def test_cancel_with_another_amount_than_its_provisional_is_an_error(ledger_url):
    levy_initial()
    drop(cvs_file([cvs_record(H1, 2, 13_000, data_kind="01")]), "cvs", "CVS_1001.dat")
    assert run("SN210", DAY1).rc == 0 and run("SN215", DAY1).rc == 0
    drop(cvs_file([cvs_record(H1, 2, 12_000, data_kind="03")], creation_date=DAY2), "cvs", "CVS_1002.dat")
    assert run("SN210", DAY2).rc == 0
    assert run("SN215", DAY2).rc == 4
    assert recon("CVS_1002.dat").select("status", "reason").rows() == [
        ("error", "取消の金額 12000円 が速報の金額 13000円 と一致しません")]
    assert recon("CVS_1001.dat")["status"].to_list() == ["provisional"]  # still open
    assert installments()[(2026, N1, 2)]["provisional_amount"] == 13_000


# --- 口座振替 results against the requests ---------------------------------------------------------------


def test_debit_result_must_match_its_request(ledger_url):
    levy_initial()
    ok = debit_record(N1, 1, 19_456, "0")
    wrong = debit_record(N1, 2, 12_000, "0")  # the city asked for 13,000
    failed_wrong = debit_record("20000000002", 4, 1_000, "1")  # 振替不能, asked for 26,256
    unasked = debit_record(N1, 2, 13_000, "0", seq=2)  # no request with this 顧客番号
    add_debit_requests([ok, wrong, failed_wrong], debit_date=D(2026, 9, 30),
                       amounts={wrong["customer_number"]: 13_000, failed_wrong["customer_number"]: 26_256})
    drop(debit_file([ok, wrong, failed_wrong, unasked], debit_date=D(2026, 9, 30)), "bank",
         "KOUFURI_KEKKA_20260930.dat")
    assert run("SN110", DAY1).rc == 0
    res = run("SN115", DAY1)
    assert res.rc == 4
    rows = recon("KOUFURI_KEKKA_20260930.dat")
    assert rows.select("record_no", "status").rows() == [(2, "posted"), (3, "error"), (4, "error"), (5, "error")]
    assert rows["reason"][1] == f"振替結果の金額 12000円 が請求額 13000円 と一致しません (顧客番号 {wrong['customer_number']})"
    assert rows["reason"][2].startswith("振替結果の金額 1000円 が請求額 26256円")
    assert rows["reason"][3].startswith(f"口座振替の請求がありません (顧客番号 {unasked['customer_number']}")
    lines = [m for m in res.log_text.splitlines() if "KKB436W" in m]
    assert len(lines) == 3
    assert "第3レコード" in lines[0] and "12,000円" in lines[0] and "13,000円" in lines[0]
    assert "対応する請求がありません" in lines[2]
    err = error_rows(res)
    assert err["レコード番号"].to_list() == ["3", "4", "5"]
    assert installments()[(2026, N1, 2)]["paid_amount"] == 0  # never posted
    assert paid_total() == 19_456
    assert_money_reconciles()
    # SN130 takes only the accepted results onto the requests
    assert run("SN130", DAY1).rc == 0
    req = q("SELECT customer_number, status FROM debit_request ORDER BY customer_number")
    assert dict(req.iter_rows()) == {ok["customer_number"]: "done", wrong["customer_number"]: "requested",
                                     failed_wrong["customer_number"]: "requested"}


def test_debit_result_of_another_debit_date_has_no_request(ledger_url):
    levy_initial()
    rec = debit_record(N1, 1, 19_456, "0")
    add_debit_requests([rec], debit_date=D(2026, 8, 31))
    drop(debit_file([rec], debit_date=D(2026, 9, 30)), "bank", "KOUFURI_KEKKA_20260930.dat")
    assert run("SN110", DAY1).rc == 0
    res = run("SN115", DAY1)
    assert res.rc == 4
    assert recon("KOUFURI_KEKKA_20260930.dat")["status"].to_list() == ["error"]
    assert paid_total() == 0
