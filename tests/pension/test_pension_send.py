"""KB510 年金特徴依頼: TK220 追加依頼 (31, from the 捕捉 30 records) and TK230 各種異動 (Z2A 41 資格喪失等 /
61 仮徴収額変更) on small frames (jobs/pension/changes.py), each written with the city's writer
(jobs/pension/requests.py) and read back with the insurer simulator's own reading of FORMATS.md §2
(jobs/synth/insurer.py), so the bytes the insurer gets are checked too.

Figures of the city's config (config/common, fy2026): 新規 仮徴収 = (年税額 − 介護分) ÷ 6, floored to 100 yen
(withholding.provisional.new); the 2分の1 test (国保税 + 介護保険料 ≤ 年金 ÷ 2); 捕捉月 8 → 開始月 2
(pension_request.addition); a change sent in an even month reaches the pension months from two months on
(pension_request.change.effect_lag_months); a 本徴収 decrease stops the 特別徴収 (41 各種区分 03,
withholding.midyear_change.decrease: stop).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from jobs.assessment import withholding as wh
from jobs.common import config
from jobs.pension import changes as ch
from jobs.pension import requests as rq
from jobs.synth import insurer as ins

D = dt.date
MUNI5 = "11100"
GEN_JULY = "m111007_fy2026_d20260717"      # TK210's Z22 of the year
GEN_PRIOR = "m111007_fy2025_d20250718"     # last year's Z22


@pytest.fixture(scope="module")
def cfg():
    return config.load("111007", 2026)


@pytest.fixture(scope="module")
def rules(cfg):
    return rq.RequestRules.from_config(cfg)


@pytest.fixture(scope="module")
def wrules(cfg):
    return wh.WithholdingRules.from_config(cfg)


def person(pid: str, bpn: str, *, kana: str, birth: D, sex: str = "1") -> dict:
    return {"person_id": pid, "payer_code": "001", "basic_pension_number": bpn, "pension_code": "1150",
            "birth_date": birth, "sex": sex, "name_kana": kana, "name_kanji": None, "postal_code": "3300001",
            "address_kana": None, "address_kanji": None, "mutual_aid_certificate": None}


P1 = person("P1", "1000000001", kana="ｲﾁﾛｳ ﾀﾅｶ", birth=D(1958, 5, 1))
P2 = person("P2", "1000000002", kana="ｼﾞﾛｳ ｽｽﾞｷ", birth=D(1957, 6, 2))
P3 = person("P3", "1000000003", kana="ﾊﾅｺ ｻﾄｳ", birth=D(1956, 7, 3), sex="2")
P4 = person("P4", "1000000004", kana="ﾐｶｸﾆﾝ ﾀﾛｳ", birth=D(1955, 8, 4))   # captured, not in 資格


def _write_and_read(tmp_path, recs: pl.DataFrame, rules, *, layout: str, name: str, created: D) -> ins.RequestFile:
    path = tmp_path / name
    figs = rq.write_file(path, recs, layout_id=layout, municipality5=MUNI5, created_on=created, rules=rules)
    assert figs["records"] == recs.height
    return ins.parse_request(path, municipality=MUNI5)   # Refusal if the simulator cannot read the bytes


# --- TK220 追加依頼 (31) -------------------------------------------------------------------------------


def _captures() -> pl.DataFrame:
    """One 捕捉 (30) file of 2026-08-03: P1 (pension 200,000 a payment), P2 (90,000), P3, P4, a ダミー
    (70) record and the trailer (レコード区分 3), as TK110 keeps them in ``tokucho_capture``."""
    rows = []
    for i, (p, pay, cat) in enumerate(((P1, 200_000, "00"), (P2, 30_000, "00"), (P3, 150_000, "00"),
                                       (P4, 100_000, "00"), ({**P1, "basic_pension_number": "9999999999"}, 0, "70"))):
        rows.append({**{k: v for k, v in p.items() if k != "person_id"}, "record_kind": "2", "notice_code": "30",
                     "created_on": D(2026, 8, 3), "category": cat, "amount1": pay, "amount2": None, "amount3": None,
                     "source_file": "Z2100030.dta", "source_sha256": "c" * 64, "record_no": i + 2})
    rows.append({"record_kind": "3", "notice_code": "30", "payer_code": "001", "created_on": D(2026, 8, 3),
                 "source_file": "Z2100030.dta", "source_sha256": "c" * 64, "record_no": 7, "total_count": 5})
    return pl.DataFrame(rows, infer_schema_length=None)


def _city():
    """Three one-person households (H1 P1, H2 P2, H3 P3), all insured 65–74 householders."""
    qualification = pl.DataFrame([{k: p[k] for k in ("person_id", "name_kana", "birth_date", "sex")}
                                  for p in (P1, P2, P3)])
    assessment = pl.DataFrame({"fy": [2026] * 3, "household_id": ["H1", "H2", "H3"],
                               "taxpayer_person_id": ["P1", "P2", "P3"], "annual_tax": [61_250, 95_000, 40_000],
                               "long_term_care_amount": [12_000, 20_000, 8_000]})
    members = pl.DataFrame({"household_id": ["H1", "H2", "H3"], "person_id": ["P1", "P2", "P3"],
                            "is_householder": [True] * 3, "is_insured": [True] * 3,
                            "birth_date": [P1["birth_date"], P2["birth_date"], P3["birth_date"]]})
    ltc = pl.DataFrame({"person_id": ["P1", "P2", "P3"], "ltc_premium_annual": [70_000, 60_000, 50_000]})
    return qualification, assessment, members, ltc


def test_tk220_addition_from_capture(tmp_path, rules, wrules):
    qualification, assessment, members, ltc = _city()
    captures = ch.capture_records(_captures())
    assert captures.height == 4           # the trailer and the ダミー (70) are not 捕捉 records
    already = pl.DataFrame({"payer_code": ["001"], "basic_pension_number": [P3["basic_pension_number"]],
                            "pension_code": ["1150"], "household_id": ["H3"]})   # P3 requested in July
    recs, figs = ch.addition_records(
        captures, qualification=qualification, assessment=assessment, members=members, ltc=ltc, already=already,
        wrules=wrules, rules=rules, business_date=D(2026, 8, 20), fy_end=D(2027, 3, 31), fy_start_month=4)
    assert figs == {"targets": 1, "non_targets": 2, "already": 1}
    by = {r["basic_pension_number"]: r for r in recs.iter_rows(named=True)}
    assert set(by) == {P1["basic_pension_number"], P2["basic_pension_number"], P4["basic_pension_number"]}
    p1 = by[P1["basic_pension_number"]]
    # P1: 61,250 + 70,000 ≤ 1,200,000 ÷ 2 → 01; (61,250 − 12,000) ÷ 6 = 8,208.3 → 8,200 each month from February
    assert (p1["notice_code"], p1["category"], p1["amount1"], p1["event_date"]) == ("31", "01", 8_200, D(2027, 2, 1))
    assert (p1["household_id"], p1["person_id"]) == ("H1", "P1")
    assert p1["expected_m02"] == 8_200 and p1["expected_m10"] is None and p1["expected_m12"] is None
    # P2: 95,000 + 60,000 > 180,000 ÷ 2 → 03 (特別徴収非対象者), nothing to withhold, no household kept
    p2 = by[P2["basic_pension_number"]]
    assert (p2["category"], p2["amount1"], p2["household_id"]) == ("03", 0, None)
    # P4: no 資格 record → 03
    assert by[P4["basic_pension_number"]]["category"] == "03"
    assert recs["source_sha256"].unique().to_list() == ["c" * 64]

    f = _write_and_read(tmp_path, recs, rules, layout=rq.REQUEST_LAYOUT, name="Z22_31_01_20260820.dta",
                        created=D(2026, 8, 20))
    assert [d.notice_code for d in f.data] == ["31"] * 3
    assert [(d.category, d.amount1) for d in f.data if d.basic_pension_number == P1["basic_pension_number"]] == [
        ("01", 8_200)]
    assert [(t["notice_code"], t["count"], t["amounts"]) for t in f.trailers] == [("31", 3, (8_200, 0, 0))]


def test_tk220_nothing_twice(rules, wrules):
    """A capture whose pension (or household) was already requested by 01 or 31 is left out."""
    qualification, assessment, members, ltc = _city()
    captures = ch.capture_records(_captures())
    sent_31 = pl.DataFrame({"notice_code": ["31"], "category": ["01"], "payer_code": ["001"],
                            "basic_pension_number": [P1["basic_pension_number"]], "pension_code": ["1150"],
                            "household_id": ["H1"]})
    already = ch.current_targets(sent_31)
    recs, figs = ch.addition_records(
        captures, qualification=qualification, assessment=assessment, members=members, ltc=ltc, already=already,
        wrules=wrules, rules=rules, business_date=D(2026, 8, 20), fy_end=D(2027, 3, 31), fy_start_month=4)
    assert figs["already"] == 1 and P1["basic_pension_number"] not in recs["basic_pension_number"].to_list()
    # P3, not requested this time: (40,000 − 8,000) ÷ 6 = 5,333 → 5,300
    assert recs.filter(pl.col("category") == "01").select("person_id", "amount1").rows() == [("P3", 5_300)]


# --- TK230 各種異動 (41 / 61) -------------------------------------------------------------------------


def _sent(gen: str, rows: list[tuple[dict, str, dict[int, int]]], notice: str = "01") -> pl.DataFrame:
    """Sent records of generation ``gen``: (person, household, expected amount per pension month)."""
    out = []
    for p, hid, exp in rows:
        out.append({**p, "household_id": hid, "notice_code": notice, "category": "01", "generation": gen,
                    **{ch.ecol(m): exp.get(m) for m in ch.EXPECTED_MONTHS}})
    return pl.DataFrame(out, schema_overrides={c: pl.Int64 for c in ch.EXPECTED_COLUMNS}, infer_schema_length=None)


def _current(rows: dict[str, dict[int, int]]) -> pl.DataFrame:
    return pl.DataFrame([{"household_id": h, **{f"cur_m{m:02d}": a.get(m, 0) for m in ch.EXPECTED_MONTHS}}
                         for h, a in rows.items()], schema_overrides={f"cur_m{m:02d}": pl.Int64
                                                                       for m in ch.EXPECTED_MONTHS})


def _qualification(lost: dict[str, tuple[D, str]]) -> pl.DataFrame:
    return pl.DataFrame([{"person_id": p, "lost_date": lost.get(p, (None, None))[0],
                          "lost_reason": lost.get(p, (None, None))[1]} for p in ("P1", "P2", "P3")],
                        schema={"person_id": pl.String, "lost_date": pl.Date, "lost_reason": pl.String})


BOOKED = {10: 10_000, 12: 10_000, 2: 10_000}


def test_tk230_loss_and_decrease_in_october(tmp_path, rules, wrules):
    """2026-10-20 (even month: reaches December on): P1 died (資格喪失事由 03) → 41 各種区分 01 with the
    date of death; H2's December/February 特別徴収 went down → 41 特別事情 (03) (decrease: stop); H3
    unchanged → nothing."""
    history = _sent(GEN_JULY, [(P1, "H1", BOOKED), (P2, "H2", BOOKED), (P3, "H3", BOOKED)])
    state = ch.insurer_state(history, fy=2026, wrules=wrules)
    assert state.height == 3 and not state["stopped"].any()
    current = _current({"H1": BOOKED, "H2": {10: 10_000, 12: 6_000, 2: 6_000}, "H3": BOOKED})
    qual = _qualification({"P1": (D(2026, 10, 2), "03")})
    recs, figs, unknown = ch.change_records(
        state, qualification=qual, current=current, rules=rules, wrules=wrules, business_date=D(2026, 10, 20),
        fy=2026, fy_start_month=4, decrease="stop", have_installments=True)
    assert figs == {"losses": 1, "changes": 0, "stops": 1, "increases": 0} and unknown.height == 0
    got = {r["person_id"]: (r["notice_code"], r["category"], r["event_date"], r["amount1"])
           for r in recs.iter_rows(named=True)}
    assert got == {"P1": ("41", "01", D(2026, 10, 2), 0), "P2": ("41", "03", D(2026, 10, 20), 0)}

    f = _write_and_read(tmp_path, recs, rules, layout=rq.CHANGE_LAYOUT, name="Z2A_01_20261020.dta",
                        created=D(2026, 10, 20))
    assert f.kind == "Z2A" and [d.notice_code for d in f.data] == ["41", "41"]
    assert [(t["notice_code"], t["count"], t["amounts"]) for t in f.trailers] == [("41", 2, (0, 0, 0))]

    # next month: the 41s are in the history, so they are not sent again
    again = pl.concat([history, recs.with_columns(pl.lit("m111007_fy2026_d20261020").alias("generation"))],
                      how="diagonal_relaxed")
    state2 = ch.insurer_state(again, fy=2026, wrules=wrules)
    assert state2.filter(pl.col("stopped"))["person_id"].sort().to_list() == ["P1", "P2"]
    recs2, figs2, _ = ch.change_records(
        state2, qualification=qual, current=current, rules=rules, wrules=wrules, business_date=D(2026, 11, 20),
        fy=2026, fy_start_month=4, decrease="stop", have_installments=True)
    assert recs2.height == 0 and figs2 == {"losses": 0, "changes": 0, "stops": 0, "increases": 0}


def test_tk230_decrease_reduce_and_increase(rules, wrules):
    """decrease: reduce → a 61 with the 本徴収 half's amounts; an increase is left to 普通徴収 (counted);
    a household no longer in the installments cannot be judged (unknown, error list)."""
    history = _sent(GEN_JULY, [(P1, "H1", BOOKED), (P2, "H2", BOOKED), (P3, "H3", BOOKED)])
    state = ch.insurer_state(history, fy=2026, wrules=wrules)
    current = _current({"H1": {10: 10_000, 12: 7_500, 2: 7_500}, "H2": {10: 10_000, 12: 12_000, 2: 12_000}})
    recs, figs, unknown = ch.change_records(
        state, qualification=_qualification({}), current=current, rules=rules, wrules=wrules,
        business_date=D(2026, 10, 20), fy=2026, fy_start_month=4, decrease="reduce", have_installments=True)
    assert figs == {"losses": 0, "changes": 1, "stops": 0, "increases": 1}
    assert unknown["household_id"].to_list() == ["H3"]
    r = recs.row(0, named=True)
    assert (r["notice_code"], r["category"], r["event_date"]) == ("61", "00", D(2026, 12, 1))
    assert (r["amount1"], r["amount2"], r["amount3"]) == (10_000, 7_500, 7_500)
    assert (r["expected_m12"], r["expected_m02"], r["expected_m04"]) == (7_500, 7_500, None)


def test_tk230_provisional_change(tmp_path, rules, wrules):
    """April 2026: the insurer continues last February's 9,000 as the 仮徴収 of 4・6・8月; the city's
    仮徴収 of June and August is 7,000 (平準化) → 61 仮徴収額変更 from June, 金額1–3 = 4・6・8月."""
    history = _sent(GEN_PRIOR, [(P1, "H1", {10: 9_000, 12: 9_000, 2: 9_000})])
    state = ch.insurer_state(history, fy=2026, wrules=wrules)
    assert [state[ch.ecol(m)][0] for m in (4, 6, 8)] == [9_000, 9_000, 9_000]
    current = _current({"H1": {4: 9_000, 6: 7_000, 8: 7_000}})
    recs, figs, _ = ch.change_records(
        state, qualification=_qualification({}), current=current, rules=rules, wrules=wrules,
        business_date=D(2026, 4, 20), fy=2026, fy_start_month=4, decrease="stop", have_installments=True)
    assert figs["changes"] == 1 and recs.height == 1
    r = recs.row(0, named=True)
    assert (r["notice_code"], r["event_date"], r["amount1"], r["amount2"], r["amount3"]) == (
        "61", D(2026, 6, 1), 9_000, 7_000, 7_000)

    f = _write_and_read(tmp_path, recs, rules, layout=rq.CHANGE_LAYOUT, name="Z2A_01_20260420.dta",
                        created=D(2026, 4, 20))
    d = f.data[0]
    assert (d.notice_code, d.event_date, d.amount1, d.amount2, d.amount3) == ("61", D(2026, 6, 1), 9_000, 7_000, 7_000)
    assert [(t["notice_code"], t["count"], t["amounts"]) for t in f.trailers] == [("61", 1, (9_000, 7_000, 7_000))]


def _write_july_z22() -> None:
    """TK210's Z22 of July 2026 as the dataset ``pension_request_z22``: P1, P2, P3 booked (1,000 a month)."""
    from jobs.common import datasets

    sent = _sent(GEN_JULY, [(P1, "H1", BOOKED), (P2, "H2", BOOKED), (P3, "H3", BOOKED)]).drop("generation")
    for c, t in rq.RECORD_SCHEMA.items():
        if c not in sent.columns:
            sent = sent.with_columns(pl.lit(None, dtype=t).alias(c))
    datasets.write("pension_request_z22", GEN_JULY, sent.with_columns(
        pl.lit(1_000).alias("amount1"), pl.lit(1_000).alias("amount2"), pl.lit(1_000).alias("amount3")))


