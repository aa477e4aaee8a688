"""TN030 延滞金調定 through the real steps, on DuckDB and PostgreSQL: a 督促済 期別 paid in full late
gets its 延滞金 booked once (dunning_notice.late_fee_levied, installment.late_fee_amount), equal to
``late_fee()`` of its dates (and of its partial payments); one paid soon after the 督促 gets 0 (under the 1,000円 minimum); a
rerun books nothing twice."""

from __future__ import annotations

from collection_helpers import (
    MUNI,
    D,
    counter_file,
    counter_record,
    drop,
    levy_file,
    levy_row,
    msg_ids,
    put_levy,
    q,
    run,
    write_qualification,
)

from jobs.arrears.late_fee import LateFeeRules, late_fee
from jobs.common import config

DUE = D(2026, 7, 31)
DAY = D(2026, 8, 20)  # the 督促 day of 7/31
LATE = D(2026, 12, 15)  # paid in full months after the 納期限
SOON = D(2026, 8, 25)   # paid in full a few days after the 督促状
PART = D(2026, 9, 30)   # a part of the 本税 paid


def _post_counter(records: list[dict], day, name: str) -> None:
    drop(counter_file(records, creation_date=day), "counter", name)
    for job in ("SN200", "SN205"):  # 窓口収納データ取込, 窓口収納消込
        res = run(job, day)
        assert res.rc == 0, res.log_text


def test_late_fee_booked_once(ledger_url):
    put_levy(levy_file([
        levy_row("10000000001", 1, 500_000, due_date=DUE),  # paid late: 延滞金
        levy_row("10000000002", 1, 50_000, due_date=DUE),   # paid soon: 0
        levy_row("10000000003", 1, 40_000, due_date=DUE),   # still unpaid: nothing booked
        levy_row("10000000004", 1, 300_000, due_date=DUE),  # paid in two parts: the base drops in between
    ]), "levy_late_fee.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification(["0000000001", "0000000002", "0000000003", "0000000004"])
    assert run("TN010", DAY).rc == 0
    res = run("TN020", DAY)
    assert res.rc == 0 and res.totals.by_record_type["notice"].read == 4, res.log_text

    _post_counter([counter_record("10000000002", 1, 50_000, paid_date=SOON, received_date=D(2026, 8, 26))],
                  D(2026, 8, 26), "COUNTER_20260826.dat")
    _post_counter([counter_record("10000000004", 1, 120_000, paid_date=PART, received_date=D(2026, 10, 1))],
                  D(2026, 10, 1), "COUNTER_20261001.dat")
    _post_counter([counter_record("10000000001", 1, 500_000, paid_date=LATE, received_date=D(2026, 12, 16)),
                   counter_record("10000000004", 1, 180_000, paid_date=LATE, received_date=D(2026, 12, 16),
                              serial=2)], D(2026, 12, 16), "COUNTER_20261216.dat")

    rules = LateFeeRules.from_config(config.load(MUNI, 2026))
    expected = late_fee(500_000, DUE, [], LATE, rules)
    assert expected > 0 and expected % 100 == 0
    assert late_fee(50_000, DUE, [], SOON, rules) == 0
    parts = late_fee(300_000, DUE, [(PART, 120_000), (LATE, 180_000)], LATE, rules)
    assert 0 < parts < late_fee(300_000, DUE, [], LATE, rules)

    res = run("TN030", D(2026, 12, 17))
    assert res.rc == 0, res.log_text
    assert "KKB613I" in msg_ids(res)
    assert res.totals.by_record_type["levy"].read == 3
    assert res.totals.money["late_fee_levied"] == expected + parts
    booked = q("SELECT n.notice_number, n.completed_date, n.late_fee_levy_date, n.late_fee_levied, i.late_fee_amount "
               "FROM dunning_notice n JOIN installment i ON i.levy_year = n.levy_year "
               "AND i.notice_number = n.notice_number AND i.installment_no = n.installment_no "
               "ORDER BY n.notice_number").rows()
    assert booked == [
        ("10000000001", LATE, D(2026, 12, 17), expected, expected),
        ("10000000002", SOON, D(2026, 12, 17), 0, 0),
        ("10000000003", None, None, 0, 0),
        ("10000000004", LATE, D(2026, 12, 17), parts, parts),
    ]
    # rerun (same day and later): nothing booked twice, the figures unchanged
    for day in (D(2026, 12, 17), D(2026, 12, 18)):
        res = run("TN030", day)
        assert res.rc == 0, res.log_text
        assert "KKB615I" in msg_ids(res) and res.totals.by_record_type["levy"].read == 0
        assert res.totals.money["late_fee_levied_total"] == expected + parts
    assert q("SELECT n.notice_number, n.completed_date, n.late_fee_levy_date, n.late_fee_levied, i.late_fee_amount "
             "FROM dunning_notice n JOIN installment i ON i.levy_year = n.levy_year "
             "AND i.notice_number = n.notice_number AND i.installment_no = n.installment_no "
             "ORDER BY n.notice_number").rows() == booked
