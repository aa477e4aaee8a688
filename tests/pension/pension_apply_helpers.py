"""Helpers of the KB520 (年金特徴結果反映) tests: a small synthetic city through 当初賦課 with
特別徴収 households, and the Z23 / Z24 datasets as KB500's intake writes them (the 500-byte
layout's fields, ``layouts/tokucho_500.yaml``, + source_file, source_sha256, record_no,
record_kind), built here with jobs.common.datasets until pension-intake's TK110 is merged.

The trailer records go either into the same dataset (レコード区分 "3") or into
``<dataset>_trailer``: TK310/TK320 read both shapes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl

from jobs.assessment import withholding as wh
from jobs.common import datasets
from jobs.runner import run_job

D = dt.date
MUNI = "111007"
MUNI5 = "11100"
INSURED = 300
SEED = 20260601
INTAKE_DATE = D(2026, 6, 1)
ASSESS_DATE = D(2026, 7, 1)
Z23_DATE = D(2026, 9, 10)   # 作成年月日 of the Z23 (KB500 receives it that day)
SEPT_RUN = D(2026, 9, 24)   # KB520's September run day (20th → Sun, 21–23 祝日)
Z24_DATE = D(2026, 11, 10)  # the Z24 of the October payment
NOV_RUN = D(2026, 11, 20)
WITHHELD = (wh.CONTINUING, wh.NEW_PROVISIONAL, wh.NEW_FINAL)


def run(job_id: str, business_date: dt.date, **options):
    return run_job(job_id, business_date=business_date, municipality=MUNI, **options)


def check(res, rc: int = 0):
    assert res.rc == rc, res.log_text
    t = res.totals
    assert t.read == t.accepted + t.rejected, res.log_text
    return res


def make_city(var: Path, monkeypatch) -> None:
    """synth city → FK020/FK010/FK030 (06-01) → FK110/FK120/FK130/FK140 (07-01)."""
    from jobs.synth.cli import main

    monkeypatch.delenv("KOKUHO_MUNICIPALITY", raising=False)
    monkeypatch.setenv("KOKUHO_MYNUMBER_KEY", "ab" * 32)
    assert main(["--insured", str(INSURED), "--seed", str(SEED), "--out", str(var / "inbox"), "--quiet"]) == 0
    for job in ("FK020", "FK010", "FK030"):
        check(run(job, INTAKE_DATE))
    check(run("FK110", ASSESS_DATE))
    check(run("FK120", ASSESS_DATE, ltc_premium_missing="ignore"), rc=4)  # KKB322W: 1/2 test without 介護
    check(run("FK130", ASSESS_DATE))
    check(run("FK140", ASSESS_DATE))


def withheld_households() -> pl.DataFrame:
    """household_id, basic_pension_number, payer_code, pension_code of the withheld households,
    with their 特別徴収 期別 amounts (wh_10, wh_12, wh_2)."""
    gen = datasets.latest("withholding", municipality=MUNI)
    w = datasets.read("withholding", gen).filter(pl.col("status").is_in(WITHHELD)
                                                  & pl.col("basic_pension_number").is_not_null())
    rows = datasets.read("installments", datasets.latest("installments", municipality=MUNI))
    amounts = rows.filter(pl.col("method") == "withholding").pivot(
        on="month", index="household_id", values="amount", aggregate_function="sum")
    amounts = amounts.rename({c: f"wh_{c}" for c in amounts.columns if c != "household_id"})
    return w.select("household_id", "basic_pension_number", "payer_code", "pension_code").join(
        amounts, on="household_id", how="left").sort("household_id")


def tokucho_frame(records: list[dict], *, name: str, notice_code: str, created: dt.date,
                  trailer_in: str = "same", trailer_override: dict | None = None) -> tuple[pl.DataFrame,
                                                                                        pl.DataFrame, str]:
    """(data+trailer or data, trailer, sha256) of one received file."""
    sha = hashlib.sha256(repr((name, records)).encode()).hexdigest()
    data = pl.DataFrame([{
        "record_kind": "2", "municipality_code": MUNI5, "payer_code": r["payer_code"], "notice_code": notice_code,
        "scheme_code": "1", "created_on": created, "basic_pension_number": r["basic_pension_number"],
        "pension_code": r.get("pension_code") or "1150", "category": r.get("category"),
        "result": r.get("result"), "event_date": r.get("event_date"), "amount1": r.get("amount1", 0),
        "amount2": 0, "amount3": 0, "source_file": name, "source_sha256": sha, "record_no": i + 2,
    } for i, r in enumerate(records)], schema={
        "record_kind": pl.String, "municipality_code": pl.String, "payer_code": pl.String,
        "notice_code": pl.String, "scheme_code": pl.String, "created_on": pl.Date,
        "basic_pension_number": pl.String, "pension_code": pl.String, "category": pl.String, "result": pl.String,
        "event_date": pl.Date, "amount1": pl.Int64, "amount2": pl.Int64, "amount3": pl.Int64,
        "source_file": pl.String, "source_sha256": pl.String, "record_no": pl.Int64})
    t = {"record_kind": "3", "municipality_code": MUNI5, "payer_code": records[0]["payer_code"] if records else "001",
         "notice_code": notice_code, "created_on": created, "total_count": len(records),
         "total_amount1": int(data["amount1"].sum() or 0), "total_amount2": 0, "total_amount3": 0,
         "source_file": name, "source_sha256": sha, "record_no": len(records) + 2}
    t.update(trailer_override or {})
    trailer = pl.DataFrame([t]).with_columns(pl.col("created_on").cast(pl.Date),
                                            pl.col("record_no").cast(pl.Int64))
    return data, trailer, sha


def write_received(dataset: str, data: pl.DataFrame, trailer: pl.DataFrame, *, business_date: dt.date,
                   trailer_in: str = "same") -> None:
    """The generation KB500's intake writes on ``business_date``."""
    gen = datasets.generation_name(MUNI, 2026 if business_date >= D(2026, 4, 1) else 2025, business_date)
    inputs = [{"name": n, "sha256": s} for n, s in data.select("source_file", "source_sha256").unique().rows()]
    if trailer_in == "same":
        datasets.write(dataset, gen, pl.concat([data, trailer], how="diagonal_relaxed"), totals={"inputs": inputs})
    else:
        datasets.write(dataset, gen, data, totals={"inputs": inputs})
        datasets.write(f"{dataset}_trailer", gen, trailer, totals={"inputs": inputs})