# --- TK230 as a step (KB510): datasets in, the Z2A file out ------------------------------------------------


def test_tk230_step_sends_the_loss_not_the_insurer_stop(kokuho_var, rules):
    """From the datasets KB510's earlier run (TK210), KB100 (資格) and KB520 (the insurer's stops) wrote:
    P1 died → 41 in var/outbox/nenkin/Z2A_KR_<date>.dta (with .sha256); P2's December/February went to
    普通徴収 because the insurer reported 失権 (KB520) → nothing (KKB533I); P3 unchanged → nothing. A rerun
    on the same date writes the same bytes; next month the 41 is not sent again."""
    from jobs.common import datasets
    from jobs.runner import run_job

    muni = "111007"
    _write_july_z22()
    datasets.write("nhi_qualification", "m111007_fy2026_d20261001", _qualification({"P1": (D(2026, 10, 2), "03")}))
    rows = [{"household_id": h, "method": "withholding", "month": m, "amount": a}
            for h, sched in (("H1", BOOKED), ("H2", {10: 10_000, 12: 0, 2: 0}), ("H3", BOOKED)) for m, a in sched.items()]
    rows += [{"household_id": "H2", "method": "ordinary", "month": 12, "amount": 20_000}]
    datasets.write("installments", "m111007_fy2026_d20261020", pl.DataFrame(rows))
    datasets.write("pension_result_stops", "m111007_fy2026_d20261020", pl.DataFrame(
        {"fy": [2026], "household_id": ["H2"], "basic_pension_number": [P2["basic_pension_number"]],
         "payer_code": ["001"], "cause": ["result_01"]}))

    def run(day):
        res = run_job("TK230", business_date=day, municipality=muni)
        assert res.rc == 0, res.log_text
        assert res.totals.read == res.totals.accepted + res.totals.rejected
        return res

    res = run(D(2026, 10, 20))
    assert "KKB533I" in res.log_text and res.totals.figures["loss"] == 1
    out = kokuho_var / "outbox" / "nenkin" / "Z2A_KR_20261020.dta"
    f = ins.parse_request(out, municipality=MUNI5)
    assert [(d.notice_code, d.category, d.basic_pension_number, d.event_date) for d in f.data] == [
        ("41", "01", P1["basic_pension_number"], D(2026, 10, 2))]
    assert (out.parent / (out.name + ".sha256")).is_file()
    before = out.read_bytes()
    run(D(2026, 10, 20))                                   # an operator's rerun: same bytes
    assert out.read_bytes() == before
    res = run(D(2026, 11, 20))                             # next month: the 41 was sent, nothing new
    assert res.totals.figures.get("loss", 0) == 0 and not (out.parent / "Z2A_KR_20261120.dta").exists()


