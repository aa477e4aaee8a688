"""TK290 社会保険料控除引継 (KB530) on the ledger, DuckDB and PostgreSQL: the 年金特徴 postings of a calendar
year per 宛名番号 → var/outbox/shiminzei/NENKIN_KOJO_<year>.dat, byte for byte the golden file
fixtures/pension_deduction_handover/NENKIN_KOJO_2026.dat (built by fixtures/build_golden.py from the same
figures, independently of the codec).

Postings of the test (賦課年度 / 期 → 年金支払月; withholding.pension_months = 4・6・8・10・12・2月):
  宛名番号 1000000001: FY2025 期5 (2025-12, not 2026), FY2025 期6 (2026-02) 10,200, FY2026 期3–5
      (2026-08/10/12) 17,000 each, FY2026 期6 (2027-02, not 2026)
  宛名番号 1000000002: FY2026 期4, 期5 15,000 each; a 窓口 payment and a 還付 row (not 年金特徴 収納)
  宛名番号 1000000005: FY2025 期6 (2026-02) 8,100
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.common import datasets
from jobs.runner import run_job

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "fixtures" / "pension_deduction_handover" / "NENKIN_KOJO_2026.dat"
MUNI = "111007"
RUN_DAY = dt.date(2027, 1, 20)
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"

# (宛名番号, 世帯番号, 賦課年度, 期別, 本税, channel, 還付充当区分)
POSTINGS = [
    ("1000000001", "2000000001", 2025, 5, 10_200, "pension", "0"),
    ("1000000001", "2000000001", 2025, 6, 10_200, "pension", "0"),
    ("1000000001", "2000000001", 2026, 3, 17_000, "pension", "0"),
    ("1000000001", "2000000001", 2026, 4, 17_000, "pension", "0"),
    ("1000000001", "2000000001", 2026, 5, 17_000, "pension", "0"),
    ("1000000001", "2000000001", 2026, 6, 17_000, "pension", "0"),
    ("1000000002", "2000000002", 2026, 4, 15_000, "pension", "0"),
    ("1000000002", "2000000002", 2026, 5, 15_000, "pension", "0"),
    ("1000000002", "2000000002", 2026, 5, 3_000, "counter", "0"),
    ("1000000002", "2000000002", 2026, 5, -15_000, "pension", "1"),
    ("1000000005", "2000000005", 2025, 6, 8_100, "pension", "0"),
]
IN_2026 = [p for p in POSTINGS if p[5] == "pension" and p[6] == "0" and (p[2], p[3]) in
           {(2025, 6), (2026, 1), (2026, 2), (2026, 3), (2026, 4), (2026, 5)}]


@pytest.fixture(params=["duckdb", "postgresql"])
def ledger_url(request, kokuho_var, tmp_path, monkeypatch):
    monkeypatch.delenv("KOKUHO_MUNICIPALITY", raising=False)
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'ledger.duckdb'}"
        monkeypatch.setenv("KOKUHO_LEDGER_URL", url)
        yield url
        return
    import psycopg

    try:
        conn = psycopg.connect(PG_DSN, autocommit=True)
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        if os.environ.get("KOKUHO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL 127.0.0.1:5432 に接続できません (KOKUHO_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(f"PostgreSQL 127.0.0.1:5432 unreachable: {exc}")
    schema = f"kb_{secrets.token_hex(6)}"
    with conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("KOKUHO_LEDGER_URL", url)
    try:
        yield url
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as c:
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _audit(n: int) -> dict:
    return {"deleted": [False] * n, "operator_id": ["test"] * n, "operated_date": [dt.date(2027, 1, 5)] * n,
            "operated_time": ["090000"] * n}


def _post(url: str, postings=POSTINGS) -> None:
    from jobs.ledger import Ledger

    notices = sorted({(pid, hh, fy) for pid, hh, fy, *_ in postings})
    notice = pl.DataFrame({
        "municipality_code": [MUNI] * len(notices), "levy_year": [fy for *_, fy in notices],
        "target_year": [fy for *_, fy in notices], "notice_number": ["2" + hh for _, hh, _ in notices],
        "business_code": ["0001"] * len(notices), "latest_flag": [True] * len(notices),
        "person_id": [pid for pid, *_ in notices], "household_id": [hh for _, hh, _ in notices],
        "collection_method": ["2"] * len(notices), **_audit(len(notices))})
    n = len(postings)
    payment = pl.DataFrame({
        "municipality_code": [MUNI] * n, "levy_year": [p[2] for p in postings], "target_year": [p[2] for p in postings],
        "notice_number": ["2" + p[1] for p in postings], "installment_no": [p[3] for p in postings],
        "source_sha256": ["a" * 64] * n, "record_no": list(range(1, n + 1)), "line_no": [1] * n,
        "business_code": ["0001"] * n, "collection_method": ["2"] * n, "latest_flag": [True] * n,
        "refund_offset_kind": [p[6] for p in postings], "cash_kind": ["1" if p[6] == "0" else "2" for p in postings],
        "tax_amount": [p[4] for p in postings], "late_fee_amount": [0] * n, "dunning_fee_amount": [0] * n,
        "received_date": [dt.date(2027, 1, 5)] * n, "paid_date": [dt.date(2027, 1, 5)] * n,
        "payment_kind": ["04"] * n, "channel": [p[5] for p in postings], "prepayment_reward": [0] * n,
        "job_id": ["SN235"] * n, "generation": ["m111007_fy2026_d20270105"] * n, **_audit(n)})
    ledger = Ledger.open(url)
    try:
        with ledger.transaction() as tx:
            tx.insert("notice", notice)
            tx.insert("payment", payment)
    finally:
        ledger.dispose()


def _reported(rows) -> None:
    """TK320's pension_withholding_result (what the Z24 reported withheld), as KB520 wrote it."""
    frame = pl.DataFrame({"source_sha256": ["b" * 64] * len(rows), "record_no": list(range(1, len(rows) + 1)),
                          "levy_year": [r[2] for r in rows], "installment_no": [r[3] for r in rows],
                          "amount": [r[4] for r in rows]},
                         schema={"source_sha256": pl.String, "record_no": pl.Int64, "levy_year": pl.Int32,
                                 "installment_no": pl.Int32, "amount": pl.Int64})
    datasets.write("pension_withholding_result", datasets.generation_name(MUNI, 2026, dt.date(2027, 1, 12)), frame)


