"""The notice steps through ``jobs.runner.run_job`` on a small synthetic city with the real
tax engine: intake (FK020, FK010, FK030) → FK110–FK130 → FK150 納税通知書作成; then a 住民税 異動 →
FK210 → FK230 変更通知書作成.

What is checked is what operators and the print vendor rely on: the print file's records and
trailer reconcile with the assessment to the yen, every household is in exactly one PDF (the
index), households that cannot be printed are on the error list (RC 4) and in no output, a rerun
gives the same bytes, and nothing appears when the step fails.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import polars as pl
import pytest

from jobs.assessment import notice_steps
from jobs.common import config, datasets, errorlist, paths
from jobs.common import fixedwidth as fw
from jobs.runner import run_job
from reports import print_data

INSURED = 300
SEED = 20260601
INTAKE_DATE = "2026-06-01"
ASSESS_DATE = "2026-07-01"
CHANGE_DATE = "2026-10-20"
GEN = "m111007_fy2026_d"
PER_PDF = 60


@pytest.fixture
def assessed(kokuho_var: Path, monkeypatch) -> Path:
    """A synthetic city taken in (2026-06-01) and assessed through FK130 (2026-07-01)."""
    from jobs.synth.cli import main

    monkeypatch.delenv("KOKUHO_MUNICIPALITY", raising=False)
    monkeypatch.setenv("KOKUHO_MYNUMBER_KEY", "ab" * 32)
    assert main(["--insured", str(INSURED), "--seed", str(SEED), "--out", str(kokuho_var / "inbox"), "--quiet"]) == 0
    for job in ("FK020", "FK010", "FK030", "FK035"):  # FK035: the 介護 data FK120's 2分の1 test reads
        assert run_job(job, business_date=INTAKE_DATE).rc == 0, job
    for job in ("FK110", "FK120", "FK130"):
        r = run_job(job, business_date=ASSESS_DATE)
        assert r.rc == 0, r.log_text
    return kokuho_var


def _outputs(name: str, gen: str) -> tuple[Path, Path]:
    return paths.outbox("print") / f"{name}_{gen}.dat", paths.reports_root() / "notices" / gen


def _digests(*roots: Path) -> dict[str, str]:
    out = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(root.iterdir())
        out.update({f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files})
    return out


def _index(pdf_dir: Path, name: str) -> list[dict[str, str]]:
    raw = (pdf_dir / f"{name}_index.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_fk150_print_file_and_pdfs_reconcile_and_a_rerun_is_byte_identical(assessed):
    gen = GEN + "20260701"
    assessment = datasets.read("assessment", gen)
    annual = int(assessment["annual_tax"].sum())

    r = run_job("FK150", business_date=ASSESS_DATE, households_per_pdf=PER_PDF, pdf_workers=2)

    assert r.rc == 0, r.log_text
    t = r.totals
    assert (t.read, t.accepted, t.rejected, t.written) == (assessment.height,) * 2 + (0, assessment.height)
    assert t.money["annual_tax"] == t.money["printed_annual_tax"] == annual and t.money["unprinted_annual_tax"] == 0
    assert t.money["ordinary"] + t.money["withholding"] == annual
    dat, pdf_dir = _outputs("tax_notice", gen)
    assert [Path(f) for f in r.to_dict()["files"]] == [dat, pdf_dir]
    # the print file: one data record per household, the trailer's Σ = Σ annual tax
    res = fw.read(fw.load_layout("tax_notice_print"), dat)
    data, trailer = res.frames["data"], res.frames["trailer"].row(0, named=True)
    assert res.totals["rejected"] == 0 and data.height == assessment.height
    assert trailer["annual_tax_total"] == annual == notice_steps.read_trailer(dat)["annual_tax_total"]
    assert set(data["notice_kind"]) == {"1"} and sorted(data["household_id"]) == sorted(assessment["household_id"])
    assert res.frames["header"]["creation_date"][0] == dt.date(2026, 7, 1)  # the business date, not today
    # the PDFs: ceil(households / PER_PDF) files, every household in exactly one, pages add up
    pdfs = notice_steps.pdf_files(pdf_dir, "tax_notice")
    assert [p.name for p in pdfs] == [f"tax_notice_{i:04d}.pdf" for i in range(1, -(-assessment.height // PER_PDF) + 1)]
    index = _index(pdf_dir, "tax_notice")
    assert [row["世帯番号"] for row in index] == data["household_id"].to_list()  # envelope order, as the print file
    assert sum(int(row["ページ数"]) for row in index) == t.figures["pages"]
    assert sum(int(row["年税額"]) for row in index) == annual
    import pypdfium2 as pdfium

    assert sum(len(pdfium.PdfDocument(p)) for p in pdfs) == t.figures["pages"]
    assert t.figures["notice_pages"] == assessment.height and t.figures["pdf_files"] == len(pdfs)
    slips = int(datasets.read("installments", gen).filter((pl.col("method") == "ordinary") & (pl.col("amount") > 0)).height)
    assert t.figures["slips"] == slips
    assert not [p for p in pdf_dir.parent.iterdir() if p.name.startswith(".")] and not list(dat.parent.glob(".*"))

    first = _digests(dat, pdf_dir)
    r2 = run_job("FK150", business_date=ASSESS_DATE, households_per_pdf=PER_PDF, pdf_workers=1)
    assert r2.rc == 0 and _digests(dat, pdf_dir) == first  # same bytes, in one process or two


def test_unprintable_households_go_to_the_error_list(assessed):
    gen = GEN + "20260701"
    assessment = datasets.read("assessment", gen).sort("household_id")
    no_address, bad_name = assessment["taxpayer_person_id"][0], assessment["taxpayer_person_id"][1]
    q = datasets.read("nhi_qualification", GEN + "20260601")
    q = q.with_columns(
        pl.when(pl.col("person_id") == no_address).then(None).otherwise(pl.col("address_kanji")).alias("address_kanji"),
        pl.when(pl.col("person_id") == bad_name).then(pl.lit("\U00020bb7田　一郎"))  # 𠮷: not in cp932
        .otherwise(pl.col("name_kanji")).alias("name_kanji"),
    )
    datasets.write("nhi_qualification", GEN + "20260615", q)  # a later 資格 generation, before the run

    r = run_job("FK150", business_date=ASSESS_DATE)

    assert r.rc == 4 and r.committed, r.log_text
    t = r.totals
    assert t.rejected == 2 and t.accepted == assessment.height - 2 and t.written == t.accepted
    bad = assessment.head(2)
    assert t.money["unprinted_annual_tax"] == int(bad["annual_tax"].sum())
    assert t.money["printed_annual_tax"] + t.money["unprinted_annual_tax"] == t.money["annual_tax"]
    errs = errorlist.read(r.error_list)
    reasons = errs[errorlist.LABELS["reason"]].to_list()
    assert len(reasons) == 2
    assert any(bad["household_id"][0] in x and "住所がない" in x for x in reasons)
    assert any(bad["household_id"][1] in x and "cp932" in x for x in reasons)
    dat, pdf_dir = _outputs("tax_notice", gen)
    printed = set(fw.read(fw.load_layout("tax_notice_print"), dat).frames["data"]["household_id"])
    assert printed.isdisjoint(bad["household_id"]) and len(printed) == t.accepted
    assert notice_steps.read_trailer(dat)["annual_tax_total"] == t.money["printed_annual_tax"]
    assert {row["世帯番号"] for row in _index(pdf_dir, "tax_notice")} == printed


def test_fk150_refuses_installments_of_an_older_assessment(assessed):
    assert run_job("FK110", business_date="2026-07-02").rc == 0  # reassessed without FK120/FK130

    r = run_job("FK150", business_date="2026-07-02")

    assert r.rc == 8 and not r.committed
    assert any(m.msg_id == "KKB351E" and "FK130" in m.text for m in r.messages), r.log_text
    assert not paths.outbox("print").exists() or not list(paths.outbox("print").iterdir())
    assert not (paths.reports_root() / "notices").exists() or not list((paths.reports_root() / "notices").iterdir())


def test_notice_steps_need_their_inputs(kokuho_var, monkeypatch):
    monkeypatch.delenv("KOKUHO_MUNICIPALITY", raising=False)
    for job in ("FK150", "FK230"):
        r = run_job(job, business_date=ASSESS_DATE)
        assert r.rc == 8 and not r.committed, job
        assert any(m.msg_id == "KKB301E" for m in r.messages), (job, r.log_text)


def test_fk230_change_notices(assessed):
    assert run_job("FK150", business_date=ASSESS_DATE).rc == 0
    a = datasets.read("assessment", GEN + "20260701")
    income = datasets.read("resident_tax_income", GEN + "20260601")
    heads = a.filter(pl.col("annual_tax") > 0).sort("household_id")["taxpayer_person_id"].head(3)
    changed = income.filter(pl.col("person_id").is_in(heads.implode())).with_columns(
        (pl.col("total_income") + 2_000_000).alias("total_income"), pl.lit("2").alias("change_kind"))
    datasets.write("resident_tax_income", GEN + "20261020", changed)
    assert run_job("FK210", business_date=CHANGE_DATE).rc == 4  # KKB690W: no 収納台帳 in this test city
    gen = GEN + "20261020"
    notices = datasets.read("change_notices", gen).filter(pl.col("issue_notice"))
    assert notices.height >= 3

    r = run_job("FK230", business_date=CHANGE_DATE)

    assert r.rc == 0, r.log_text
    assert r.totals.read == r.totals.accepted == r.totals.written == notices.height
    assert r.totals.money["printed_change"] == r.totals.money["change"] == int(notices["change"].sum())
    dat, pdf_dir = _outputs("change_notice", gen)
    res = fw.read(fw.load_layout("tax_notice_print"), dat)
    data = res.frames["data"].sort("household_id")
    assert set(data["notice_kind"]) == {"2"} and data["household_id"].to_list() == notices["household_id"].to_list()
    assert data["previous_annual_tax"].to_list() == notices["annual_before"].to_list()
    assert data["annual_tax"].to_list() == notices["annual_after"].to_list()
    assert data["revision"].to_list() == [f"{n:03d}" for n in notices["correction_seq"]]
    cfg = config.load("111007", 2026)
    assert set(data["change_reason"]) <= set(cfg.get("notices.change_reasons").values())
    assert res.frames["trailer"]["annual_tax_total"][0] == int(notices["annual_after"].sum())
    assert [p.name for p in notice_steps.pdf_files(pdf_dir, "change_notice")] == ["change_notice_0001.pdf"]
    assert (pdf_dir / "tax_notice_0001.pdf").exists() is False  # the 当初 PDFs are in their own generation
    assert notice_steps.pdf_files(paths.reports_root() / "notices" / (GEN + "20260701"), "tax_notice")


def test_text_problems_name_the_field_and_the_fault():
    frame = pl.DataFrame({
        "household_id": ["0000000001", "0000000002", "0000000003", "0000000004"],
        "addressee_name": ["試験　一郎", "\U00020bb7田　花子", "試験\t三郎", "長" * 21],
        "address": ["埼玉県", "埼玉県", "埼玉県", "埼玉県"],
    })
    got = dict(notice_steps.text_problems(frame).iter_rows())
    assert set(got) == {"0000000002", "0000000003", "0000000004"}
    assert "U+20BB7" in got["0000000002"] and "制御文字" in got["0000000003"] and "42バイト" in got["0000000004"]
    assert all("送付先氏名" in v for v in got.values())


def test_unprintable_households_rules():
    cfg = config.load("111007", 2026)
    assessment = pl.DataFrame({"household_id": ["0000000001", "0000000002", "0000000003", "00000000X4"],
                               "taxpayer_person_id": ["1", "2", "3", "4"], "annual_tax": [1000, 2000, 3000, 0]})
    rows = pl.DataFrame({"household_id": ["0000000001", "0000000002", "0000000003"], "method": ["ordinary"] * 3,
                         "installment_no": [1, 1, 1], "amount": [1000, 1999, 3000]})
    addresses = pl.DataFrame({"person_id": ["1", "2", "3", "4"], "name_kanji": ["甲", "乙", "丙", "丁"],
                              "postal_code": ["3300001", "3300002", "33000", "3300004"],
                              "address_kanji": ["埼玉県", "埼玉県", "埼玉県", "埼玉県"]})
    got = dict(notice_steps.unprintable_households(assessment, rows, addresses, cfg,
                                                   notice_kind=print_data.NOTICE_INITIAL).iter_rows())
    assert set(got) == {"0000000002", "0000000003", "00000000X4"}
    assert "1999円" in got["0000000002"] and "郵便番号" in got["0000000003"] and "数字" in got["00000000X4"]
    # a 変更 notice may carry more than the new tax (the overpayment stays with the paid installments)
    over = rows.with_columns(pl.when(pl.col("household_id") == "0000000002").then(2500).otherwise(pl.col("amount"))
                             .alias("amount"))
    got = dict(notice_steps.unprintable_households(assessment, over, addresses, cfg,
                                                   notice_kind=print_data.NOTICE_CHANGE).iter_rows())
    assert "0000000002" not in got
