"""The generic intake on a fake layout with a lead-in and several groups (tests/intake/layouts/)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import MappingProxyType

import pytest
from intake_builders import drop

from jobs.common import datasets
from jobs.common.step import run_step
from jobs.intake import intake_step
from jobs.registry import JobSpec

LAYOUT = Path(__file__).parent / "layouts" / "fake_withholding.yaml"
GEN = "m111007_fy2026_d20260615"
DATASETS = {"lead_in": "fake_lead_in", "header": "fake_header", "data": "fake", "trailer": "fake_trailer"}
SPEC = JobSpec(
    job_id="ZZ030", name_ja="テスト特徴取込", func=intake_step, inbox="fake", layout=str(LAYOUT),
    pattern="Z99*.dta", outputs=tuple(DATASETS.values()), datasets=MappingProxyType(DATASETS),
)


def rec(text: str) -> bytes:
    assert len(text) <= 40
    return text.ljust(40).encode("ascii")


def group(payer: str, amounts: list[int], first_person: int = 1) -> bytes:
    data = b"".join(rec(f"2{first_person + i:010d}{a:09d}") for i, a in enumerate(amounts))
    return rec(f"1{payer}") + data + rec(f"3{len(amounts):06d}")


def fake_file(code5: str = "11100") -> bytes:
    return f"{code5}00120260601".encode() + group("501", [100, 200]) + group("999", [300], first_person=10)


def run(**options):
    return run_step(SPEC, business_date=dt.date(2026, 6, 15), **options)


def test_lead_in_and_groups(kokuho_var):
    drop("fake", "Z99_0001.dta", fake_file())
    drop("fake", "README.txt", b"not matching the pattern")
    r = run()
    assert r.rc == 0, r.log_text
    lead = datasets.read("fake_lead_in", GEN)
    assert lead.select("municipality_code", "media_no", "created").row(0) == ("11100", "001", dt.date(2026, 6, 1))
    assert datasets.read("fake_header", GEN)["payer_code"].to_list() == ["501", "999"]
    data = datasets.read("fake", GEN)
    assert data["amount"].to_list() == [100, 200, 300]
    assert data["person_id"].to_list() == ["0000000001", "0000000002", "0000000010"]
    t = r.totals
    assert t.by_record_type["lead_in"].read == 1 and t.by_record_type["trailer"].read == 2
    assert (t.read, t.accepted, t.rejected) == (8, 8, 0)
    assert t.money == {"data.amount": 600} and t.money_labels["data.amount"] == "特徴税額"


def test_file_name_pattern_is_case_insensitive(kokuho_var):
    drop("fake", "z99_0001.DTA", fake_file())
    assert run().rc == 0


def test_lead_in_of_another_municipality_is_refused(kokuho_var):
    drop("fake", "Z99_0001.dta", fake_file("13101"))
    r = run()
    assert r.rc == 8 and "KKB108E" in r.log_text and "管理レコード" in r.log_text and "(実行団体 11100)" in r.log_text


def test_registry_and_layout_must_agree(kokuho_var):
    spec = JobSpec(job_id="ZZ031", name_ja="不整合", func=intake_step, inbox="fake", layout=str(LAYOUT),
                   datasets=MappingProxyType({"data": "fake"}))
    drop("fake", "Z99_0001.dta", fake_file())
    from jobs.common.step import StepAbend

    with pytest.raises(StepAbend, match="missing record types"):
        run_step(spec, business_date=dt.date(2026, 6, 15))
