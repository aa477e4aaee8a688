"""TN010 leaves out a 期別 already written off (不納欠損, e.g. TN620's 即時消滅 under 地方税法15条の7⑤
before its 督促 day): sql/arrears/dunning_candidates.sql, on DuckDB and PostgreSQL."""

from __future__ import annotations

from collection_helpers import D, levy_file, levy_row, put_levy, q, run, write_qualification
from collection_helpers import open_ledger as helper_ledger

DUE = D(2026, 7, 31)
DAY = D(2026, 8, 20)  # 7/31 + 20 days


def test_written_off_installment_gets_no_dunning_notice(ledger_url):
    put_levy(levy_file([levy_row("10000000001", 1, 50_000, due_date=DUE),
                        levy_row("10000000002", 1, 30_000, due_date=DUE)]), "levy_write_off.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification(["0000000001", "0000000002"])
    ledger = helper_ledger(migrate=False)
    try:
        with ledger.transaction() as tx:
            tx.execute("UPDATE installment SET write_off_date = :d, write_off_amount = levy_amount "
                       "WHERE notice_number = '10000000002'", {"d": D(2026, 8, 10)})
    finally:
        ledger.dispose()
    res = run("TN010", DAY)
    assert res.rc == 0, res.log_text
    assert res.totals.by_record_type["target"].read == 1
    assert run("TN020", DAY).rc == 0
    assert q("SELECT notice_number FROM dunning_notice").rows() == [("10000000001",)]
