"""TN030 延滞金調定 leaves out a deleted 期別 (installment.deleted): sql/arrears/late_fee_levy_targets.sql,
on DuckDB and PostgreSQL. Two 督促済 期別 paid in full months late; one is then marked deleted: only
the other gets its 延滞金 booked."""

from __future__ import annotations

from collection_helpers import (
    D,
    counter_file,
    counter_record,
    drop,
    levy_file,
    levy_row,
    put_levy,
    q,
    run,
    scalar,
    write_qualification,
)
from collection_helpers import open_ledger as helper_ledger

DUE = D(2026, 7, 31)
DAY = D(2026, 8, 20)
LATE = D(2026, 12, 15)


def test_deleted_installment_gets_no_late_fee(ledger_url):
    put_levy(levy_file([levy_row("10000000001", 1, 500_000, due_date=DUE),
                        levy_row("10000000002", 1, 500_000, due_date=DUE)]), "levy_deleted.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification(["0000000001", "0000000002"])
    assert run("TN010", DAY).rc == 0
    assert run("TN020", DAY).rc == 0
    drop(counter_file([counter_record("10000000001", 1, 500_000, paid_date=LATE, received_date=D(2026, 12, 16)),
                       counter_record("10000000002", 1, 500_000, paid_date=LATE, received_date=D(2026, 12, 16),
                                      serial=2)], creation_date=D(2026, 12, 16)), "counter", "COUNTER_20261216.dat")
    for job in ("SN200", "SN205"):
        assert run(job, D(2026, 12, 16)).rc == 0
    ledger = helper_ledger(migrate=False)
    try:
        with ledger.transaction() as tx:
            tx.execute("UPDATE installment SET deleted = TRUE WHERE notice_number = '10000000002'")
    finally:
        ledger.dispose()
    res = run("TN030", D(2026, 12, 17))
    assert res.rc == 0, res.log_text
    assert res.totals.by_record_type["levy"].read == 1
    booked = q("SELECT notice_number, late_fee_levied FROM dunning_notice ORDER BY notice_number").rows()
    assert booked[0][0] == "10000000001" and booked[0][1] > 0
    assert booked[1] == ("10000000002", 0)
    assert int(scalar("SELECT late_fee_amount FROM installment WHERE notice_number = '10000000002'") or 0) == 0
