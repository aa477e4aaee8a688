"""TN010 督促対象抽出's holds through the real step, on DuckDB and PostgreSQL: an open CVS 速報, an
active 分割納付 plan and an active 執行停止 (rows put straight into the migration-005 tables that
sql/arrears/held_installments.sql reads) hold their 期別 from 督促 and are counted per reason; a
速報 settled by its 確報, a broken plan and a lifted 執行停止 hold nothing any more."""

from __future__ import annotations

import polars as pl
from collection_helpers import (
    D,
    cvs_file,
    cvs_record,
    drop,
    levy_file,
    levy_row,
    open_ledger,
    put_levy,
    run,
    write_qualification,
)

from jobs.common import datasets

DUE = D(2026, 7, 31)
DAY = D(2026, 8, 20)  # the 督促 day of 7/31
AUDIT = {"deleted": False, "operator_id": "TEST", "operated_date": D(2026, 8, 1), "operated_time": "090000",
         "operation_reason": "test"}


def _n(i: int) -> str:
    return f"1{i:010d}"


def _plan(plan_id: str, person: int, status: str, status_date) -> tuple[dict, dict]:
    plan = {"plan_id": plan_id, "municipality_code": "111007", "person_id": f"{person:010d}",
            "household_id": f"{person:010d}", "registered_date": D(2026, 8, 5), "first_due_date": D(2026, 9, 30),
            "last_due_date": D(2027, 2, 28), "plan_amount": 50_000, "installment_count": 6,
            "paid_at_registration": 0, "status": status, "status_date": status_date, "source_sha256": "0" * 64,
            "job_id": "TN200", **AUDIT}
    target = {"plan_id": plan_id, "levy_year": 2026, "notice_number": _n(person), "installment_no": 1,
              "municipality_code": "111007", "due_date": DUE, "balance": 50_000, **AUDIT}
    return plan, target


def _suspension(sid: str, person: int, lifted) -> dict:
    return {"suspension_id": sid, "municipality_code": "111007", "person_id": f"{person:010d}", "reason_code": "1",
            "start_date": D(2026, 8, 1), "immediate_extinction": False, "lifted_date": lifted, "note": None,
            "source_sha256": "0" * 64, "record_no": person, "job_id": "TN300", **AUDIT}


def _insert(table: str, rows: list[dict]) -> None:
    led = open_ledger(migrate=False)
    try:
        with led.transaction() as tx:
            tx.insert(table, pl.DataFrame(rows, infer_schema_length=None))
    finally:
        led.dispose()


def test_holds_of_dunning(ledger_url):
    put_levy(levy_file([levy_row(_n(i), 1, 50_000, due_date=DUE) for i in range(1, 8)]), "levy_holds.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification([f"{i:010d}" for i in range(1, 8)])
    # 1: a CVS 速報 (part of the 本税) not settled by its 確報 yet; 7: a 速報 settled by its 確報 the
    # next day (10,000円 paid: 40,000円 left for the 督促状)
    slip = {"paid_date": D(2026, 8, 17), "acquired_date": D(2026, 8, 17), "due": D(2026, 8, 31)}
    drop(cvs_file([cvs_record(f"{7:010d}", 1, 10_000, data_kind="01", **slip)], creation_date=D(2026, 8, 18)),
         "cvs", "CVS_SOKUHO_20260818.dat")
    for job in ("SN210", "SN215"):
        res = run(job, D(2026, 8, 18))
        assert res.rc == 0, res.log_text
    drop(cvs_file([cvs_record(f"{1:010d}", 1, 10_000, data_kind="01", paid_date=D(2026, 8, 18),
                              acquired_date=D(2026, 8, 18), due=D(2026, 8, 31)),
                   cvs_record(f"{7:010d}", 1, 10_000, data_kind="02", **slip)], creation_date=D(2026, 8, 19)),
         "cvs", "CVS_20260819.dat")
    for job in ("SN210", "SN215"):
        res = run(job, D(2026, 8, 19))
        assert res.rc == 0, res.log_text
    # 2: active 分割納付; 3: broken before the 督促 day
    p2, t2 = _plan("P0000000000000000000002", 2, "active", None)
    p3, t3 = _plan("P0000000000000000000003", 3, "broken", D(2026, 8, 15))
    _insert("arrears_plan", [p2, p3])
    _insert("arrears_plan_target", [t2, t3])
    # 4: 執行停止 in force; 5: lifted before the 督促 day
    _insert("arrears_suspension", [_suspension("S4", 4, None), _suspension("S5", 5, D(2026, 8, 15))])

    res = run("TN010", DAY)
    assert res.rc == 0, res.log_text
    by = res.totals.by_record_type
    assert by["target"].read == 4
    assert by["held_cvs_provisional"].read == 1
    assert by["held_plan"].read == 1
    assert by["held_suspension"].read == 1
    assert res.totals.money["held_plan"] == 50_000 and res.totals.money["held_suspension"] == 50_000
    assert res.totals.money["target_tax"] == 190_000
    out = datasets.read("dunning_candidates", datasets.latest("dunning_candidates", municipality="111007"))
    got = {r["notice_number"]: (r["hold_reason"], r["hold_id"]) for r in out.iter_rows(named=True)}
    assert {k: v[0] for k, v in got.items()} == {
        _n(1): "cvs_provisional", _n(2): "plan", _n(3): None, _n(4): "suspension", _n(5): None, _n(6): None, _n(7): None}
    assert got[_n(2)][1] == "P0000000000000000000002" and got[_n(4)][1] == "S4"
    assert "分割納付" in res.log_text and "執行停止" in res.log_text and "コンビニ速報" in res.log_text
    res = run("TN020", DAY)
    assert res.rc == 0, res.log_text
    assert res.totals.by_record_type["notice"].read == 4 and res.totals.money["tax"] == 190_000
