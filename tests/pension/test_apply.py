"""KB520 年金特徴結果反映 without the ledger: a synthetic city through 当初賦課 (66 households withheld
from October), then the September Z23 (two requests refused) and the November Z24 (a 年金額不足,
a 75歳以上, a 返納, two rejects), through TK310 → TK320 → TK330 → TK340 (= FK220) → TK350 (= FK230).

The ledger side (SN100 / SN235 / SN300 on DuckDB and PostgreSQL) is tests/collection/test_pension_apply.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pension_apply_helpers as h  # noqa: E402

from jobs.assessment import levy_file  # noqa: E402
from jobs.common import datasets, errorlist, paths  # noqa: E402
from jobs.common import fixedwidth as fw  # noqa: E402


def gen(d) -> str:
    return datasets.generation_name(h.MUNI, 2026, d)


def msg_ids(res) -> list[str]:
    return [m.msg_id for m in res.messages]


def wh_rows(frame: pl.DataFrame, hid: str, method: str = "withholding") -> list[int]:
    return frame.filter((pl.col("household_id") == hid) & (pl.col("method") == method)).sort(
        "installment_no")["amount"].to_list()


@pytest.fixture
def city(kokuho_var, monkeypatch):
    h.make_city(kokuho_var, monkeypatch)
    return kokuho_var


def run_september(w):
    sent = h.september(w)
    r310 = h.check(h.run("TK310", h.SEPT_RUN), rc=4)  # the unknown pension number → error list
    r320 = h.check(h.run("TK320", h.SEPT_RUN))
    r330 = h.check(h.run("TK330", h.SEPT_RUN), rc=4)  # KKB690W: this test city has no 収納台帳 (賦課 only)
    assert "KKB690W" in r330.log_text
    r340 = h.check(h.run("TK340", h.SEPT_RUN))
    r350 = h.check(h.run("TK350", h.SEPT_RUN))
    return sent, (r310, r320, r330, r340, r350)


def test_z23_refusals_go_to_ordinary_with_a_change_notice(city):
    w = h.withheld_households()
    assert w.height > 10
    before = datasets.read("installments", gen(h.ASSESS_DATE))
    annual = datasets.read("assessment", gen(h.ASSESS_DATE))
    sent, (r310, r320, r330, r340, r350) = run_september(w)
    refused = sent["refused"]["household_id"].to_list()

    # TK310: read = accepted + rejected over every record; the unknown number is in the error list
    assert r310.totals.read == sent["records"] and r310.totals.rejected == 1
    assert "KKB542W" in msg_ids(r310) and "KKB543I" in msg_ids(r310)
    err = errorlist.read(errorlist.path("TK310", gen(h.SEPT_RUN)))
    assert err.height == 1 and int(err["レコード番号"][0]) == sent["records"] + 1  # records start at 2 (after the header)
    stops = datasets.read("pension_request_stops", gen(h.SEPT_RUN))
    assert sorted(stops["household_id"]) == sorted(refused)
    assert set(stops["stop_from"]) == {h.Z23_DATE.replace(day=11)}
    assert "KKB541I" in msg_ids(r320)  # no Z24 in this test's September

    # TK330: the refused households' 特別徴収 (Oct/Dec/Feb) moved to open 普通徴収 期, annual tax unchanged
    after = datasets.read("installments", gen(h.SEPT_RUN))
    assert datasets.read_totals("installments", gen(h.SEPT_RUN))["job_id"] == "TK330"
    for hid in refused:
        moved = sum(wh_rows(before, hid))
        assert moved > 0 and wh_rows(after, hid) == [0, 0, 0]
        new_ord = after.filter((pl.col("household_id") == hid) & (pl.col("method") == "ordinary"))
        old_ord = before.filter((pl.col("household_id") == hid) & (pl.col("method") == "ordinary"))
        assert int(new_ord["amount"].sum()) == int(old_ord["amount"].sum()) + moved
        grown = new_ord.join(old_ord.select("installment_no", pl.col("amount").alias("old")), on="installment_no",
                             how="left").filter(pl.col("amount") != pl.col("old").fill_null(0))
        assert grown.height and (grown["due_date"] > h.SEPT_RUN).all()  # new 納期限, all after the run
    others = after.filter(~pl.col("household_id").is_in(refused))
    assert others.sort(["household_id", "method", "installment_no"]).equals(
        before.filter(~pl.col("household_id").is_in(refused)).sort(["household_id", "method", "installment_no"]))
    assert int(after["amount"].sum()) == int(before["amount"].sum()) == int(annual["annual_tax"].sum())
    notices = datasets.read("change_notices", gen(h.SEPT_RUN))
    assert sorted(notices["household_id"]) == sorted(refused)
    assert notices["withholding_stopped"].all() and (notices["change"] == 0).all()
    assert set(notices["reason"]) == {"特別徴収中止"} and notices["issue_notice"].all()
    moved_total = sum(sum(wh_rows(before, hid)) for hid in refused)
    assert r330.totals.money["moved"] == moved_total

    # TK340 = FK220: the 更正 調定 file, 増減額 0, the changed 期別 only
    levy = paths.outbox("ledger") / f"levy_correction_{gen(h.SEPT_RUN)}.dat"
    res = levy_file.read(levy)
    d = res.frames["data"]
    corr = datasets.read("corrections", gen(h.SEPT_RUN)).filter(pl.col("changed"))
    assert d.height == corr.height == r340.totals.written
    assert int(d["change"].sum()) == 0 and set(d["household_id"]) == set(refused)
    assert int(d.filter(pl.col("collection_method") == levy_file.METHOD_CODES["withholding"])["amount"].sum()) == 0

    # TK350 = FK230: print data and PDFs of the 税額変更通知書 with the 変更事由
    print_file = paths.outbox("print") / f"change_notice_{gen(h.SEPT_RUN)}.dat"
    pr = fw.read(fw.load_layout("tax_notice_print"), print_file)
    assert pr.frames["data"].height == len(refused)
    assert set(pr.frames["data"]["change_reason"]) == {"特別徴収中止"}
    pdfs = list((paths.reports_root() / "notices" / gen(h.SEPT_RUN)).glob("change_notice_*.pdf"))
    assert pdfs

    # a rerun of the same day: the same bytes, nothing applied twice
    first = {p: p.read_bytes() for p in (levy, print_file)}
    parquet = datasets.generation_path("installments", gen(h.SEPT_RUN)) / datasets.PART
    first[parquet] = parquet.read_bytes()
    for job in h.KB520:
        h.run(job, h.SEPT_RUN)
    assert {p: p.read_bytes() for p in first} == first


def test_z24_stops_refunds_and_the_posting_dataset(city):
    w = h.withheld_households()
    sent, _ = run_september(w)
    z24 = h.november(w, sent["refused"])
    sept = datasets.read("installments", gen(h.SEPT_RUN))

    h.check(h.run("TK310", h.NOV_RUN))  # nothing new: the Z23 was applied in September
    r320 = h.check(h.run("TK320", h.NOV_RUN), rc=4)
    ids = msg_ids(r320)
    assert "KKB541I" not in ids and {"KKB542W", "KKB545I", "KKB546W"} <= set(ids)
    assert r320.totals.read == z24["records"] and r320.totals.rejected == 2
    res = datasets.read("pension_withholding_result", gen(h.NOV_RUN))
    inputs = datasets.read_totals("pension_withholding_result", gen(h.NOV_RUN))["inputs"]
    assert len(inputs) == 1 and inputs[0]["sha256"] == z24["sha"]
    i = inputs[0]
    # reconciles to the yen with the trailer: withheld (posted by SN235) + rejected (error list)
    assert i["trailer_amount"] == z24["trailer_amount"] == int(res["amount"].sum()) + z24["rejected_amount"]
    assert i["trailer_count"] == z24["records"] == res.height + i["not_withheld"] + i["rejected"]
    assert i["not_withheld"] == 1 and i["rejected_amount"] == z24["rejected_amount"]
    # the columns SN235 reads (jobs/collection/channels.py pension)
    assert {"levy_year", "notice_number", "installment_no", "amount", "received_date", "payer_code",
            "source_file", "source_sha256", "record_no"} <= set(res.columns)
    assert set(res["installment_no"]) == {4} and set(res["levy_year"]) == {2026}  # October = 特別徴収 第4期
    assert set(res["received_date"]) == {h.Z24_DATE}
    assert (res["notice_number"] == levy_file.notice_number(pl.lit("withholding"), res["household_id"])
            .alias("n").pipe(lambda e: res.select(e)["n"])).all()
    # 返納: withheld after the refusal stopped its 特別徴収 (levy 0 now)
    late = res.filter(pl.col("refund"))
    assert late["household_id"].to_list() == [sent["refused"]["household_id"][0]]
    assert late["levied"].to_list() == [0] and late["amount"].to_list() == [z24["late"]["wh_10"]]
    assert r320.totals.money["refund"] == z24["late"]["wh_10"]
    assert res.filter(pl.col("category") == "10")["household_id"].to_list() == z24["over75"]["household_id"].to_list()

    # TK330: 03 年金額不足 stops October and later (October was not withheld)
    assert "KKB690W" in h.check(h.run("TK330", h.NOV_RUN), rc=4).log_text  # no 収納台帳 in this city
    h.check(h.run("TK340", h.NOV_RUN))
    h.check(h.run("TK350", h.NOV_RUN))
    stops = datasets.read("pension_result_stops", gen(h.NOV_RUN))
    hid = z24["stopped"]["household_id"][0]
    assert stops["household_id"].to_list() == [hid] and stops["cause_label"].to_list() == ["支払年金額不足"]
    nov = datasets.read("installments", gen(h.NOV_RUN))
    assert wh_rows(nov, hid) == [0, 0, 0]
    assert int(nov.filter(pl.col("household_id") == hid)["amount"].sum()) == \
        int(sept.filter(pl.col("household_id") == hid)["amount"].sum())
    grown = nov.filter((pl.col("household_id") == hid) & (pl.col("method") == "ordinary")).join(
        sept.filter(pl.col("household_id") == hid).select("method", "installment_no", pl.col("amount").alias("old")),
        on=["method", "installment_no"], how="left").filter(pl.col("amount") != pl.col("old").fill_null(0))
    assert (grown["due_date"] > h.NOV_RUN).all()
    assert datasets.read("change_notices", gen(h.NOV_RUN))["household_id"].to_list() == [hid]
    assert (paths.outbox("ledger") / f"levy_correction_{gen(h.NOV_RUN)}.dat").is_file()


def test_a_trailer_that_does_not_add_up_is_refused(kokuho_var):
    records = [{"basic_pension_number": "1234567890", "payer_code": "001", "category": "00", "amount1": 5000}]
    data, trailer, _ = h.tokucho_frame(records, name="Z2400012.dta", notice_code="22", created=h.Z24_DATE,
                                       trailer_override={"total_amount1": 5001})
    h.write_received("tokucho_result", data, trailer, business_date=h.Z24_DATE)
    res = h.run("TK320", h.NOV_RUN)
    assert res.rc == 8 and "KKB544E" in msg_ids(res), res.log_text
    assert "Z2400012.dta" in res.log_text and "5,001" in res.log_text
    assert datasets.latest("pension_withholding_result", municipality=h.MUNI) is None  # nothing written


def test_a_missing_trailer_is_refused(kokuho_var):
    records = [{"basic_pension_number": "1234567890", "payer_code": "001", "category": "00", "amount1": 5000}]
    data, _, _ = h.tokucho_frame(records, name="Z2400013.dta", notice_code="22", created=h.Z24_DATE)
    h.write_received("tokucho_result", data, data.clear(), business_date=h.Z24_DATE, trailer_in="separate")
    res = h.run("TK320", h.NOV_RUN)
    assert res.rc == 8 and "KKB544E" in msg_ids(res) and "トレイラレコードがありません" in res.log_text


def test_fk210_on_the_same_day_is_refused(kokuho_var):
    """Two 更正 of one business day would replace each other's datasets, 調定 file and notices."""
    from jobs.pension import apply

    g = gen(h.SEPT_RUN)
    stop = pl.DataFrame([{"fy": 2026, "household_id": "1000000001", "taxpayer_person_id": "1",
                          "basic_pension_number": "1", "payer_code": "001", "notice_code": "02",
                          "cause": "request_refused", "cause_label": "依頼不受理", "stop_from": h.Z23_DATE,
                          "source_file": "Z23.dta", "source_sha256": "ab", "record_no": 2}], schema=apply.STOP_SCHEMA)
    datasets.write("pension_request_stops", g, stop, totals={"job_id": "TK310", "inputs": []})
    datasets.write("corrections", g, pl.DataFrame({"household_id": ["1000000001"]}), totals={"job_id": "FK210"})
    res = h.run("TK330", h.SEPT_RUN)
    assert res.rc == 8 and "KKB547E" in msg_ids(res) and "FK210" in res.log_text, res.log_text
    for job in ("TK340", "TK350"):  # run by hand on that day: refused too, never FK210's 更正 printed again
        r = h.run(job, h.SEPT_RUN)
        assert r.rc == 8 and "KKB547E" in msg_ids(r)


