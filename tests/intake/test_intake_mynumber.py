"""FK020 資格 / FK010 住民税: the 個人番号 is validated, mapped to person_key, and never stored."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from intake_builders import bad_my_number, build, drop, my_number

from jobs.common import datasets, errorlist, paths
from jobs.common import fixedwidth as fw
from jobs.intake import keys
from jobs.runner import run_job

QUAL = fw.load_layout("nhi_qualification")
INCOME = fw.load_layout("resident_tax_income")
DATE = dt.date(2026, 6, 15)
GEN = "m111007_fy2026_d20260615"

N1, N2, N3 = my_number("12345678901"), my_number("98320567321"), my_number("55544433322")
BAD = bad_my_number("11122233344")
ALL_NUMBERS = [N1, N2, N3, BAD]


def qual_row(person: str, number: str | None, household: str = "0000000100") -> dict:
    return dict(municipality_code="111007", person_id=person, my_number=number, household_id=household)


def qualification_file(rows: list[dict]) -> bytes:
    return build(QUAL, rows, header=[dict(municipality_code="111007", fiscal_year="2026")],
                 trailer=[dict(municipality_code="111007")])


def income_file(rows: list[tuple[str, str | None, int]]) -> bytes:
    data = [dict(municipality_code="111007", person_id=p, my_number=n, fiscal_year="2026", total_income=inc)
            for p, n, inc in rows]
    return build(INCOME, data, header=[dict(municipality_code="111007", fiscal_year="2026")],
                 trailer=[dict(municipality_code="111007")])


def assert_no_my_number_anywhere(var_dir, log: str = ""):
    for n in ALL_NUMBERS:
        assert n not in log
    for p in var_dir.rglob("*"):
        if p.is_file() and "inbox" not in p.parts:  # the archive too: it is encrypted
            data = p.read_bytes()
            for n in ALL_NUMBERS:
                assert n.encode() not in data, p


def run_fk020(date=DATE):
    return run_job("FK020", business_date=date)


def load_persons():
    drop("shikaku", "SHIKAKU_20260615.dat", qualification_file([
        qual_row("0000000001", N1), qual_row("0000000002", N2), qual_row("0000000003", BAD),
        qual_row("0000000004", None),  # no 個人番号 (blank is allowed)
    ]))
    return run_fk020()


def test_fk020_registers_person_keys_and_rejects_bad_check_digits(kokuho_var):
    r = load_persons()
    assert r.rc == 4, r.log_text
    assert (r.totals.read, r.totals.accepted, r.totals.rejected) == (6, 5, 1)
    qual = datasets.read("nhi_qualification", GEN)
    assert qual["person_id"].to_list() == ["0000000001", "0000000002", "0000000004"]
    assert "my_number" not in qual.columns and "my_number_hmac" not in qual.columns
    pk = datasets.read("person_key", GEN)
    assert pk.columns == ["person_id", "my_number_hmac"]
    assert pk["person_id"].to_list() == ["0000000001", "0000000002"]
    assert all(len(h) == 64 for h in pk["my_number_hmac"])
    assert datasets.read_totals("person_key", GEN)["key_id"] == keys.key_id(keys.mynumber_key())
    rows = errorlist.read(r.error_list).to_dicts()
    assert len(rows) == 1 and rows[0]["項目"] == "my_number" and rows[0]["項目名"] == "個人番号"
    assert "検査数字" in rows[0]["理由"] and rows[0]["レコード番号"] == "4"
    raw = bytes.fromhex(rows[0]["生データ(16進)"])
    assert raw[17:29] == b"*" * 12 and raw[7:17] == b"0000000003"  # masked; 宛名番号 kept
    assert "KKB135I person_key 更新: 今回 2人, 累計 2人" in r.log_text
    assert_no_my_number_anywhere(kokuho_var, r.log_text)


def test_secret_key_file_is_created_private(kokuho_var):
    load_persons()
    key_file = paths.secrets_root() / "mynumber.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert len(keys.mynumber_key()) == 32


def test_fk010_needs_person_key_first(kokuho_var):
    drop("juminzei", "SHOTOKU.dat", income_file([("0000000001", N1, 100)]))
    r = run_job("FK010", business_date=DATE)
    assert r.rc == 8 and "KKB131E" in r.log_text and "FK020" in r.log_text


def test_fk010_verifies_against_person_key(kokuho_var):
    load_persons()
    drop("juminzei", "SHOTOKU.dat", income_file([
        ("0000000001", N1, 1_000_000),   # matches
        ("0000000002", N3, 2_000_000),   # a valid number, but not this person's
        ("0000000009", N3, 3_000_000),   # not an NHI person: nothing to compare, accepted
        ("0000000004", None, 4_000_000),  # no number
        ("0000000003", BAD, 5_000_000),  # bad check digit
    ]))
    r = run_job("FK010", business_date=DATE)
    assert r.rc == 4, r.log_text
    income = datasets.read("resident_tax_income", GEN)
    assert income["person_id"].to_list() == ["0000000001", "0000000009", "0000000004"]
    assert "my_number" not in income.columns
    assert r.totals.money["data.total_income"] == 8_000_000
    assert (r.totals.by_record_type["data"].read, r.totals.by_record_type["data"].rejected) == (5, 2)
    reasons = {x["レコード番号"]: x["理由"] for x in errorlist.read(r.error_list).to_dicts()}
    assert "一致しません" in reasons["3"] and "検査数字" in reasons["6"]
    assert "KKB134I 個人番号照合: 一致 1件, person_key に宛名番号なし 1件" in r.log_text
    assert_no_my_number_anywhere(kokuho_var, r.log_text)


def test_changed_key_is_detected_not_mass_rejected(kokuho_var, monkeypatch):
    load_persons()
    monkeypatch.setenv("KOKUHO_MYNUMBER_KEY", "ab" * 32)
    drop("juminzei", "SHOTOKU.dat", income_file([("0000000001", N1, 100)]))
    r = run_job("FK010", business_date=DATE)
    assert r.rc == 12 and "KKB132S" in r.log_text
    assert "abab" not in r.log_text


def test_person_key_is_cumulative_and_rerun_safe(kokuho_var):
    load_persons()
    day2 = dt.date(2026, 6, 16)
    drop("shikaku", "SHIKAKU_20260616.dat", qualification_file([
        qual_row("0000000001", N3),   # number corrected
        qual_row("0000000005", N1),
    ]))
    r = run_fk020(day2)
    assert r.rc == 0, r.log_text
    gen2 = "m111007_fy2026_d20260616"
    pk = datasets.read("person_key", gen2)
    assert pk["person_id"].to_list() == ["0000000001", "0000000002", "0000000005"]
    assert datasets.read_totals("person_key", gen2)["base_generation"] == GEN
    first = datasets.read("person_key", GEN)
    assert pk.filter(person_id="0000000002").equals(first.filter(person_id="0000000002"))
    assert pk.filter(person_id="0000000001")["my_number_hmac"][0] != first.filter(person_id="0000000001")["my_number_hmac"][0]
    before = (paths.datasets_root() / "person_key" / gen2 / "part-0.parquet").read_bytes()
    assert run_fk020(day2).rc == 0  # rerun from the archive: same result, not merged twice
    assert (paths.datasets_root() / "person_key" / gen2 / "part-0.parquet").read_bytes() == before


def test_other_municipality_file_is_refused(kokuho_var):
    data = build(QUAL, [qual_row("0000000001", N1)], header=[dict(municipality_code="131016")],
                 trailer=[dict(municipality_code="131016")])
    drop("shikaku", "SHIKAKU.dat", data)
    r = run_fk020()
    assert r.rc == 8 and "KKB108E 他団体のファイルです" in r.log_text and "131016" in r.log_text
    assert datasets.datasets() == []


@pytest.mark.parametrize("value, ok", [("ab" * 32, True), ("short", False), ("a-long-pass-phrase-key", True)])
def test_key_from_environment(monkeypatch, value, ok):
    monkeypatch.setenv("KOKUHO_MYNUMBER_KEY", value)
    if ok:
        assert len(keys.mynumber_key()) >= 16
    else:
        with pytest.raises(keys.SecretKeyError):
            keys.mynumber_key()
    assert not (paths.secrets_root() / "mynumber.key").exists()
    _ = os


def test_archive_of_files_with_my_number_is_private(kokuho_var):
    load_persons()
    (archived,) = [p for p in paths.archive("shikaku").iterdir() if not p.name.endswith(".json")]
    assert stat.S_IMODE(archived.stat().st_mode) == 0o600
    assert stat.S_IMODE(archived.parent.stat().st_mode) == 0o700
