"""A payment file whose 収入日 falls in a month already closed by TN510 月次締め: the 消込 step
ends RC 8 with KKB662E (the catalogued message and its action, naming the month and the rows),
nothing is posted and nothing committed — not an abend (RC 16, KKB999U), which it was when the
month lock's refusal reached the step runtime as a bare LedgerError. The file stays registered,
so after the operator books it to an open month (or sets late_posting_rule: next_month) a rerun
posts it. On DuckDB and PostgreSQL (``ledger_url``)."""

from __future__ import annotations

from collection_helpers import (
    DAY1,
    FIXTURES,
    MUNI,
    D,
    counter_file,
    counter_record,
    drop,
    msg_ids,
    open_ledger,
    paid_total,
    payments,
    register_levy_direct,
    run,
)

from jobs.ledger import ClosedMonthError, LedgerError

N1 = "10000000001"  # levy_initial.dat: 期別1 19,456


def close_month(month: str) -> None:
    led = open_ledger()
    try:
        with led.transaction() as tx:
            tx.execute(
                "INSERT INTO closing_month (municipality_code, closing_month, fiscal_year, closed_date, "
                "late_posting_rule, job_id, operator_id, operated_date, operated_time) VALUES "
                "(:m, :ym, 2026, :d, 'refuse', 'TN510', 'test', :d, '000000')",
                {"m": MUNI, "ym": month, "d": D(2026, 11, 2)})
    finally:
        led.dispose()


def test_a_payment_dated_in_a_closed_month_ends_rc8_with_kkb662e(ledger_url):
    assert register_levy_direct(FIXTURES / "levy_file" / "levy_initial.dat") == 3
    close_month("202610")
    drop(counter_file([counter_record(N1, 1, 19_456, serial=7, received_date=D(2026, 10, 1))]), "counter",
         "COUNTER_1001.dat")
    assert run("SN200", DAY1).rc == 0
    paid_before = paid_total()
    res = run("SN205", DAY1)
    assert res.rc == 8, res.log_text
    assert "KKB662E" in msg_ids(res) and "KKB999U" not in msg_ids(res), res.log_text
    line = next(m.text for m in res.messages if m.msg_id == "KKB662E")
    assert "202610" in line and "payment" in line and "1件" in line, line
    assert payments().height == 0 and paid_total() == paid_before


def test_closed_month_error_is_a_ledger_error_and_a_step_error():
    from jobs.common.step import RC_ERROR, StepError

    exc = ClosedMonthError(table="payment", rows=3, month="202607", municipality=MUNI)
    assert isinstance(exc, LedgerError) and isinstance(exc, StepError)
    assert exc.rc == RC_ERROR and exc.msg_id == "KKB662E" and "月次締め済み" in str(exc)
