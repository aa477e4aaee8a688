"""FK210 異動賦課 reads the 収納 from the 収納台帳 (issue 11, "loops that are open today") — on DuckDB
and PostgreSQL.

A small synthetic city through 当初賦課 (stand-in engine) → SN100 registers the 当初 調定 → the
counter pays household DOWN's every 普通徴収 期 and household UP's 期 1–5 (期 4–5 still open at
the 異動 date) → a 住民税 異動 lowers DOWN's tax and raises UP's → FK210 → FK220 → SN100 registers
the 更正 → SN300:

- 減額 of paid installments: the 期別税額 falls below the paid, the difference is the 過誤納 of
  the 更正 (``corrections.overpayment``), and SN300 finds exactly it (事由 01 減額更正) and refunds it;
- 増額 after payment: the paid 期 keep their amounts, the unpaid open 期 (6–9) carry the increase;
- the paid amounts are those posted before the business date (a rerun reads the same).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collection"))  # collection_helpers

import collection_helpers as ch  # noqa: E402
from test_steps import fake_assess, fake_members  # noqa: E402

from jobs.assessment import steps  # noqa: E402
from jobs.common import datasets  # noqa: E402
from jobs.runner import run_job  # noqa: E402

MUNI = "111007"
GEN = "m111007_fy2026_d"
INTAKE_DATE = dt.date(2026, 6, 1)
ASSESS_DATE = dt.date(2026, 7, 1)
LEVY_DATE = dt.date(2026, 7, 2)
PAY_DATE = dt.date(2026, 10, 1)
CHANGE_DATE = dt.date(2026, 10, 20)
REGISTER_DATE = dt.date(2026, 10, 21)
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"


def _pg_or_skip() -> None:
    try:
        import psycopg

        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        if os.environ.get("KOKUHO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL 127.0.0.1:5432 に接続できません (KOKUHO_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")


@pytest.fixture(params=["duckdb", "postgresql"])
def ledger_url(request, tmp_path, kokuho_var, monkeypatch):
    """This test's own ledger (KOKUHO_LEDGER_URL): a DuckDB file or a fresh PostgreSQL schema."""
    monkeypatch.delenv("KOKUHO_MUNICIPALITY", raising=False)
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'ledger.duckdb'}"
        monkeypatch.setenv("KOKUHO_LEDGER_URL", url)
        yield url
        ch.release_duckdb()
        return
    _pg_or_skip()
    import psycopg

    schema = f"kb_{secrets.token_hex(6)}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("KOKUHO_LEDGER_URL", url)
    try:
        yield url
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def assessed_city(ledger_url, kokuho_var, monkeypatch):
    """Intake → FK110–FK140 (stand-in engine, every household 普通徴収) → SN100 (当初 調定)."""
    from jobs.synth.cli import main

    monkeypatch.setenv("KOKUHO_MYNUMBER_KEY", "ab" * 32)
    monkeypatch.setattr(steps, "build_members", fake_members)
    monkeypatch.setattr(steps, "assess", fake_assess)
    assert main(["--insured", "120", "--seed", "20261011", "--out", str(kokuho_var / "inbox"), "--quiet"]) == 0
    for job in ("FK020", "FK010", "FK030"):
        r = run_job(job, business_date=INTAKE_DATE, municipality=MUNI)
        assert r.rc == 0, (job, r.log_text)
    for job in ("FK110", "FK120", "FK130", "FK140"):
        r = run_job(job, business_date=ASSESS_DATE, municipality=MUNI)
        assert r.rc in (0, 4) and r.committed, (job, r.log_text)
    if ledger_url.startswith("duckdb"):
        ch.hold_duckdb(ledger_url)
    r = run_job("SN100", business_date=LEVY_DATE, municipality=MUNI)
    assert r.rc == 0, r.log_text
    return kokuho_var


def _rows(gen: str) -> pl.DataFrame:
    return datasets.read("installments", GEN + gen).filter(pl.col("method") == "ordinary")