def _run(day=RUN_DAY, **options):
    res = run_job("TK290", business_date=day, municipality=MUNI, **options)
    t = res.totals
    assert t.read == t.accepted + t.rejected, res.log_text
    return res


def test_tk290_hands_over_the_calendar_year(ledger_url, kokuho_var):
    _post(ledger_url)
    _reported([p for p in POSTINGS if p[5] == "pension" and p[6] == "0"])
    res = _run()
    assert res.rc == 0, res.log_text
    out = kokuho_var / "outbox" / "shiminzei" / "NENKIN_KOJO_2026.dat"
    assert out.read_bytes() == GOLDEN.read_bytes()
    assert (out.parent / (out.name + ".sha256")).is_file()
    assert res.totals.money["withheld"] == sum(p[4] for p in IN_2026) == 99_300
    assert res.totals.money["reported"] == 99_300
    assert "KKB507I" in res.log_text
    recs = datasets.read("pension_deduction_handover", datasets.generation_name(MUNI, 2026, RUN_DAY))
    assert recs.select("person_id", "amount", "payments").rows() == [
        ("1000000001", 61_200, 4), ("1000000002", 30_000, 2), ("1000000005", 8_100, 1)]
    # a rerun on the same date: the same bytes, nothing else
    again = _run()
    assert again.rc == 0 and out.read_bytes() == GOLDEN.read_bytes()


def test_tk290_warns_when_a_z24_is_not_posted(ledger_url, kokuho_var):
    """The insurers reported a December withholding the ledger has not posted: RC 4 (KKB509W), the file
    carries what is posted."""
    _post(ledger_url)
    _reported([p for p in POSTINGS if p[5] == "pension" and p[6] == "0"]
              + [("1000000009", "2000000009", 2026, 5, 4_000, "pension", "0")])
    res = _run()
    assert res.rc == 4 and "KKB509W" in res.log_text, res.log_text
    assert res.totals.money["withheld"] == 99_300 and res.totals.money["reported"] == 103_300


def test_tk290_nothing_posted_and_other_months(ledger_url, kokuho_var):
    from jobs.ledger import Ledger

    Ledger.open(ledger_url).dispose()
    res = _run()
    assert res.rc == 4 and "KKB510W" in res.log_text, res.log_text
    out = kokuho_var / "outbox" / "shiminzei" / "NENKIN_KOJO_2026.dat"
    lines = out.read_bytes().split(b"\r\n")
    assert lines[0].startswith(b"1111007202701202026") and lines[1].startswith(b"8111007000000000")
    # not January: nothing to hand over (KKB521I), RC 0, no file of that year
    res = _run(dt.date(2027, 2, 19))
    assert res.rc == 0 and "KKB521I" in res.log_text
    assert sorted(p.name for p in out.parent.iterdir() if not p.name.startswith(".")) == [
        "NENKIN_KOJO_2026.dat", "NENKIN_KOJO_2026.dat.sha256"]


# --- property: every posting lands in exactly one calendar year -----------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["1000000001", "1000000002", "1000000003"]), st.integers(2024, 2026),
                          st.integers(1, 6), st.integers(1, 99_999), st.integers(1, 3)), max_size=40))