def test_tk220_step_answers_each_capture_file_once(kokuho_var):
    """TK220 on the datasets as TK110 (KB500) and FK110/FK020/FK035 wrote them: the 捕捉 file's data and
    trailer records in ``tokucho_capture`` → var/outbox/nenkin/Z22_31_KR_20260820.dta (P1 01 8,200 from
    February; P2, P4 03; P3 already requested in July); a rerun writes the same bytes; October's run
    does not answer the same capture file again (KKB526I)."""
    from jobs.common import datasets
    from jobs.runner import run_job

    qualification, assessment, members, ltc = _city()
    datasets.write("tokucho_capture", "m111007_fy2026_d20260812", _captures())
    datasets.write("assessment", "m111007_fy2026_d20260701", assessment)
    datasets.write("assessment_members", "m111007_fy2026_d20260701", members)
    datasets.write("nhi_qualification", "m111007_fy2026_d20260601", qualification)
    datasets.write("ltc_premium", "m111007_fy2026_d20260601", ltc)
    july = _sent(GEN_JULY, [(P3, "H3", BOOKED)]).drop("generation")
    datasets.write("pension_request_z22", GEN_JULY, july)

    def run(day):
        res = run_job("TK220", business_date=day, municipality="111007")
        assert res.rc == 0, res.log_text
        assert res.totals.read == res.totals.accepted + res.totals.rejected
        return res

    res = run(D(2026, 8, 20))
    assert "KKB527I" in res.log_text and res.totals.money["amount1"] == 8_200
    out = kokuho_var / "outbox" / "nenkin" / "Z22_31_KR_20260820.dta"
    f = ins.parse_request(out, municipality=MUNI5)
    assert sorted((d.basic_pension_number, d.category, d.amount1, d.event_date) for d in f.data) == [
        (P1["basic_pension_number"], "01", 8_200, D(2027, 2, 1)), (P2["basic_pension_number"], "03", 0, D(2027, 2, 1)),
        (P4["basic_pension_number"], "03", 0, D(2027, 2, 1))]   # 各種年月日 = the 特別徴収開始月 on every answer
    before = out.read_bytes()
    run(D(2026, 8, 20))
    assert out.read_bytes() == before
    res = run(D(2026, 10, 20))
    assert "KKB526I" in res.log_text and not (out.parent / "Z22_31_KR_20261020.dta").exists()


