"""A 収納代行 (CVS) payment of a 督促状's barcode (本税 + 延滞金 to the 指定期限), through the real steps on
DuckDB and PostgreSQL: SN215 posts 本税 first up to the 期別's balance and the rest as 延滞金 (地方税法:
本税 first), so the 期別 is paid in full and not overpaid; TN030 then counts the 延滞金 received. A 期別
part-paid at the counter after its 督促状 gets its balance as 本税, the stated 延滞金, and the excess as
本税 (its 過誤納). SN400's 日計 still reconciles to the yen; a rerun posts nothing twice."""

from __future__ import annotations

from collection_helpers import (
    D,
    counter_file,
    counter_record,
    cvs_file,
    cvs_record,
    drop,
    levy_file,
    levy_row,
    msg_ids,
    put_levy,
    q,
    run,
    write_qualification,
)

DUE = D(2026, 7, 31)
DUN = D(2026, 12, 1)   # a 督促 day caught up late: the 延滞金 to the 指定期限 is above the 1,000円 minimum
COUNTER_DAY = D(2026, 12, 3)
PAID = D(2026, 12, 4)  # paid at the store before the 指定期限
CVS_DAY = D(2026, 12, 7)


def test_dunning_barcode_paid_at_cvs_goes_to_tax_first(ledger_url):
    put_levy(levy_file([
        levy_row("10000000007", 1, 250_000, due_date=DUE),  # the 督促状 paid in full at the store
        levy_row("10000000008", 1, 200_000, due_date=DUE),  # part-paid at the counter first, then the 督促状
        levy_row("10000000009", 1, 30_000, due_date=DUE, levy_date=D(2026, 7, 1)),  # no 督促状 (paid on time)
    ]), "levy_dunning_cvs.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    drop(counter_file([counter_record("10000000009", 1, 30_000, paid_date=D(2026, 7, 30),
                                      received_date=D(2026, 7, 31))], creation_date=D(2026, 7, 31)),
         "counter", "COUNTER_20260731.dat")
    assert run("SN200", D(2026, 7, 31)).rc == 0 and run("SN205", D(2026, 7, 31)).rc == 0
    write_qualification(["0000000007", "0000000008", "0000000009"])
    assert run("TN010", DUN).rc == 0
    res = run("TN020", DUN)
    assert res.rc == 0 and res.totals.by_record_type["notice"].read == 2, res.log_text
    stated = dict(q("SELECT notice_number, late_fee_amount FROM dunning_notice ORDER BY notice_number").rows())
    pay_by = q("SELECT MIN(pay_by) AS d FROM dunning_notice").item()
    lf7, lf8 = stated["10000000007"], stated["10000000008"]
    assert lf7 >= 1_000 and lf8 >= 1_000 and lf7 % 100 == 0

    drop(counter_file([counter_record("10000000008", 1, 50_000, paid_date=D(2026, 12, 2),
                                      received_date=COUNTER_DAY)], creation_date=COUNTER_DAY),
         "counter", "COUNTER_20261203.dat")
    assert run("SN200", COUNTER_DAY).rc == 0 and run("SN205", COUNTER_DAY).rc == 0

    # the 督促状 barcodes: 本税 at issue + the stated 延滞金, paid at the store, and a slip without 督促状
    drop(cvs_file([
        cvs_record("0000000007", 1, 250_000 + lf7, paid_date=PAID, due=pay_by, acquired_date=D(2026, 12, 5)),
        cvs_record("0000000008", 1, 200_000 + lf8, paid_date=PAID, paid_time="1300", due=pay_by,
                   acquired_date=D(2026, 12, 5)),
        cvs_record("0000000009", 1, 30_000, paid_date=PAID, paid_time="1400", due=DUE, acquired_date=D(2026, 12, 5)),
    ], creation_date=CVS_DAY), "cvs", "CVS_20261207.dat")
    assert run("SN210", CVS_DAY).rc == 0
    res = run("SN215", CVS_DAY)
    assert res.rc == 4 and "KKB421W" in msg_ids(res), res.log_text  # 確報 without 速報: warned, posted
    assert "KKB693I" in msg_ids(res) and f"延滞金 {lf7 + lf8:,}円" in res.log_text
    cvs_rows = q("SELECT notice_number, tax_amount, late_fee_amount, dunning_fee_amount FROM payment "
                 "WHERE channel = 'cvs' ORDER BY notice_number").rows()
    assert cvs_rows == [("10000000007", 250_000, lf7, 0), ("10000000008", 200_000, lf8, 0),
                        ("10000000009", 30_000, 0, 0)]  # no 督促状: nothing split, the excess is 本税
    assert q("SELECT notice_number, levy_amount, paid_amount FROM installment ORDER BY notice_number").rows() == [
        ("10000000007", 250_000, 250_000),
        ("10000000008", 200_000, 250_000),  # 50,000 paid twice: the 過誤納 SN300 finds
        ("10000000009", 30_000, 60_000),
    ]
    # the 消込データ keeps the amount as read; the 日計 reconciles it with 納付履歴 to the yen
    assert q("SELECT SUM(amount) AS a FROM reconciliation WHERE channel = 'cvs'").item() == 480_000 + lf7 + lf8
    res = run("SN400", CVS_DAY)
    assert res.rc == 0 and "KKB481I" in msg_ids(res), res.log_text

    # a rerun of the 消込 posts nothing twice
    assert run("SN215", CVS_DAY).rc == 0
    assert q("SELECT COUNT(*) AS n, SUM(tax_amount) AS t, SUM(late_fee_amount) AS l FROM payment "
             "WHERE channel = 'cvs'").row(0) == (3, 480_000, lf7 + lf8)

    # TN030: the 延滞金 調定 of the 期別 paid in full, and the 延滞金 received from the barcode payments
    res = run("TN030", D(2026, 12, 8))
    assert res.rc == 0, res.log_text
    assert res.totals.money["late_fee_received_total"] == lf7 + lf8
    got = q("SELECT notice_number, completed_date, late_fee_received FROM dunning_notice ORDER BY notice_number")
    assert got.rows() == [("10000000007", PAID, lf7), ("10000000008", PAID, lf8)]


