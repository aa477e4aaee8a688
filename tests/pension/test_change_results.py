"""TK325 各種異動結果反映 (KB520): the insurers' Z2A answers (42 資格喪失等処理結果, 62 仮徴収額変更処理結果)
to the city's 41 / 61 (TK230's ``pension_request_change``) on a synthetic city through 当初賦課:

- A: a 41 (死亡) sent 2026-10-20 (an even month: the insurer stops from the next pension month,
  December), answered 42 accepted → TK330 moves December and February to 普通徴収 (October stays),
  annual tax unchanged, a 税額変更通知書 (TK350).
- B: a 61 (本徴収 reduced) answered 62 accepted with the levies' own amounts → kept, nothing to report.
- C: a 61 whose accepted amounts differ from the levies → RC 4, KKB554W, one error-list row per month.
- D: a 41 answered 42 not accepted (処理結果 11) → RC 4, KKB552W, error list; D keeps its 特別徴収.
- one 42 answering no 41 sent → RC 4, KKB553W, error list.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pension_apply_helpers as h  # noqa: E402

from jobs.common import datasets, errorlist  # noqa: E402
from jobs.pension import requests as rq  # noqa: E402

D = dt.date
SENT_ON = D(2026, 10, 20)       # TK230's October run (even month: effect from December)
Z2A_DATE = D(2026, 11, 10)      # the insurers' answer, received by KB500
RUN = h.NOV_RUN                 # KB520 2026-11-20


def gen(d) -> str:
    return datasets.generation_name(h.MUNI, 2026, d)


def wh_rows(frame: pl.DataFrame, hid: str, method: str = "withholding") -> list[int]:
    return frame.filter((pl.col("household_id") == hid) & (pl.col("method") == method)).sort(
        "installment_no")["amount"].to_list()


def _sent(rows: list[dict]) -> None:
    """TK230's sent dataset of 2026-10-20 (the columns the step reads)."""
    frame = pl.DataFrame([{**{k: None for k in rq.RECORD_SCHEMA}, **r, "sent_on": SENT_ON,
                           "file_name": "Z2A_KOKUHOREN_20261020.dta"} for r in rows],
                         schema={**rq.RECORD_SCHEMA, "sent_on": pl.Date, "file_name": pl.String})
    datasets.write("pension_request_change", gen(SENT_ON), frame, totals={"job_id": "TK230"})


def _rec(r: dict, notice: str, **kw) -> dict:
    return {"notice_code": notice, "payer_code": r["payer_code"], "basic_pension_number": r["basic_pension_number"],
            "pension_code": r["pension_code"], "household_id": r["household_id"], **kw}


@pytest.fixture
def city(kokuho_var, monkeypatch):
    h.make_city(kokuho_var, monkeypatch)
    return kokuho_var