# --- the two runs of the year the tests replay ------------------------------------------------------

UNKNOWN_PENSION = "0000000001"


def september(w: pl.DataFrame) -> dict:
    """Z23 of 09-10: the first two withheld households refused (処理結果 11, 12), the rest accepted,
    and one refused record of a pension number no household has. Returns what was sent."""
    refused = w.head(2)
    records = [{"basic_pension_number": r["basic_pension_number"], "payer_code": r["payer_code"],
                "pension_code": r["pension_code"], "category": "01",
                "result": "11" if i == 0 else "12", "amount1": r["wh_10"]}
               for i, r in enumerate(refused.iter_rows(named=True))]
    records += [{"basic_pension_number": r["basic_pension_number"], "payer_code": r["payer_code"],
                 "pension_code": r["pension_code"], "category": "01", "result": "00", "amount1": r["wh_10"]}
                for r in w.slice(2).iter_rows(named=True)]
    records.append({"basic_pension_number": UNKNOWN_PENSION, "payer_code": "001", "category": "01", "result": "11",
                    "amount1": 1000})
    data, trailer, sha = tokucho_frame(records, name="Z2300001.dta", notice_code="02", created=Z23_DATE)
    write_received("tokucho_request_result", data, trailer, business_date=Z23_DATE, trailer_in="separate")
    return {"refused": refused, "records": len(records), "sha": sha}


def november(w: pl.DataFrame, refused: pl.DataFrame) -> dict:
    """Z24 of 11-10 (the October payment): every accepted household withheld its October amount
    (00), the third one 03 年金額不足 (nothing withheld), the fourth 10 (75歳以上, withheld);
    the first refused household was withheld all the same (返納); one unknown pension number
    and one unknown 各種区分 (both rejected)."""
    accepted = w.slice(2)
    stopped = accepted.head(1)
    over75 = accepted.slice(1, 1)
    records = []
    for r in accepted.iter_rows(named=True):
        cat = "03" if r["household_id"] == stopped["household_id"][0] else (
            "10" if r["household_id"] == over75["household_id"][0] else "00")
        records.append({"basic_pension_number": r["basic_pension_number"], "payer_code": r["payer_code"],
                        "pension_code": r["pension_code"], "category": cat,
                        "amount1": 0 if cat == "03" else r["wh_10"]})
    late = refused.head(1).row(0, named=True)
    records.append({"basic_pension_number": late["basic_pension_number"], "payer_code": late["payer_code"],
                    "category": "00", "amount1": late["wh_10"]})
    records.append({"basic_pension_number": UNKNOWN_PENSION, "payer_code": "001", "category": "00", "amount1": 1234})
    bad = accepted.slice(2, 1).row(0, named=True)
    records.append({"basic_pension_number": bad["basic_pension_number"], "payer_code": bad["payer_code"],
                    "category": "99", "amount1": 777})
    data, trailer, sha = tokucho_frame(records, name="Z2400011.dta", notice_code="22", created=Z24_DATE)
    write_received("tokucho_result", data, trailer, business_date=Z24_DATE)
    return {"stopped": stopped, "over75": over75, "late": late, "data": data, "sha": sha,
            "trailer_amount": int(data["amount1"].sum()), "rejected_amount": 1234 + 777, "records": len(records)}


KB520 = ("TK310", "TK320", "TK325", "TK330", "TK340", "TK350")
