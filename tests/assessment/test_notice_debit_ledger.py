"""FK150 納税通知書作成 with the 収納台帳's 口座振替依頼 (issue 11, "loops that are open today"), on
DuckDB and PostgreSQL: a small synthetic city through 当初賦課 (the real engine) → SN010/SN020
register a mandate for household DEBIT's 世帯主 from its 2nd 期's month, and one that was stopped for
household STOP's → FK150: DEBIT's print record carries the 口座振替 items (1753–1800) and its PDF has
no 納付書 for the debited 期; STOP's has none of it; the control totals count the debited 期 and
amount; a rerun writes the same bytes."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collection"))  # collection_helpers

import collection_helpers as ch  # noqa: E402
from test_notice_steps import ASSESS_DATE, GEN, assessed  # noqa: E402, F401
from test_reassessment_ledger import MUNI, ledger_url  # noqa: E402, F401

from jobs.common import datasets, paths  # noqa: E402
from jobs.common import fixedwidth as fw  # noqa: E402
from jobs.runner import run_job  # noqa: E402

GENERATION = GEN + "20260701"


def _outputs():
    return paths.outbox("print") / f"tax_notice_{GENERATION}.dat", paths.reports_root() / "notices" / GENERATION


def test_fk150_debit_households_from_the_ledger(ledger_url, assessed):  # noqa: F811 - the imported fixtures
    a = datasets.read("assessment", GENERATION).with_columns(pl.col("taxpayer_person_id").cast(pl.String))
    rows = datasets.read("installments", GENERATION).filter(pl.col("method") == "ordinary")
    # the synthetic city's own 口座振替依頼書 (inbox/koufuri) is taken in too: pick two households
    # whose 世帯主 has none there
    synth = set(fw.read(fw.load_layout("direct_debit_mandate"), next((assessed / "inbox" / "koufuri").iterdir()))
                .frames["data"]["payer_person_id"].to_list())
    counts = rows.group_by("household_id").agg(pl.len().alias("n")).filter(pl.col("n") >= 4).join(
        a.select("household_id", "taxpayer_person_id"), on="household_id").filter(
        ~pl.col("taxpayer_person_id").is_in(list(synth))).sort("household_id")
    debit, stop = counts["household_id"][0], counts["household_id"][1]
    payer = {h: a.filter(pl.col("household_id") == h)["taxpayer_person_id"].cast(pl.String)[0] for h in (debit, stop)}
    mine = rows.filter(pl.col("household_id") == debit).sort("installment_no")
    start = mine["due_date"][1]
    start_month = f"{start:%Y%m}"
    debited = mine.filter(pl.col("due_date").dt.strftime("%Y%m") >= start_month)
    assert 0 < debited.height < mine.height

    ch.drop(ch.mandate_file([
        ch.mandate_record(payer[debit], "1", bank_code="0017", branch_code="300", account_number="1234567",
                          holder="ｼﾕｳﾉｳ ﾀﾛｳ", received_date=dt.date(2026, 6, 20), start_month=start_month),
        ch.mandate_record(payer[stop], "1", received_date=dt.date(2026, 6, 1)),
        ch.mandate_record(payer[stop], "3", received_date=dt.date(2026, 6, 20), stop_reason="1"),
    ], creation_date=dt.date(2026, 6, 22)), "koufuri", "KOUFURI_IRAI_20260622.dat")
    for job in ("SN010", "SN020"):
        r = run_job(job, business_date=dt.date(2026, 6, 22), municipality=MUNI)
        assert r.rc == 0, (job, r.log_text)

    r = run_job("FK150", business_date=ASSESS_DATE, municipality=MUNI, households_per_pdf=1000, pdf_workers=1)
    assert r.rc == 0, r.log_text
    assert "KKB694I" in [m.msg_id for m in r.messages]
    # the totals, worked out here from the ledger's mandates: each payer's last 依頼 received by the
    # 発行日, if 新規・変更; its 開始年月 against each 普通徴収 期's 納期限
    m = ch.q("SELECT person_id, history_no, registration_kind, start_month, received_date FROM debit_mandate")
    last = m.filter(pl.col("received_date") <= dt.date.fromisoformat(ASSESS_DATE)).sort("history_no").group_by(
        "person_id").last().filter(pl.col("registration_kind").is_in(["1", "2"]))
    expect = rows.join(a.select("household_id", "taxpayer_person_id"), on="household_id").join(
        last.select(pl.col("person_id").alias("taxpayer_person_id"), "start_month"), on="taxpayer_person_id").filter(
        (pl.col("due_date").dt.strftime("%Y%m") >= pl.col("start_month")) & (pl.col("amount") > 0))
    assert debit in expect["household_id"].to_list() and stop not in expect["household_id"].to_list()
    assert r.totals.figures["debit_households"] == expect["household_id"].n_unique() > 1
    assert r.totals.figures["debit_installments"] == expect.height
    assert r.totals.money["debit"] == int(expect["amount"].sum())

    print_file, pdf_dir = _outputs()
    data = fw.read(fw.load_layout("tax_notice_print"), print_file).frames["data"]
    d = data.filter(pl.col("household_id") == debit).row(0, named=True)
    assert (d["debit_kind"], d["debit_bank_code"], d["debit_branch_code"], d["debit_account_type"],
            d["debit_account_number"], d["debit_first_installment"], d["debit_account_holder"]) == (
        "1", "0017", "300", "1", "****567", int(debited["installment_no"][0]), "ｼﾕｳﾉｳ ﾀﾛｳ")
    assert data.filter(pl.col("debit_kind") == "1")["household_id"].sort().to_list() == \
        expect["household_id"].unique().sort().to_list()
    assert data.filter(pl.col("household_id") == stop)["debit_bank_code"].to_list() == [None]

    # the PDF index: DEBIT has the 納税通知書 and the 納付書 of its 期 before the 開始年月 only
    raw = (pdf_dir / "tax_notice_index.csv").read_bytes().decode("utf-8-sig")
    index = {row["世帯番号"]: row for row in csv.DictReader(io.StringIO(raw))}
    slips = mine.height - debited.height
    assert int(index[debit]["ページ数"]) == 1 + math.ceil(slips / 3)
    assert int(index[stop]["ページ数"]) == 1 + math.ceil(rows.filter(pl.col("household_id") == stop).height / 3)

    first = hashlib.sha256(print_file.read_bytes()).hexdigest()
    r2 = run_job("FK150", business_date=ASSESS_DATE, municipality=MUNI, households_per_pdf=1000, pdf_workers=1)
    assert r2.rc == 0 and hashlib.sha256(print_file.read_bytes()).hexdigest() == first