def test_z2a_answers_stop_confirm_and_report(city):
    w = h.withheld_households()
    a, b, c, d = (w.row(i, named=True) for i in range(4))
    before = datasets.read("installments", gen(h.ASSESS_DATE))
    _sent([
        _rec(a, "41", category="01", event_date=D(2026, 10, 3), amount1=0, amount2=0, amount3=0),
        _rec(b, "61", category="00", event_date=D(2026, 12, 1), amount1=b["wh_10"], amount2=b["wh_12"],
             amount3=b["wh_2"]),
        _rec(c, "61", category="00", event_date=D(2026, 12, 1), amount1=c["wh_10"], amount2=c["wh_12"] - 1000,
             amount3=c["wh_2"] - 1000),
        _rec(d, "41", category="03", event_date=D(2026, 10, 20), amount1=0, amount2=0, amount3=0),
    ])
    answers = [
        {**_rec(a, "42"), "category": "01", "result": "00", "amount1": 0},
        {**_rec(d, "42"), "category": "03", "result": "11", "amount1": 0},
        {"basic_pension_number": h.UNKNOWN_PENSION, "payer_code": "001", "category": "01", "result": "00",
         "amount1": 0},
    ]
    changes = [
        {**_rec(b, "62"), "category": "00", "result": "00", "amount1": b["wh_10"]},
        {**_rec(c, "62"), "category": "00", "result": "00", "amount1": c["wh_10"]},
    ]
    d42, t42, sha42 = h.tokucho_frame(answers, name="Z2A_42_20261110.dta", notice_code="42", created=Z2A_DATE)
    d62, t62, sha62 = h.tokucho_frame(changes, name="Z2A_62_20261110.dta", notice_code="62", created=Z2A_DATE)
    h.write_received("tokucho_change", pl.concat([d42, d62], how="diagonal_relaxed"),
                     pl.concat([t42, t62], how="diagonal_relaxed"), business_date=Z2A_DATE)

    r = h.check(h.run("TK325", RUN), rc=4)
    ids = [m.msg_id for m in r.messages]
    assert {"KKB551I", "KKB552W", "KKB553W", "KKB554W"} <= set(ids), r.log_text
    assert (r.totals.read, r.totals.accepted, r.totals.rejected) == (5, 3, 2)
    # the 62 of C differs in December and February by 1,000 each; B agrees
    assert r.totals.money["provisional"] == b["wh_12"] + b["wh_2"] + c["wh_12"] + c["wh_2"] - 2000
    err = errorlist.read(errorlist.path("TK325", gen(RUN)))
    assert err.height == 4  # D refused, the unknown pension, C's two months
    reasons = " ".join(err["理由"].to_list()) if "理由" in err.columns else " ".join(map(str, err.rows()))
    assert "処理結果 11" in reasons and d["household_id"] in reasons and c["household_id"] in reasons

    stops = datasets.read("pension_change_stops", gen(RUN))
    assert stops.select("household_id", "stop_from", "cause").rows() == [(a["household_id"], D(2026, 12, 1),
                                                                          "change_loss")]
    res = datasets.read("pension_change_results", gen(RUN))
    prov = res.filter(pl.col("notice_code") == "62").sort("household_id", "pension_month")
    assert prov.select("household_id", "pension_month", "amount", "levied").rows() == sorted([
        (b["household_id"], 12, b["wh_12"], b["wh_12"]), (b["household_id"], 2, b["wh_2"], b["wh_2"]),
        (c["household_id"], 12, c["wh_12"] - 1000, c["wh_12"]), (c["household_id"], 2, c["wh_2"] - 1000, c["wh_2"])],
        key=lambda x: (x[0], x[1]))

    # TK330: A's December and February → 普通徴収 (new 納期限 after the run), October kept; others unchanged
    r330 = h.check(h.run("TK330", RUN), rc=4)  # KKB690W: no 収納台帳 in this city
    assert "KKB690W" in r330.log_text
    after = datasets.read("installments", gen(RUN))
    assert wh_rows(after, a["household_id"]) == [a["wh_10"], 0, 0]
    moved = a["wh_12"] + a["wh_2"]
    assert r330.totals.money["moved"] == moved
    new_ord = after.filter((pl.col("household_id") == a["household_id"]) & (pl.col("method") == "ordinary"))
    old_ord = before.filter((pl.col("household_id") == a["household_id"]) & (pl.col("method") == "ordinary"))
    assert int(new_ord["amount"].sum()) == int(old_ord["amount"].sum()) + moved
    grown = new_ord.join(old_ord.select("installment_no", pl.col("amount").alias("old")), on="installment_no",
                         how="left").filter(pl.col("amount") != pl.col("old").fill_null(0))
    assert grown.height and (grown["due_date"] > RUN).all()
    others = [x["household_id"] for x in (b, c, d)]
    assert after.filter(pl.col("household_id").is_in(others)).sort(["household_id", "method", "installment_no"]
                                                                   ).equals(
        before.filter(pl.col("household_id").is_in(others)).sort(["household_id", "method", "installment_no"]))
    assert int(after["amount"].sum()) == int(before["amount"].sum())
    assert datasets.read("change_notices", gen(RUN))["household_id"].to_list() == [a["household_id"]]
    # the 資格・住民税 generations the assessment rests on go on (FK210 compares the next changes with them)
    inputs = datasets.read_totals("assessment", gen(RUN))["inputs"]
    assert inputs == datasets.read_totals("assessment", gen(h.ASSESS_DATE))["inputs"] and inputs
    h.check(h.run("TK340", RUN))
    h.check(h.run("TK350", RUN))

    # the same day again: the same datasets; a later run day: the files are applied once
    first = datasets.read("pension_change_stops", gen(RUN))
    h.check(h.run("TK325", RUN), rc=4)
    assert datasets.read("pension_change_stops", gen(RUN)).equals(first)
    later = h.check(h.run("TK325", D(2027, 1, 20)))
    assert "KKB541I" in later.log_text
    assert datasets.read("pension_change_stops", gen(D(2027, 1, 20))).height == 0


@pytest.mark.parametrize(("sent_on", "first"), [
    (D(2026, 10, 20), D(2026, 12, 1)),   # even month: the next pension month
    (D(2026, 11, 20), D(2027, 2, 1)),    # odd month: the next one is still withheld (FORMATS.md §2.6)
    (D(2026, 12, 18), D(2027, 2, 1)),
    (D(2027, 1, 20), None),              # reaches April 2027: no pension month of 2026 is left
])
def test_first_month_a_41_reaches(sent_on, first):
    from jobs.assessment import withholding as wh
    from jobs.common import config
    from jobs.pension import apply

    cfg = config.load(h.MUNI, 2026)
    got = apply._first_month_reached(sent_on, 2026, 4, wh.WithholdingRules.from_config(cfg),
                                     rq.RequestRules.from_config(cfg))
    assert got == first
