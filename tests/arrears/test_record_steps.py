"""KB620's steps through the real step runtime, on DuckDB and PostgreSQL: TN210 分割納付計画登録 (every
validation, the 納付書 of each 回 naming the oldest open 期別, the hold from 督促), TN220 履行状況確認
(不履行 after broken_after_days, 完了), TN310 返戻登録, TN320 住所調査結果・公示送達 (送達日 = 掲示日 + 7,
地方税法20条の2第3項) and TN410 執行停止登録 (15条の7: 事由, 即時消滅 only with 第1号, 取消; the
消滅日 of suspension_limitation.sql). Each input: rejects in the error list with record and field,
a re-sent file not posted twice (KKB638I) and the outputs of a rerun byte for byte the same."""

from __future__ import annotations

import polars as pl
import pytest
from collection_helpers import (
    D,
    drop,
    error_rows,
    levy_file,
    levy_row,
    msg_ids,
    open_ledger,
    put_levy,
    q,
    run,
    write_qualification,
)

from jobs.common import fixedwidth as fw
from jobs.common import paths
from jobs.common.step import StepAbend

DAY = D(2026, 9, 15)  # a Tuesday: 7/31 and 8/31 are past due


def _csv(text: str) -> bytes:
    return ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8")


def _city() -> None:
    put_levy(levy_file([
        levy_row("10000000001", 1, 50_000, due_date=D(2026, 7, 31)),
        levy_row("10000000001", 2, 30_000, due_date=D(2026, 8, 31)),
        levy_row("10000000002", 1, 50_000, due_date=D(2026, 7, 31)),
        levy_row("10000000003", 1, 40_000, due_date=D(2026, 7, 31)),
    ]), "levy_records.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification(["0000000001", "0000000002", "0000000003"])


def _outputs(res) -> dict:
    return {p: p.read_bytes() for p in res.files if p.is_file()}


PLANS = """宛名番号,誓約日,計画額,対象期別,納付期日,納付額
0000000001,2026-09-10,80000,2026-10000000001-1;2026-10000000001-2,2026-09-30;2026-10-31;2026-11-30,30000;30000;20000
0000000002,2026-09-10,50000,2026-10000000002-1,2026-09-30;2026-10-31,20000;20000
0000000002,2026-09-10,80000,2026-10000000001-1,2026-09-30,80000
0000000001,2026-09-10,30000,2026-10000000001-2,2026-09-30,30000
0000000003,2026-09-10,40000,2026-10000000003-1,2026-10-31;2026-09-30,20000;20000
0000000003,2026-09-20,40000,2026-10000000003-1,2026-10-31,40000
"""


def test_plans_slips_holds_and_status(ledger_url):
    _city()
    drop(_csv(PLANS), "arrears", "bunkatsu_20260915.csv")
    res = run("TN210", DAY)
    assert res.rc == 4 and "KKB701W" in msg_ids(res), res.log_text
    t = res.totals.by_record_type["plan"]
    assert (t.read, t.accepted, t.rejected) == (6, 1, 5)
    errs = error_rows(res)
    assert errs.height == 5
    assert errs.row(0)[:2] == ("bunkatsu_20260915.csv", "2")  # ファイル名, レコード番号
    reasons = "\n".join(str(v) for v in errs.to_dicts() for v in v.values())
    for expected in ("計画額 50,000円 と一致しません", "の滞納 (納期限を過ぎた未納の期別) ではありません",
                     "計画の重複", "昇順", "業務日"):
        assert expected in reasons, reasons
    plan = q("SELECT plan_id, person_id, plan_amount, installment_count, status, paid_at_registration "
             "FROM arrears_plan").to_dicts()
    assert len(plan) == 1 and plan[0]["plan_amount"] == 80_000 and plan[0]["status"] == "active"
    plan_id = plan[0]["plan_id"]
    assert len(plan_id) == 24 and plan_id.endswith("0000001")
    assert q("SELECT plan_no, amount, slip_installment_no FROM arrears_plan_installment ORDER BY plan_no").rows() == [
        (1, 30_000, 1), (2, 30_000, 1), (3, 20_000, 2)]  # 回2 starts at 30,000 of 期1's 50,000: still 期1
    # the print data: three 納付書, each with the barcode of its 期別 and 回 amount
    prints = sorted(paths.outbox("print").glob("arrears_plan_*.dat"))
    assert len(prints) == 1 and res.totals.figures["slips"] == 3 and res.totals.figures["pdf_pages"] == 2
    data = fw.read(fw.load_layout("arrears_plan_print"), prints[0]).frames["data"]
    assert data["amount"].to_list() == [30_000, 30_000, 20_000]
    codes = data["barcode"].to_list()
    assert all(c and len(c) == 44 for c in codes)
    assert codes[0][-7:-1] == "030000" and codes[2][-7:-1] == "020000"
    first = _outputs(res)
    # the same file again: nothing posted twice, the same bytes
    res2 = run("TN210", DAY)
    assert res2.rc == 0 and "KKB638I" in msg_ids(res2), res2.log_text
    assert int(q("SELECT COUNT(*) AS n FROM arrears_plan").item()) == 1
    assert _outputs(res2) == first
    # the hold ends with the break (sql/arrears/held_installments.sql)
    # 督促 (TN010 catches up the 7/31 督促 day): 期1 of the plan is held, 0000000002's and 0000000003's are not
    res = run("TN010", DAY)
    assert res.totals.by_record_type["held_plan"].read == 1 and res.totals.by_record_type["target"].read == 2

    # TN220: on 10/01 nothing is 14 days late; on 10/14 回1 (9/30) is → 不履行, its hold ends
    res = run("TN220", D(2026, 10, 1))
    assert res.rc == 0 and res.totals.figures["plan_active"] == 1, res.log_text
    res = run("TN220", D(2026, 10, 14))
    assert res.rc == 4 and "KKB705W" in msg_ids(res), res.log_text
    assert res.totals.figures["plan_broken"] == 1 and res.totals.money["shortfall"] == 30_000
    assert q("SELECT status, status_date FROM arrears_plan").rows() == [("broken", D(2026, 10, 14))]
    lists = _outputs(res)
    csv = next(v for p, v in lists.items() if p.suffix == ".csv").decode("utf-8-sig")
    assert "不履行" in csv and plan_id in csv and "30000" in csv
    assert _outputs(run("TN220", D(2026, 10, 14))) == lists  # rerun: same bytes
    led = open_ledger(migrate=False)
    try:
        h = led.query("arrears/held_installments", {"as_of": D(2026, 10, 15), "m": "111007"})
    finally:
        led.dispose()
    assert h.height == 0


def test_plan_completed_when_targets_paid(ledger_url):
    _city()
    drop(_csv("宛名番号,誓約日,計画額,対象期別,納付期日,納付額\n"
              "0000000002,2026-09-10,50000,2026-10000000002-1,2026-09-30;2026-10-31,25000;25000\n"),
         "arrears", "bunkatsu_a.csv")
    assert run("TN210", DAY).rc == 0
    led = open_ledger(migrate=False)
    try:
        with led.transaction() as tx:
            tx.execute("UPDATE installment SET paid_amount = levy_amount WHERE notice_number = '10000000002'")
    finally:
        led.dispose()
    res = run("TN220", D(2026, 10, 1))
    assert res.rc == 0 and res.totals.figures["plan_completed"] == 1, res.log_text
    assert q("SELECT status FROM arrears_plan").item() == "completed"


def test_mynumber_column_refuses_the_file(ledger_url):
    _city()
    drop(_csv("宛名番号,個人番号,誓約日,計画額,対象期別,納付期日,納付額\n"
              "0000000002,123456789012,2026-09-10,50000,2026-10000000002-1,2026-09-30,50000\n"),
         "arrears", "bunkatsu_b.csv")
    res = run("TN210", DAY)
    assert res.rc == 8 and "KKB640E" in msg_ids(res), res.log_text
    assert int(q("SELECT COUNT(*) AS n FROM arrears_plan").item()) == 0


RETURNS = """宛名番号,文書種別,賦課年度,通知書番号,期別,返戻日,返戻事由
0000000001,1,2026,10000000001,,2026-09-10,転居先不明
0000000002,2,2026,10000000002,1,2026-09-10,あて所に尋ねあたりません
0000000002,納税通知書,2026,10000000001,,2026-09-10,
0000000002,納税通知書,2026,10000000002,,2026-09-11,受取拒否
x,9,2026,10000000002,,2026-09-11,
"""
SEARCHES = """宛名番号,調査結果,調査日,郵便番号,住所
0000000001,判明,2026-09-15,3300005,さいたま市浦和区新町1-2-3
0000000002,不明,2026-09-15,,
0000000003,不明,2026-09-15,,
"""


def test_returns_search_and_public_notice(ledger_url):
    _city()
    drop(_csv(RETURNS), "arrears", "henrei_20260915.csv")
    res = run("TN310", DAY)
    assert res.rc == 4, res.log_text
    t = res.totals.by_record_type["returned"]
    assert (t.read, t.accepted, t.rejected) == (5, 2, 3)  # record 5: two fields wrong, one record rejected
    errs = error_rows(res)
    assert errs.height == 4 and sorted(set(errs["レコード番号"].to_list())) == ["2", "3", "5"]
    assert set(errs.filter(errs["レコード番号"] == "5")["項目"].to_list()) == {"person_id", "document_kind"}
    assert q("SELECT person_id, document_kind, installment_no, search_result FROM arrears_return "
             "ORDER BY return_id").rows() == [("0000000001", "1", 0, "pending"), ("0000000002", "1", 0, "pending")]
    assert "KKB638I" in msg_ids(run("TN310", DAY))

    day2 = D(2026, 9, 16)
    drop(_csv(SEARCHES), "arrears", "chousa_20260916.csv")
    res = run("TN320", day2)
    assert res.rc == 4, res.log_text
    assert res.totals.figures["found"] == 1 and res.totals.figures["public_notice"] == 1
    rows = q("SELECT person_id, search_result, new_postal_code, reissue_date, posting_date, effective_date "
             "FROM arrears_return ORDER BY person_id").rows()
    assert rows == [("0000000001", "found", "3300005", day2, None, None),
                    ("0000000002", "not_found", None, None, day2, D(2026, 9, 23))]  # 掲示日 + 7 (20条の2第3項)
    out = _outputs(res)
    names = sorted(p.name for p in out)
    assert names == ["koji_soutatsu_20260916.csv", "koji_soutatsu_20260916.pdf", "saisoufu_20260916.csv"]
    notice = next(v for p, v in out.items() if p.name == "koji_soutatsu_20260916.csv").decode("utf-8-sig")
    assert "2026-09-23" in notice and "収納　太郎2" in notice
    assert _outputs(run("TN320", day2)) == out


SUSPENSIONS = """区分,宛名番号,停止事由コード,停止開始日,即時消滅,取消日,備考
登録,0000000002,1,2026-09-10,0,,無財産
登録,0000000001,2,2026-09-10,1,,
登録,0000000009,1,2026-09-10,0,,
登録,0000000002,3,2026-09-10,0,,
登録,0000000003,1,2026-09-10,1,,限定承認
"""


def test_suspensions_and_their_limitation(ledger_url):
    _city()
    drop(_csv(SUSPENSIONS), "arrears", "teishi_20260915.csv")
    res = run("TN410", DAY)
    assert res.rc == 4, res.log_text
    t = res.totals.by_record_type["suspension"]
    assert (t.read, t.accepted, t.rejected) == (5, 2, 3)
    assert res.totals.figures["registered"] == 2
    got = q("SELECT person_id, reason_code, immediate_extinction, lifted_date FROM arrears_suspension "
            "ORDER BY person_id").rows()
    assert got == [("0000000002", "1", False, None), ("0000000003", "1", True, None)]
    led = open_ledger(migrate=False)
    try:
        lim = led.query("arrears/suspension_limitation", {"m": "111007", "as_of": DAY, "years": 3})
    finally:
        led.dispose()
    by = {r["person_id"]: (r["extinction_date"], r["candidate"]) for r in lim.iter_rows(named=True)}
    assert by == {"0000000002": (D(2029, 9, 10), False), "0000000003": (D(2026, 9, 10), True)}
    listed = next(v for p, v in _outputs(res).items() if p.suffix == ".csv").decode("utf-8-sig")
    assert "2029-09-10" in listed and "消滅 (不納欠損対象)" in listed
    # a 期別 under 執行停止 cannot go into a 分割納付 plan
    drop(_csv("宛名番号,誓約日,計画額,対象期別,納付期日,納付額\n"
              "0000000002,2026-09-10,50000,2026-10000000002-1,2026-09-30,50000\n"), "arrears", "bunkatsu_s.csv")
    res = run("TN210", DAY)
    assert res.rc == 4 and "執行停止中" in "".join(str(v) for v in error_rows(res)["理由"].to_list()), res.log_text
    # 取消
    drop(_csv("区分,宛名番号,取消日\n取消,0000000002,2026-09-18\n取消,0000000001,2026-09-18\n"),
         "arrears", "teishi_20260918.csv")
    res = run("TN410", D(2026, 9, 18))
    assert res.rc == 4 and res.totals.figures["lifted"] == 1, res.log_text
    assert q("SELECT lifted_date FROM arrears_suspension WHERE person_id = '0000000002'").item() == D(2026, 9, 18)
    assert pl.DataFrame(error_rows(res)).height == 1


def test_quiet_day_and_a_returned_dunning_notice(ledger_url):
    _city()
    for job in ("TN210", "TN220", "TN310", "TN320", "TN410"):
        res = run(job, DAY)
        assert res.rc == 0 and not res.files, (job, res.log_text)
    assert "KKB637I" in msg_ids(run("TN310", DAY)) and "KKB710I" in msg_ids(run("TN220", DAY))
    for job in ("TN010", "TN020"):  # the 督促状 of 7/31 on its 督促 day
        assert run(job, D(2026, 8, 20)).rc == 0
    drop(_csv("宛名番号,文書種別,賦課年度,通知書番号,期別,返戻日\n0000000003,督促状,2026,10000000003,1,2026-09-01\n"),
         "arrears", "henrei_b.csv")
    res = run("TN310", DAY)
    assert res.rc == 0 and res.totals.by_record_type["returned"].accepted == 1, res.log_text
    assert q("SELECT document_kind, installment_no FROM arrears_return").rows() == [("2", 1)]
    # the address is found: the same 督促状 is printed again to it
    drop(_csv("宛名番号,調査結果,調査日,郵便番号,住所\n0000000003,判明,2026-09-15,3300009,さいたま市緑区原山9-9\n"),
         "arrears", "chousa_b.csv")
    res = run("TN320", DAY)
    assert res.rc == 0 and res.totals.figures["reissued_dunning"] == 1, res.log_text
    reprint = next(p for p in res.files if p.name.startswith("dunning_reissue_"))
    data = fw.read(fw.load_layout("dunning_notice_print"), reprint).frames["data"].row(0, named=True)
    original = q("SELECT dunning_no, tax_amount FROM dunning_notice WHERE notice_number = '10000000003'").row(
        0, named=True)
    assert (data["dunning_no"], data["tax_amount"], data["address"], data["postal_code"]) == (
        original["dunning_no"], original["tax_amount"], "さいたま市緑区原山9-9", "3300009")
    assert data["issue_date"] == D(2026, 8, 20) and data["barcode"]


def test_plan_outputs_come_back_after_a_failed_delivery(ledger_url, monkeypatch):
    """The ledger commits each file first; if the step then dies before its print data and PDF are
    committed, the rerun finds the file posted (KKB638I) and writes them from the day's ledger rows."""
    from jobs.arrears import record_steps

    _city()
    drop(_csv(PLANS.splitlines()[0] + "\n" + PLANS.splitlines()[1] + "\n"), "arrears", "bunkatsu_c.csv")

    def boom(*_a, **_k):
        raise OSError("printer share gone")

    deliver = record_steps._deliver_plan_slips
    monkeypatch.setattr(record_steps, "_deliver_plan_slips", boom)
    with pytest.raises(StepAbend) as exc:
        run("TN210", DAY)
    assert exc.value.result.rc == 16 and not list(paths.outbox("print").glob("arrears_plan_*.dat"))
    assert int(q("SELECT COUNT(*) AS n FROM arrears_plan").item()) == 1
    monkeypatch.setattr(record_steps, "_deliver_plan_slips", deliver)  # (not undo(): the fixtures' var/ too)
    res = run("TN210", DAY)
    assert res.rc == 0 and "KKB638I" in msg_ids(res) and res.totals.figures["slips"] == 3, res.log_text
    assert int(q("SELECT COUNT(*) AS n FROM arrears_plan").item()) == 1