def test_a_day_without_stops_writes_no_correction(kokuho_var):
    for job in h.KB520:
        res = h.check(h.run(job, h.SEPT_RUN))
        assert not [o for o in res.outputs if o.dataset in ("corrections", "installments")]
    assert not (paths.outbox("ledger")).exists() or not list(paths.outbox("ledger").glob("*.dat"))


def test_a_provisional_result_before_the_years_judgment_waits(kokuho_var):
    """The Z24 of an April 仮徴収 (created 05-10) reaches KB520 on 05-20, before that fiscal year's FK120
    (its 当初賦課 is in July): no withheld household and no levy exist for it yet. The file is not
    applied — neither 返納 nor unmatched — but kept for the first KB520 after the judgment (RC 4,
    KKB559W, its records and yen as 反映保留); a later run defers it again. (The demo year's
    2026-05-20 KB520 failed with KKB301E here before.)"""
    created, run_day = h.D(2027, 5, 10), h.D(2027, 5, 20)
    records = [{"basic_pension_number": "1234567890", "payer_code": "001", "category": "00", "amount1": 5000},
               {"basic_pension_number": "1234567891", "payer_code": "001", "category": "00", "amount1": 7100}]
    data, trailer, sha = h.tokucho_frame(records, name="Z2400014.dta", notice_code="22", created=created)
    datasets.write("tokucho_result", datasets.generation_name(h.MUNI, 2027, created),
                   pl.concat([data, trailer], how="diagonal_relaxed"), totals={"inputs": [{"name": "Z2400014.dta",
                                                                                            "sha256": sha}]})
    for day in (run_day, h.D(2027, 6, 22)):
        res = h.check(h.run("TK320", day), rc=4)
        assert "KKB559W" in msg_ids(res) and "Z2400014.dta" in res.log_text and "2027" in res.log_text
        assert res.totals.money["deferred"] == 12_100 and res.totals.figures["deferred"] == 2
        g = datasets.generation_name(h.MUNI, 2027, day)
        assert datasets.read_totals("pension_withholding_result", g)["inputs"] == []   # stays unapplied
        assert datasets.read("pension_withholding_result", g).height == 0


