"""The notices on the real engine's frames: jobs.assessment.engine.assess → installments
(Schedule from config) → notice_frame → print file and PDF. Household ids are the engine's own
(non-numeric test ids are mapped to 世帯番号 digits as the intake datasets carry them)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from jobs.assessment import engine, installments
from jobs.assessment import rates as rates_mod
from jobs.common import config
from jobs.common import fixedwidth as fw
from reports import notices, print_data


def _members() -> pl.DataFrame:
    rows = []
    people = [  # household, person, householder, birth, total income
        ("0000200001", "0000200011", True, dt.date(1975, 5, 1), 4_200_000),
        ("0000200001", "0000200012", False, dt.date(1978, 8, 9), 900_000),
        ("0000200001", "0000200013", False, dt.date(2021, 2, 3), 0),
        ("0000200002", "0000200021", True, dt.date(1990, 1, 15), 300_000),
        ("0000200003", "0000200031", True, dt.date(1956, 11, 30), 1_500_000),
    ]
    for hid, pid, head, birth, income in people:
        rows.append({"household_id": hid, "person_id": pid, "is_householder": head, "is_insured": True,
                     "birth_date": birth, "total_income": income, "aggregate_income": income,
                     "declared": True})
    return pl.DataFrame(rows)


def test_engine_frames_print_and_render(tmp_path):
    cfg = config.load("111007", 2026)
    rates = rates_mod.TaxRates.load("111007", 2026)
    assessment = engine.assess(_members(), rates)
    schedule = installments.Schedule.from_config(cfg, 2026)
    inst = installments.ordinary_installments(assessment.select("household_id", "annual_tax"), schedule)
    addresses = pl.DataFrame({
        "person_id": ["0000200011", "0000200021", "0000200031"],
        "name_kanji": ["試験　一郎", "試験　二郎", "試験　三郎"],
        "postal_code": ["3300001", "3300002", "3300003"],
        "address_kanji": ["埼玉県さいたま市浦和区１丁目１番１号", "埼玉県さいたま市浦和区２丁目２番２号",
                          "埼玉県さいたま市浦和区３丁目３番３号"],
    })
    issue = dt.date(2026, 6, 15)
    frame = print_data.notice_frame(assessment, inst, addresses, cfg, issue_date=issue)
    assert frame.height == 3
    assert frame["annual_tax"].to_list() == [
        int(assessment.filter(pl.col("household_id") == h)["annual_tax"][0]) for h in frame["household_id"]]
    assert frame["child_support_amount"].null_count() == 0  # FY2026 levies 子ども・子育て支援金分
    summary = print_data.write_frame(frame, cfg, tmp_path / "print.dat")
    res = fw.read(fw.load_layout("tax_notice_print"), tmp_path / "print.dat")
    assert res.totals["accepted"] == 5 and summary.annual_tax_total == int(assessment["annual_tax"].sum())
    stats = notices.render_pdf(frame, cfg, tmp_path / "n.pdf")
    assert stats.by_document["notice"] == 3 and stats.slips == int((inst["amount"] > 0).sum())