def test_postal_correction_of_a_dunning_barcode_reverses_what_was_booked(ledger_url):
    """郵便振替 (12) of a 督促状 barcode, split 本税 / 延滞金; its 訂正 (22) the next day reverses exactly
    what was booked and splits the corrected amount again, 本税 first."""
    put_levy(levy_file([levy_row("10000000011", 1, 250_000, due_date=DUE)]), "levy_dunning_postal.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification(["0000000011"])
    assert run("TN010", DUN).rc == 0 and run("TN020", DUN).rc == 0
    lf = q("SELECT late_fee_amount FROM dunning_notice").item()
    pay_by = q("SELECT pay_by FROM dunning_notice").item()
    assert lf >= 1_000

    slip = {"paid_date": PAID, "due": pay_by, "acquired_date": D(2026, 12, 5)}
    drop(cvs_file([cvs_record("0000000011", 1, 250_000 + lf, data_kind="12", **slip)], creation_date=CVS_DAY),
         "cvs", "CVS_20261207.dat")
    assert run("SN210", CVS_DAY).rc == 0
    res = run("SN215", CVS_DAY)
    assert res.rc in (0, 4) and "KKB693I" in msg_ids(res), res.log_text
    assert run("SN400", CVS_DAY).rc == 0

    day2 = D(2026, 12, 8)  # the post office corrects the amount: 100円 less of the 延滞金
    drop(cvs_file([cvs_record("0000000011", 1, 250_000 + lf - 100, data_kind="22", **slip)], creation_date=day2),
         "cvs", "CVS_20261208.dat")
    assert run("SN210", day2).rc == 0
    res = run("SN215", day2)
    assert res.rc in (0, 4) and "KKB437I" in msg_ids(res), res.log_text
    rows = q("SELECT cash_kind, line_no, tax_amount, late_fee_amount FROM payment "
             "ORDER BY received_date, line_no, cash_kind").rows()
    assert sorted(rows) == sorted([("1", 1, 250_000, lf), ("3", 1, -250_000, -lf), ("1", 2, 250_000, lf - 100)])
    assert q("SELECT paid_amount FROM installment").item() == 250_000
    res = run("SN400", day2)
    assert res.rc == 0 and "KKB481I" in msg_ids(res), res.log_text
    res = run("TN030", D(2026, 12, 9))
    assert res.rc == 0 and res.totals.money["late_fee_received_total"] == lf - 100, res.log_text