def test_tk230_in_april_reads_last_years_register(kokuho_var):
    """2027-04-20, KB510 of FY2027 before the year's first 資格 file (the demo year's April run failed here
    with KKB529E until the register was read across fiscal years, as the 収納 and 滞納 steps read it): the
    newest 国保資格 is FY2026's of 2027-03-31, where P1 lost the 資格 on 2027-03-30 → the 41 is sent for
    the pension P1 was booked on in July 2026, and KKB539I names the generation used."""
    from jobs.common import datasets
    from jobs.runner import run_job

    _write_july_z22()
    register = "m111007_fy2026_d20270331"
    datasets.write("nhi_qualification", register, _qualification({"P1": (D(2027, 3, 30), "03")}))
    res = run_job("TK230", business_date=D(2027, 4, 20), municipality="111007")
    assert res.rc == 0, res.log_text
    assert "KKB539I" in res.log_text and register in res.log_text and "KKB529E" not in res.log_text
    assert res.totals.figures["loss"] == 1
    f = ins.parse_request(kokuho_var / "outbox" / "nenkin" / "Z2A_KR_20270420.dta", municipality=MUNI5)
    assert [(d.notice_code, d.basic_pension_number, d.event_date) for d in f.data] == [
        ("41", P1["basic_pension_number"], D(2027, 3, 30))]
