"""KB520 TK315 追加依頼受理反映 without the ledger: a synthetic city through 当初賦課, the 31s TK220
sent on 2026-10-20 for an August 捕捉 (開始 2027-02, FORMATS.md §2.5: 捕捉 8月 → 翌2月) and the
Z23 32 of 2026-12-10 applied on the January run day (2027-01-20): TK310 → TK315 → TK320 → TK330 →
TK340 (= FK220) → TK350 (= FK230); then the Z24 of the February pension names the started person
and TK320 matches it (2027-03-23). To the yen:

- household A (31 金額1 = 4,000円): February 特別徴収 4,000円; its 2月・3月 普通徴収 期 lose 4,000円
  (split again: 1,000円 units, the remainder on the first); annual tax unchanged; 更正 and a
  税額変更通知書 (変更事由 特別徴収開始); the Z24 of February (4,000円) is posted data, not a reject.
- household C (31 金額1 = its 1月・2月・3月 普通徴収): 2月・3月 hold less, so every open 期 (1月, due 2月1日,
  is still open on 01-20) is taken: February 特別徴収 = the whole 金額1, 1月・2月・3月 0.
- household B (31 金額1 above its open 普通徴収): the 特別徴収 gets only what they held (KKB558W).
- a 31 of 各種区分 03, a 31 starting next 年度 (捕捉 10月 → 翌4月), a refused 32: nothing changes.
- a 32 answering no 31: KKB556W and the error list (RC 4).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pension_apply_helpers as h  # noqa: E402

from jobs.assessment import installments as inst  # noqa: E402
from jobs.common import datasets, errorlist, paths  # noqa: E402
from jobs.pension import request_steps as rs  # noqa: E402

D = dt.date
SENT_ON = D(2026, 10, 20)       # TK220: the 31 of the August 捕捉
Z32_DATE = D(2026, 12, 10)      # 作成年月日 of the Z23 32
JAN_RUN = D(2027, 1, 20)        # KB520 January run day
Z24_DATE = D(2027, 3, 10)       # the Z24 of the February pension
MAR_RUN = D(2027, 3, 23)
START = D(2027, 2, 1)
EACH_A = 4000
UNKNOWN = "0000000009"


def gen(d) -> str:
    return datasets.generation_name(h.MUNI, 2026, d)


def msg_ids(res) -> list[str]:
    return [m.msg_id for m in res.messages]


def rows_of(frame: pl.DataFrame, hid: str, method: str) -> list[tuple[int, int]]:
    return frame.filter((pl.col("household_id") == hid) & (pl.col("method") == method)).sort(
        "installment_no").select("month", "amount").rows()


def _sent31(targets: list[dict]) -> None:
    """pension_request_addition as TK220 writes it on SENT_ON (what was sent)."""
    recs = pl.DataFrame([{**{k: None for k in rs.rq.RECORD_SCHEMA}, "notice_code": "31", **t,
                          "amount2": 0, "amount3": 0} for t in targets],
                        schema=rs.rq.RECORD_SCHEMA)
    frame = recs.with_columns(pl.lit(SENT_ON).alias("sent_on"), pl.lit("Z22_31_KR_20261020.dta").alias("file_name"),
                              pl.lit("c" * 64).alias("source_sha256"))
    datasets.write(rs.ADDITION_DATASET, gen(SENT_ON), frame, totals={"job_id": "TK220"})


@pytest.fixture
def city(kokuho_var, monkeypatch):
    h.make_city(kokuho_var, monkeypatch)
    return kokuho_var


def test_an_accepted_31_starts_withholding_and_its_z24_matches(city):
    base = datasets.read("installments", gen(h.ASSESS_DATE))
    withheld = set(base.filter(pl.col("method") == "withholding")["household_id"])
    assessment = datasets.read("assessment", gen(h.ASSESS_DATE))
    # ordinary households with 2月・3月 期 of at least 10,000円 (and a 1月 期)
    ordinary = base.filter(~pl.col("household_id").is_in(list(withheld))).group_by("household_id").agg(
        pl.col("amount").filter(pl.col("month").is_in([2, 3])).sum().alias("feb_mar"),
        pl.col("amount").filter(pl.col("month") == 1).sum().alias("jan")).filter(
        (pl.col("feb_mar") >= 10000) & (pl.col("jan") > 0)).sort("household_id")
    assert ordinary.height >= 6
    hid = ordinary["household_id"].to_list()
    payer = dict(zip(assessment["household_id"], assessment["taxpayer_person_id"], strict=True))
    held_b = int(ordinary["feb_mar"][1] + ordinary["jan"][1])      # every open 期 on 01-20: 1月・2月・3月
    all_c = int(ordinary["feb_mar"][5] + ordinary["jan"][5])

    def t(i, category, start, amount):
        return {"payer_code": "001", "basic_pension_number": f"12345678{i:02d}", "pension_code": "1150",
                "household_id": hid[i] if category == "01" else None,
                "person_id": payer[hid[i]] if category == "01" else None,
                "category": category, "event_date": start, "amount1": amount}

    sent = [t(0, "01", START, EACH_A), t(1, "01", START, held_b + 5000), t(2, "03", START, 0),
            t(3, "01", D(2027, 4, 1), 3000), t(4, "01", START, 2000), t(5, "01", START, all_c)]
    _sent31(sent)
    answers = [{**{k: s[k] for k in ("payer_code", "basic_pension_number", "pension_code", "category")},
                "result": "00" if i != 4 else "11", "amount1": s["amount1"]} for i, s in enumerate(sent)]
    answers.append({"payer_code": "001", "basic_pension_number": UNKNOWN, "category": "01", "result": "00",
                    "amount1": 1000})
    data, trailer, _ = h.tokucho_frame(answers, name="Z23_32_KR_20261210.dta", notice_code="32", created=Z32_DATE)
    h.write_received("tokucho_request_result", data, trailer, business_date=Z32_DATE)

    r310 = h.check(h.run("TK310", JAN_RUN))          # the refused 32 is TK315's: nothing stopped
    assert datasets.read("pension_request_stops", gen(JAN_RUN)).height == 0
    r315 = h.check(h.run("TK315", JAN_RUN), rc=4)    # the 32 answering no 31
    assert "KKB556W" in msg_ids(r315) and "KKB555I" in msg_ids(r315), r310.log_text
    assert r315.totals.read == len(answers) and r315.totals.rejected == 1
    err = errorlist.read(errorlist.path("TK315", gen(JAN_RUN)))
    assert err.height == 1 and int(err["レコード番号"][0]) == len(answers) + 1
    starts = datasets.read("pension_request_starts", gen(JAN_RUN))
    assert starts.select("household_id", "start_from", "amount").sort("household_id").rows() == [
        (hid[0], START, EACH_A), (hid[1], START, held_b + 5000), (hid[5], START, all_c)]
    again = h.check(h.run("TK315", JAN_RUN), rc=4)   # a rerun of the day: the same starts, nothing twice
    assert again.totals.read == r315.totals.read
    assert datasets.read("pension_request_starts", gen(JAN_RUN)).equals(starts)
    h.check(h.run("TK320", JAN_RUN))
    r330 = h.check(h.run("TK330", JAN_RUN), rc=4)    # KKB558W (B) + KKB690W (no 収納台帳 in this test)
    assert "KKB557I" in msg_ids(r330) and "KKB558W" in msg_ids(r330)
    assert r330.totals.money["started"] == EACH_A + held_b + all_c
    assert "不足 5,000円" in r330.log_text

    after = datasets.read("installments", gen(JAN_RUN))
    assert datasets.read_totals("installments", gen(JAN_RUN))["job_id"] == "TK330"
    # A: February (特別徴収 第6期) = the 31's 金額1; 2月・3月 普通徴収 split again; nothing else moved
    assert rows_of(after, hid[0], "withholding") == [(2, EACH_A)]
    old = dict(rows_of(base, hid[0], "ordinary"))
    new = dict(rows_of(after, hid[0], "ordinary"))
    rest = old[2] + old[3] - EACH_A
    assert [new[2], new[3]] == inst.split_one(rest, 2, 1000)
    assert {m: a for m, a in new.items() if m not in (2, 3)} == {m: a for m, a in old.items() if m not in (2, 3)}
    # B: only what its open 期 held; C: its 1月 期 too
    assert rows_of(after, hid[1], "withholding") == [(2, held_b)]
    assert [a for m, a in rows_of(after, hid[1], "ordinary") if m in (1, 2, 3)] == [0, 0, 0]
    assert rows_of(after, hid[5], "withholding") == [(2, all_c)]
    assert [a for m, a in rows_of(after, hid[5], "ordinary") if m in (1, 2, 3)] == [0, 0, 0]
    assert [a for m, a in rows_of(after, hid[5], "ordinary") if m < 12 and m > 3] == [
        a for m, a in rows_of(base, hid[5], "ordinary") if m < 12 and m > 3]
    # the others unchanged; the annual tax of everyone unchanged
    for i in (2, 3, 4):
        assert rows_of(after, hid[i], "ordinary") == rows_of(base, hid[i], "ordinary")
        assert rows_of(after, hid[i], "withholding") == []
    assert inst.check_totals(after, datasets.read("assessment", gen(JAN_RUN))).height == 0
    notices = datasets.read("change_notices", gen(JAN_RUN))
    assert sorted(notices["household_id"]) == sorted([hid[0], hid[1], hid[5]])
    assert set(notices["reason"]) == {"特別徴収開始"}
    corr = datasets.read("corrections", gen(JAN_RUN))
    assert int(corr.filter(pl.col("household_id") == hid[0])["change"].sum()) == 0
    h.check(h.run("TK340", JAN_RUN))
    assert (paths.outbox("ledger") / f"levy_correction_{gen(JAN_RUN)}.dat").is_file()
    h.check(h.run("TK350", JAN_RUN))

    # TK230 now compares A with the 31: February agrees, no 61 (B: the lower levy → a 61 of what it holds)
    state = pl.DataFrame({"household_id": [hid[0], hid[3]], "cur_m02": [EACH_A, 0]})
    hist = pl.DataFrame({"notice_code": ["31", "31"], "category": ["01", "01"], "household_id": [hid[0], hid[3]]})
    assert rs.pending_additions(hist, state) == {hid[3]}

    # the Z24 of the February pension names A: matched and posted (not unmatched RC 4), to the yen
    z24 = [{"payer_code": "001", "basic_pension_number": sent[0]["basic_pension_number"], "pension_code": "1150",
            "category": "00", "amount1": EACH_A}]
    data, trailer, _ = h.tokucho_frame(z24, name="Z24_22_KR_20270310.dta", notice_code="22", created=Z24_DATE)
    h.write_received("tokucho_result", data, trailer, business_date=Z24_DATE)
    r320 = h.check(h.run("TK320", MAR_RUN))
    assert "KKB542W" not in msg_ids(r320)
    res = datasets.read("pension_withholding_result", gen(MAR_RUN))
    assert res.select("household_id", "installment_no", "pension_month", "amount", "levied", "refund").rows() == [
        (hid[0], 6, 2, EACH_A, EACH_A, False)]
    assert res["person_id"].to_list() == [payer[hid[0]]]