def test_a_deferred_result_is_applied_once_by_the_first_run_after_the_judgment(city):
    """The later half of the deferral above: the Z24 of the April 仮徴収 (created 05-10) is deferred on
    05-20 (no FK120 of 2026 yet, as the demo year's KB520 of May) and applied by the first KB520 after
    the July judgment, exactly once. This city's withheld households start in October (新規 本徴収, no
    仮徴収 期), so what April withheld has no levy: the whole 12,100 円 is 返納 (KKB546W, SN300 settles
    it), never unmatched and never dropped; a later run finds no unapplied file."""
    w = h.withheld_households()
    a, b = w.row(0, named=True), w.row(1, named=True)
    records = [{"basic_pension_number": a["basic_pension_number"], "payer_code": a["payer_code"], "category": "00",
                "amount1": 5000},
               {"basic_pension_number": b["basic_pension_number"], "payer_code": b["payer_code"], "category": "00",
                "amount1": 7100}]
    data, trailer, sha = h.tokucho_frame(records, name="Z2400014.dta", notice_code="22", created=h.D(2026, 5, 10))
    datasets.write("tokucho_result", gen(h.D(2026, 5, 10)), pl.concat([data, trailer], how="diagonal_relaxed"),
                   totals={"inputs": [{"name": "Z2400014.dta", "sha256": sha}]})
    early = h.check(h.run("TK320", h.D(2026, 5, 20)), rc=4)
    assert "KKB559W" in msg_ids(early) and early.totals.money["deferred"] == 12_100
    assert datasets.read_totals("pension_withholding_result", gen(h.D(2026, 5, 20)))["inputs"] == []

    after = h.check(h.run("TK320", h.D(2026, 7, 22)), rc=4)
    assert "KKB559W" not in msg_ids(after) and "KKB546W" in msg_ids(after), after.log_text
    assert after.totals.money["withheld"] == after.totals.money["trailer"] == after.totals.money["refund"] == 12_100
    assert after.totals.money.get("deferred", 0) == 0 and after.totals.money["rejected"] == 0
    (doc,) = datasets.read_totals("pension_withholding_result", gen(h.D(2026, 7, 22)))["inputs"]
    assert (doc["name"], doc["sha256"], doc["records"], doc["withheld_amount"]) == ("Z2400014.dta", sha, 2, 12_100)
    got = datasets.read("pension_withholding_result", gen(h.D(2026, 7, 22)))
    assert sorted(got["notice_number"].to_list()) == sorted(["2" + a["household_id"], "2" + b["household_id"]])
    assert got["refund"].all() and got["pension_month"].to_list() == [4, 4] and int(got["levied"].sum()) == 0

    again = h.check(h.run("TK320", h.D(2026, 8, 20)))
    assert "KKB559W" not in msg_ids(again) and again.totals.money.get("withheld", 0) == 0
    assert datasets.read("pension_withholding_result", gen(h.D(2026, 8, 20))).height == 0
