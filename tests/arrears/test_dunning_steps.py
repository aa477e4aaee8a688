"""TN010 督促対象抽出 + TN020 督促状作成 through the real steps, on DuckDB and PostgreSQL: the 督促
day (納期限 + 20 days), holds (口座振替結果待ち), 督促状発行日 in the ledger, never twice."""

from __future__ import annotations

from collection_helpers import (
    D,
    add_debit_requests,
    debit_record,
    levy_file,
    levy_row,
    msg_ids,
    put_levy,
    q,
    run,
    write_qualification,
)

DUE = D(2026, 7, 31)
DAY = D(2026, 8, 20)  # 7/31 + 20 days, a Thursday


def test_dunning_selects_holds_and_never_twice(ledger_url):
    put_levy(levy_file([
        levy_row("10000000001", 1, 50_000, due_date=DUE),
        levy_row("10000000002", 1, 30_000, due_date=DUE),   # 口座振替 result pending: held
        levy_row("20000000003", 1, 40_000, due_date=DUE),   # 特別徴収: never 督促 here
        levy_row("10000000004", 2, 20_000, due_date=D(2026, 8, 31)),  # not due for 督促 yet
    ]), "levy_dunning.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification(["0000000001", "0000000002", "0000000004"])
    add_debit_requests([debit_record("10000000002", 1, 30_000)], debit_date=DUE)
    res = run("TN010", D(2026, 8, 19))
    assert res.rc == 0 and "KKB601I" in msg_ids(res), res.log_text
    res = run("TN010", DAY)
    assert res.rc == 0, res.log_text
    assert res.totals.by_record_type["target"].read == 1
    assert res.totals.by_record_type["held_debit_pending"].read == 1
    res = run("TN020", DAY)
    assert res.rc == 0, res.log_text
    assert res.totals.figures["pdf_pages"] == 1 and res.totals.money["tax"] == 50_000
    assert q("SELECT notice_number, dunning_issued_date FROM installment WHERE dunning_issued_date IS NOT NULL"
             ).rows() == [("10000000001", DAY)]
    files = sorted(p for p in res.files)
    first = {p: p.read_bytes() for p in files if p.is_file()}
    # rerun: same bytes, nothing issued twice; a later day issues nothing for it
    assert run("TN010", DAY).rc == 0
    res2 = run("TN020", DAY)
    assert res2.rc == 0 and "KKB606I" in msg_ids(res2)
    assert {p: p.read_bytes() for p in first} == first
    assert q("SELECT COUNT(*) AS n FROM dunning_notice").item() == 1
    res3 = run("TN010", D(2026, 8, 21))
    assert res3.totals.by_record_type["target"].read == 0