def test_per_person_splits_the_postings_by_pension_year(rows):
    from jobs.assessment import withholding as wh
    from jobs.common import config
    from jobs.pension import handover

    wrules = wh.WithholdingRules.from_config(config.load(MUNI, 2026))
    postings = pl.DataFrame(rows, schema={"person_id": pl.String, "levy_year": pl.Int32, "installment_no": pl.Int32,
                                          "amount": pl.Int64, "payments": pl.Int32}, orient="row")
    years = [handover.per_person(postings, y, wrules, 4) for y in range(2024, 2028)]
    assert sum(int(f["amount"].sum() or 0) for f in years) == int(postings["amount"].sum() or 0)
    assert sum(int(f["payments"].sum() or 0) for f in years) == int(postings["payments"].sum() or 0)
    for y, f in zip(range(2024, 2028), years, strict=True):
        assert (f["amount"] == f["amount_prior_fy"] + f["amount_current_fy"]).all()
        assert f["person_id"].is_unique().all() and (f["year"] == y).all()
        # 期 6 (February) of 賦課年度 y-1 is the only prior-year part; the rest is 期 1–5 of y
        prior = postings.filter((pl.col("levy_year") == y - 1) & (pl.col("installment_no") == 6))
        assert int(f["amount_prior_fy"].sum() or 0) == int(prior["amount"].sum() or 0)


# --- 返納: a 還付 of an amount withheld after the 特別徴収 stopped is subtracted -----------------------------

# (宛名番号, 世帯番号, 賦課年度, 期別, 額, 還付充当区分 of 還付充当明細: 1 還付 2 充当)
REFUNDS = [
    ("1000000001", "2000000001", 2026, 4, 17_000, "1"),  # the October pension, withheld after a late 死亡: 返納
    ("1000000001", "2000000001", 2026, 3, 5_000, "2"),   # 充当 to another 期: still paid as 国保税, kept
    ("1000000005", "2000000005", 2025, 6, 8_100, "1"),   # the whole February withholding paid back: no record
    ("1000000001", "2000000001", 2025, 5, 10_200, "1"),  # December 2025: another calendar year
]


def _refund(url: str, rows=REFUNDS) -> None:
    from jobs.ledger import Ledger

    n = len(rows)
    frame = pl.DataFrame({
        "decision_id": [f"{MUNI}20270110{i:06d}" for i in range(1, n + 1)], "line_no": [1] * n,
        "kind": [r[5] for r in rows], "municipality_code": [MUNI] * n, "person_id": [r[0] for r in rows],
        "from_levy_year": [r[2] for r in rows], "from_notice_number": ["2" + r[1] for r in rows],
        "from_installment_no": [r[3] for r in rows],
        "to_levy_year": [2026 if r[5] == "2" else None for r in rows],
        "to_notice_number": ["1" + r[1] if r[5] == "2" else None for r in rows],
        "to_installment_no": [8 if r[5] == "2" else None for r in rows],
        "refund_id": [None] * n, "amount": [r[4] for r in rows], "interest": [0] * n,
        "cause_code": ["01"] * n, "decision_date": [dt.date(2027, 1, 10)] * n, "job_id": ["SN300"] * n,
        **_audit(n)}, schema_overrides={"to_levy_year": pl.Int32, "to_notice_number": pl.String,
                                         "to_installment_no": pl.Int32, "refund_id": pl.String})
    ledger = Ledger.open(url)
    try:
        with ledger.transaction() as tx:
            tx.insert("refund_offset", frame)
    finally:
        ledger.dispose()


def test_tk290_subtracts_the_refunds_of_withheld_amounts(ledger_url, kokuho_var):
    """返納 (SN300 還付 from a 期別 with 年金特徴 収納) of the calendar year's pension months is subtracted
    from the person's yen; a 充当 and a refund of another year's pension month are not."""
    from jobs.common import fixedwidth as fw

    _post(ledger_url)
    _refund(ledger_url)
    _reported([p for p in POSTINGS if p[5] == "pension" and p[6] == "0"])
    res = _run()
    assert res.rc == 0, res.log_text
    m = res.totals.money
    assert (m["withheld"], m["refunded"], m["handed_over"]) == (99_300, 17_000 + 8_100, 74_200)
    assert m["reported"] == 99_300 and "KKB537I" in res.log_text and "KKB509W" not in res.log_text
    recs = datasets.read("pension_deduction_handover", datasets.generation_name(MUNI, 2026, RUN_DAY))
    assert recs.select("person_id", "amount", "payments", "refunded", "amount_prior_fy", "amount_current_fy").rows() == [
        ("1000000001", 44_200, 4, 17_000, 10_200, 34_000), ("1000000002", 30_000, 2, 0, 0, 30_000)]
    out = kokuho_var / "outbox" / "shiminzei" / "NENKIN_KOJO_2026.dat"
    data = fw.read(fw.load_layout("pension_deduction_handover"), out.read_bytes()).frames["data"]
    assert [int(x) for x in data["amount"].to_list()] == [44_200, 30_000]
    blob = out.read_bytes()
    again = _run()
    assert again.rc == 0 and out.read_bytes() == blob
