"""The 特別徴収 amounts per payment month printed by FK150 (the print-data file, the 納税通知書 and
the 特別徴収開始通知書 PDFs) equal the withholding installments FK130 wrote, to the yen, for every
withheld household of a synthetic city of 300 insured."""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

import polars as pl
import pytest

from jobs.common import datasets, paths
from jobs.common import fixedwidth as fw
from jobs.runner import run_job

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reports"))
from pdf_helpers import page_texts  # noqa: E402

INSURED = 300
SEED = 20260601
INTAKE_DATE = "2026-06-01"
ASSESS_DATE = "2026-07-01"
GEN = "m111007_fy2026_d20260701"


@pytest.fixture
def printed(kokuho_var: Path) -> Path:
    from jobs.synth.cli import main

    assert main(["--insured", str(INSURED), "--seed", str(SEED), "--out", str(kokuho_var / "inbox"), "--quiet"]) == 0
    for job in ("FK020", "FK010", "FK030", "FK035"):
        assert run_job(job, business_date=INTAKE_DATE).rc == 0, job
    for job in ("FK110", "FK120", "FK130", "FK150"):
        r = run_job(job, business_date=ASSESS_DATE, **({"pdf_workers": 1} if job == "FK150" else {}))
        assert r.rc == 0, r.log_text
    return kokuho_var


def _yen(v: int) -> str:
    return f"{v:,}"


START_ROW = re.compile(r"^(仮徴収|本徴収)(\d{1,2})月令和(\d+)年(\d{1,2})月(\d{1,2})日([\d,]+)$")
NOTICE_ROW = re.compile(r"(仮徴収|本徴収)[\d,]+$")


def test_withholding_per_month_printed_equals_fk130_installments(printed):
    inst = datasets.read("installments", GEN).filter(pl.col("method") == "withholding").sort("household_id",
                                                                                              "installment_no")
    expected: dict[str, list[tuple[int, object, int]]] = {}
    for row in inst.iter_rows(named=True):
        expected.setdefault(row["household_id"], []).append((int(row["month"]), row["due_date"], int(row["amount"])))
    provisional = {4, 6, 8}
    assert len(expected) >= 30, len(expected)            # the city has withheld households to compare

    # 1. the print-data file: the 特別徴収 slots (徴収月, 年金支払日, 期別額) and the 特別徴収額計
    res = fw.read(fw.load_layout("tax_notice_print"), paths.outbox("print") / f"tax_notice_{GEN}.dat")
    data = res.frames["data"]
    printed_slots: dict[str, list[tuple[int, object, int]]] = {}
    for row in data.iter_rows(named=True):
        slots = [(int(row[f"withholding_{j}_month"]), row[f"withholding_{j}_due_date"],
                  int(row[f"withholding_{j}_amount"])) for j in range(1, 7) if row[f"withholding_{j}_month"] is not None]
        assert row["withholding_count"] == len(slots)
        assert row["withholding_total"] == sum(a for _m, _d, a in slots)
        if slots:
            printed_slots[row["household_id"]] = slots
    assert printed_slots == expected
    assert int(data["withholding_total"].sum()) == int(inst["amount"].sum())

    # 2. the PDFs: the 納税通知書's 特別徴収 table and the 特別徴収開始通知書 of each withheld household
    pdf_dir = paths.reports_root() / "notices" / GEN
    index = list(csv.DictReader(io.StringIO((pdf_dir / "tax_notice_index.csv").read_bytes().decode("utf-8-sig"))))
    texts = {name: page_texts(pdf_dir / name) for name in sorted({r["ファイル"] for r in index})}
    seen = 0
    for row in index:
        hid = row["世帯番号"]
        pages = texts[row["ファイル"]][int(row["開始ページ"]) - 1:int(row["開始ページ"]) - 1 + int(row["ページ数"])]
        start = [p for p in pages if "特別徴収開始通知書" in p]
        if hid not in expected:
            assert not start, hid
            continue
        seen += 1
        want = expected[hid]
        (notice,) = [p for p in pages if "納税通知書" in p and "特別徴収開始通知書" not in p]
        lines = [ln for ln in notice.splitlines() if NOTICE_ROW.search(ln)]
        assert len(lines) == len(want), (hid, lines)
        for ln, (m, _d, a) in zip(lines, want, strict=True):
            assert ln.endswith(f"{m}月{'仮徴収' if m in provisional else '本徴収'}{_yen(a)}"), (hid, ln, m, a)
        (sp,) = start
        got = []
        for ln in sp.splitlines():
            mt = START_ROW.match(ln)
            if mt:
                kind, m, ry, dm, dd, amount = mt.groups()
                assert kind == ("仮徴収" if int(m) in provisional else "本徴収")
                got.append((int(m), (2018 + int(ry), int(dm), int(dd)), int(amount.replace(",", ""))))
        assert got == [(m, (d.year, d.month, d.day), a) for m, d, a in want], hid
        assert f"計{_yen(sum(a for _m, _d, a in want))}" in sp.splitlines()
    assert seen == len(expected)