def _pay(rows: pl.DataFrame) -> int:
    """The counter pays these installments in full (SN200 + SN205 on PAY_DATE)."""
    recs = [ch.counter_record("1" + r["household_id"], int(r["installment_no"]), int(r["amount"]), serial=k + 1,
                              paid_date=PAY_DATE - dt.timedelta(days=1), received_date=PAY_DATE)
            for k, r in enumerate(rows.iter_rows(named=True))]
    ch.drop(ch.counter_file(recs, creation_date=PAY_DATE), "counter", "COUNTER_20261001.dat")
    for job in ("SN200", "SN205"):
        r = run_job(job, business_date=PAY_DATE, municipality=MUNI)
        assert r.rc == 0, (job, r.log_text)
    return int(rows["amount"].sum())


def test_fk210_reads_the_ledger_paid_decrease_refunds_increase_goes_to_unpaid(assessed_city, ledger_url):
    a = datasets.read("assessment", GEN + "20260701")
    members = datasets.read("assessment_members", GEN + "20260701")
    rows = _rows("20260701")
    income = datasets.read("resident_tax_income", GEN + "20260601")
    # DOWN: the household with the most tax (income → 0 lowers it); UP: a middle one (+2,000,000)
    ranked = a.filter(pl.col("annual_tax") > 0).sort(["annual_tax", "household_id"], descending=[True, False])
    down, up = ranked["household_id"][0], ranked["household_id"][ranked.height // 2]  # UP far from the caps
    paid_down = _pay(pl.concat([rows.filter(pl.col("household_id") == down),
                                rows.filter((pl.col("household_id") == up) & (pl.col("installment_no") <= 5))]))
    assert paid_down > 0

    down_people = members.filter(pl.col("household_id") == down)["person_id"].cast(pl.String)
    up_head = a.filter(pl.col("household_id") == up)["taxpayer_person_id"].cast(pl.String)
    changed = pl.concat([
        income.filter(pl.col("person_id").cast(pl.String).is_in(down_people.implode())).with_columns(
            pl.lit(0).cast(income["total_income"].dtype).alias("total_income")),
        income.filter(pl.col("person_id").cast(pl.String).is_in(up_head.implode())).with_columns(
            pl.col("total_income") + 2_000_000),
    ]).with_columns(pl.lit("2").alias("change_kind"))
    datasets.write("resident_tax_income", GEN + "20261020", changed)

    r210 = run_job("FK210", business_date=CHANGE_DATE, municipality=MUNI)
    assert r210.rc == 0, r210.log_text
    ids = [m.msg_id for m in r210.messages]
    assert "KKB692I" in ids and "KKB690W" not in ids and "KKB691W" not in ids
    notices = datasets.read("change_notices", GEN + "20261020")
    corr = datasets.read("corrections", GEN + "20261020").filter(pl.col("method") == "ordinary")
    nd = notices.filter(pl.col("household_id") == down).row(0, named=True)
    nu = notices.filter(pl.col("household_id") == up).row(0, named=True)
    assert nd["change"] < 0 and nu["change"] > 0

    # 減額 of a fully paid household: all of it is 過誤納; the 期別税額 fall below the paid
    cd = corr.filter(pl.col("household_id") == down).sort("installment_no")
    assert int(cd["paid"].sum()) == int(cd["amount_before"].sum())           # the ledger's 収納 reached FK210
    assert nd["overpayment"] == -nd["change"] == int(cd["overpayment"].sum())
    assert (cd["overpayment"] == (cd["paid"] - cd["amount_after"])).all()
    assert int(cd["amount_after"].sum()) == nd["annual_after"]

    # 増額 after payment: 期 1–5 (paid; 4 and 5 still open) unchanged, the unpaid open 期 carry it
    cu = corr.filter(pl.col("household_id") == up).sort("installment_no")
    paid_part = cu.filter(pl.col("installment_no") <= 5)
    assert (paid_part["paid"] == paid_part["amount_before"]).all()
    assert (paid_part["amount_after"] == paid_part["amount_before"]).all()
    assert paid_part.filter(pl.col("is_open")).height == 2
    rest = cu.filter(pl.col("installment_no") > 5)
    assert rest["is_open"].all() and int(rest["change"].sum()) == nu["change"]
    assert (rest["change"] > 0).all() and nu["overpayment"] == 0

    # the 更正 goes to the ledger (FK220 → SN100); SN300 finds DOWN's 過誤納, 事由 01, and refunds it
    assert run_job("FK220", business_date=CHANGE_DATE, municipality=MUNI).rc == 0
    r100 = run_job("SN100", business_date=REGISTER_DATE, municipality=MUNI)
    assert r100.rc == 0, r100.log_text
    led = ch.installments()
    for r in cd.iter_rows(named=True):
        i = led[(2026, "1" + down, r["installment_no"])]
        assert (i["levy_amount"], i["paid_amount"]) == (r["amount_after"], r["paid"])
    for r in cu.iter_rows(named=True):
        assert led[(2026, "1" + up, r["installment_no"])]["levy_amount"] == r["amount_after"]
    r300 = run_job("SN300", business_date=REGISTER_DATE, municipality=MUNI)
    assert r300.rc == 0, r300.log_text
    lines = ch.q("SELECT from_notice_number, kind, cause_code, amount FROM refund_offset")
    mine = lines.filter(pl.col("from_notice_number") == "1" + down)
    assert int(mine["amount"].sum()) == nd["overpayment"]
    assert set(mine["cause_code"]) == {"01"}                                  # 減額更正による過納
    assert lines.filter(pl.col("from_notice_number") == "1" + up).height == 0
    after = ch.installments()
    assert all(after[(2026, "1" + down, n)]["paid_amount"] == after[(2026, "1" + down, n)]["levy_amount"]
               for n in cd["installment_no"])

    # as of a date: a posting counts from the next business date on (a rerun reads the same)
    led_ = ch.open_ledger()
    try:
        with led_.transaction() as tx:
            tx.stage("_n", pl.DataFrame({"notice_number": ["1" + up]}))
            on_day = tx.query("ledger/paid_by_installment", {"m": MUNI, "y": 2026, "d": f"{PAY_DATE:%Y%m%d}"})
            next_day = tx.query("ledger/paid_by_installment", {"m": MUNI, "y": 2026,
                                                               "d": f"{PAY_DATE + dt.timedelta(days=1):%Y%m%d}"})
    finally:
        led_.dispose()
    assert int(on_day["paid"].sum()) == 0
    assert int(next_day["paid"].sum()) == int(paid_part["paid"].sum())

    # a rerun of FK210 the same day gives the same 更正, although the ledger has changed since
    before = datasets.read("corrections", GEN + "20261020")
    assert run_job("FK210", business_date=CHANGE_DATE, municipality=MUNI).rc == 0
    assert datasets.read("corrections", GEN + "20261020").equals(before)


def test_fk210_households_without_a_levy_in_the_ledger_are_named(ledger_url, kokuho_var, monkeypatch):
    """A ledger that has not registered the 当初 調定 (SN100 not run): KKB691W, RC 4, never a silent 0."""
    from jobs.synth.cli import main

    monkeypatch.setenv("KOKUHO_MYNUMBER_KEY", "ab" * 32)
    monkeypatch.setattr(steps, "build_members", fake_members)
    monkeypatch.setattr(steps, "assess", fake_assess)
    assert main(["--insured", "60", "--seed", "20261012", "--out", str(kokuho_var / "inbox"), "--quiet"]) == 0
    for job in ("FK020", "FK010", "FK030"):
        assert run_job(job, business_date=INTAKE_DATE, municipality=MUNI).rc == 0
    for job in ("FK110", "FK120", "FK130"):
        assert run_job(job, business_date=ASSESS_DATE, municipality=MUNI).rc in (0, 4)
    a = datasets.read("assessment", GEN + "20260701")
    head = a.filter(pl.col("annual_tax") > 0).sort("household_id")["taxpayer_person_id"].head(1).cast(pl.String)
    income = datasets.read("resident_tax_income", GEN + "20260601")
    datasets.write("resident_tax_income", GEN + "20261020", income.filter(
        pl.col("person_id").cast(pl.String).is_in(head.implode())).with_columns(
        pl.col("total_income") + 1_000_000, pl.lit("2").alias("change_kind")))
    r = run_job("FK210", business_date=CHANGE_DATE, municipality=MUNI)
    assert r.rc == 4, r.log_text
    warn = [m for m in r.messages if m.msg_id == "KKB691W"]
    assert len(warn) == 1 and "世帯番号" in warn[0].line
