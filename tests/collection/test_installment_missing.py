"""A 期別 change whose 期別 the ledger no longer holds is refused, never dropped: the key-based
update (``ledger/installment_apply_delta``) must change as many 期別 as it was given, else
``apply_installment_delta`` raises ``InstallmentMissingError`` (KKB428E, RC 8) naming the first
missing 期別, and the whole posting rolls back. The 期別 a 消込 posts to were found by its lookup in
the same transaction, so this only happens when one is hard-deleted in between (KB900 purges 期別
years later; 期別 are otherwise soft-deleted): before, its payment stood in 納付履歴 while its
累計収納額 silently stayed. On PostgreSQL the update by row address finds the row gone first and falls
back to the key-based update, which refuses."""

from __future__ import annotations

import polars as pl
import pytest
from collection_helpers import (
    DAY1,
    FIXTURES,
    MUNI,
    msg_ids,
    open_ledger,
    paid_total,
    payments,
    recon,
    register_levy_direct,
    run,
)
from test_reconcile_idempotency import counter_day

from jobs.collection import reconcile
from jobs.ledger import InstallmentMissingError

CHANGE = {(2026, "10000000001", 1): 1_000, (2026, "10000000001", 2): 2_000, (2026, "20000000002", 4): 3_000}
GONE = "DELETE FROM installment WHERE notice_number = '10000000001' AND installment_no = 2"


def _delta() -> pl.DataFrame:
    return pl.DataFrame(
        [{"levy_year": k[0], "notice_number": k[1], "installment_no": k[2], "paid": v, "prov": 0,
          "paid_date": DAY1, "received_date": DAY1} for k, v in CHANGE.items()],
        schema={"levy_year": pl.Int32, "notice_number": pl.String, "installment_no": pl.Int32, "paid": pl.Int64,
                "prov": pl.Int64, "paid_date": pl.Date, "received_date": pl.Date})


def test_a_change_to_an_installment_not_in_the_ledger_is_refused(ledger_url):
    register_levy_direct(FIXTURES / "levy_file" / "levy_initial.dat")
    led = open_ledger()
    try:
        with pytest.raises(InstallmentMissingError) as err, led.transaction() as tx:
            tx.execute(GONE)
            reconcile.apply_installment_delta(tx, _delta(), reconcile.Run(MUNI, DAY1, "SN205", "t"), DAY1, "120000")
    finally:
        led.dispose()
    assert err.value.msg_id == "KKB428E" and err.value.rc == 8
    assert "収納台帳にない期別が 1件" in err.value.text and "通知書番号 10000000001 期別 2" in err.value.text
    assert paid_total() == 0  # rolled back: the other two 期別 kept nothing of the change either


def test_a_posting_whose_installment_vanished_after_the_lookup_ends_rc8(ledger_url, monkeypatch):
    """SN205 through the runner: the 期別 is deleted just after step 3's lookup found it (by
    address on PostgreSQL, by key on DuckDB). The step ends RC 8 with KKB428E; nothing of the file
    is posted and the file is not registered, so a rerun after the 調定 is restored posts it."""
    counter_day()
    real = reconcile._installments

    def lookup_then_delete(tx, keys, municipality):
        found = real(tx, keys, municipality)
        tx.execute(GONE.replace("installment_no = 2", "installment_no = 1"))
        return found

    monkeypatch.setattr(reconcile, "_installments", lookup_then_delete)
    res = run("SN205", DAY1)
    assert res.rc == 8 and "KKB428E" in msg_ids(res), res.log_text
    assert "通知書番号 10000000001 期別 1" in res.log_text
    assert paid_total() == 0 and recon().height == 0 and payments().height == 0

    monkeypatch.setattr(reconcile, "_installments", real)  # the 期別 is still there: the rerun posts the file
    assert run("SN205", DAY1).rc == 4
    assert paid_total() == 52_456
