"""TK110 年金特徴ファイル受信: a corpus of malformed insurer files, each one mutation of a valid
simulator file (pension_corpus_helpers.valid_z24). Every one must be refused: RC 8, a message
and an error-list row naming the file, the record and the field, the file left in the inbox,
nothing written to the tokucho_* datasets."""

from __future__ import annotations

import polars as pl
import pytest
from pension_corpus_helpers import Z24_DATE, Z24_NAME, join, put, split, valid_z24

from jobs.common import datasets, errorlist, paths
from jobs.registry import TOKUCHO_DATASETS
from jobs.runner import run_job


def _amount(v: int) -> bytes:
    return str(v).rjust(11, "0").encode()


def _num(recs, i: int, start: int, length: int) -> int:
    return int(bytes(recs[i][start - 1:start - 1 + length]))


def mutate(kind: str, data: bytes) -> tuple[bytes, int, str]:
    """(mutated file, record number expected in the refusal, field expected); 0 = the lead-in."""
    lead, recs = split(data)
    if kind == "lead_count_plus_one":
        put(lead, 49, str(len(recs) + 1).rjust(6, "0").encode())
        return join(lead, recs), 0, "record_count"
    if kind == "trailer_count_off_by_one":
        put(recs[4], 22, str(_num(recs, 4, 22, 9) - 1).rjust(9, "0").encode())
        return join(lead, recs), 5, "total_count"
    if kind.startswith("trailer_amount"):
        j = int(kind[-1])
        start = 31 + 11 * (j - 1)
        put(recs[4], start, _amount(_num(recs, 4, start, 11) + 1))
        return join(lead, recs), 5, f"total_amount{j}"
    if kind == "header_municipality":
        put(recs[0], 2, b"13101")
        return join(lead, recs), 1, "municipality_code"
    if kind == "data_municipality":
        put(recs[2], 2, b"13101")
        return join(lead, recs), 3, "municipality_code"
    if kind == "lead_municipality":
        put(lead, 1, b"13101")
        return join(lead, recs), 0, "municipality_code"
    if kind == "unknown_notice_code":
        for r in recs:
            put(r, 10, b"99")
        return join(lead, recs), 1, "notice_code"
    if kind == "mixed_notice_in_group":
        put(recs[2], 10, b"02")
        return join(lead, recs), 3, "notice_code"
    if kind == "mixed_notice_second_group":
        second = [bytearray(r) for r in recs[:2]] + [bytearray(recs[4])]
        for r in second:
            put(r, 7, b"501")
            put(r, 10, b"32")
        put(second[2], 22, b"000000001")
        return _with_count(lead, recs + second), 6, "notice_code"
    if kind == "record_one_byte_long":
        recs[2] = recs[2][:200] + b" " + recs[2][200:]
        return join(lead, recs), 6, "record_kind"      # the codec sees the last record 1 byte long
    if kind == "short_last_record":
        return join(lead, recs)[:-1], 5, "record_kind"
    if kind == "garbage_in_kana_name":
        put(recs[1], 48, b"\xff\xfe\x80")
        return join(lead, recs), 2, "name_kana"
    if kind == "amount_not_numeric":
        put(recs[2], 395, b"0000012A300")
        return join(lead, recs), 3, "amount1"
    if kind == "created_month_13":
        put(recs[0], 14, b"20261310")
        return join(lead, recs), 1, "created_on"
    if kind == "notice_in_wrong_month":  # a 22 dated in an even month (pension_files.notices: 22 odd months)
        put(recs[0], 14, b"20261210")
        return join(lead, recs), 1, "notice_code"
    if kind == "event_month_13":
        put(recs[1], 387, b"20261315")
        return join(lead, recs), 2, "event_date"
    if kind == "header_after_data":
        recs[0], recs[1] = recs[1], recs[0]
        return join(lead, recs), 1, "record_kind"
    if kind == "missing_trailer":
        return _with_count(lead, recs[:-1]), 4, "record_kind"
    if kind == "two_trailers":
        return _with_count(lead, recs + [bytearray(recs[4])]), 6, "record_kind"
    if kind == "duplicate_record":   # the same person twice, the trailer made to agree
        recs.insert(3, bytearray(recs[2]))
        put(recs[5], 22, str(_num(recs, 5, 22, 9) + 1).rjust(9, "0").encode())
        put(recs[5], 31, _amount(_num(recs, 5, 31, 11) + _num(recs, 3, 395, 11)))
        return _with_count(lead, recs), 4, "basic_pension_number"
    if kind == "record_kind_unknown":
        put(recs[2], 1, b"9")
        return join(lead, recs), 3, "record_kind"
    if kind == "category_unknown":
        put(recs[1], 382, b"99")
        return join(lead, recs), 2, "category"
    if kind == "empty_file":
        return b"", 0, "record_count"
    if kind == "lead_in_only":
        return _with_count(lead, []), 0, "record_count"
    raise AssertionError(kind)


def _with_count(lead: bytearray, recs) -> bytes:
    lead = bytearray(lead)
    put(lead, 49, str(len(recs)).rjust(6, "0").encode())
    return join(lead, recs)


CASES = ["lead_count_plus_one", "trailer_count_off_by_one", "trailer_amount1", "trailer_amount2", "trailer_amount3",
         "header_municipality", "data_municipality", "lead_municipality", "unknown_notice_code",
         "mixed_notice_in_group", "mixed_notice_second_group", "record_one_byte_long", "short_last_record",
         "garbage_in_kana_name", "amount_not_numeric", "created_month_13", "notice_in_wrong_month", "event_month_13",
         "header_after_data", "missing_trailer", "two_trailers", "duplicate_record", "record_kind_unknown", "category_unknown",
         "empty_file", "lead_in_only"]


def _no_tokucho_output():
    return {ds: datasets.generations(ds) for ds in TOKUCHO_DATASETS.values() if datasets.generations(ds)}


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> bytes:
    return valid_z24(tmp_path_factory.mktemp("z24"))


def test_valid_simulator_file_is_taken_in(valid):
    p = paths.ensure_dir(paths.inbox("nenkin")) / Z24_NAME
    p.write_bytes(valid)
    r = run_job("TK110", business_date=Z24_DATE)
    assert r.rc == 0, r.log_text
    assert r.totals.by_record_type["data"].accepted == 3


@pytest.mark.parametrize("kind", CASES)
def test_malformed_file_is_refused(valid, kind):
    data, record_no, field = mutate(kind, valid)
    assert data != valid
    p = paths.ensure_dir(paths.inbox("nenkin")) / Z24_NAME
    p.write_bytes(data)
    r = run_job("TK110", business_date=Z24_DATE)
    assert r.rc == 8 and not r.committed, r.log_text
    refusals = [m.text for m in r.messages if m.msg_id == "KKB503W"]
    assert len(refusals) == 1, r.log_text
    text = refusals[0]
    assert Z24_NAME in text
    assert f"レコード {record_no} / 項目 " in text and f"({field}):" in text, text
    assert any(m.msg_id == "KKB504E" for m in r.messages)
    assert p.read_bytes() == data                       # stays in the inbox, untouched
    assert _no_tokucho_output() == {}


def test_identical_resend_is_refused(valid):
    """The same bytes again under another name, a day later: KKB107E (RC 8), nothing written again."""
    inbox = paths.ensure_dir(paths.inbox("nenkin"))
    (inbox / Z24_NAME).write_bytes(valid)
    first = run_job("TK110", business_date=Z24_DATE)
    assert first.rc == 0, first.log_text
    assert not (inbox / Z24_NAME).exists()                 # archived
    before = _no_tokucho_output()
    again = inbox / "Z24_22_20261110_resend.dta"
    again.write_bytes(valid)
    r = run_job("TK110", business_date="2026-11-11")
    assert r.rc == 8 and not r.committed, r.log_text
    (msg,) = [m.text for m in r.messages if m.msg_id == "KKB107E"]
    assert again.name in msg and Z24_NAME in msg and "TK110" in msg
    assert again.read_bytes() == valid
    assert _no_tokucho_output() == before == {"tokucho_result": ["m111007_fy2026_d20261110"]}


def test_refused_file_beside_a_good_one(valid):
    """One malformed file among good ones: the good one is taken in (RC 4), the bad one stays in
    the inbox with an error-list row naming file, record and field, and none of its records is
    in the dataset."""
    inbox = paths.ensure_dir(paths.inbox("nenkin"))
    bad_name = "Z24_22_20261110_2.dta"
    bad, record_no, field = mutate("amount_not_numeric", valid)
    (inbox / Z24_NAME).write_bytes(valid)
    (inbox / bad_name).write_bytes(bad)
    r = run_job("TK110", business_date=Z24_DATE)
    assert r.rc == 4 and r.committed, r.log_text
    assert r.totals.by_record_type["file"].read == 2 and r.totals.by_record_type["file"].rejected == 1
    rows = errorlist.read(r.error_list)
    assert rows.height == 1
    row = rows.row(0, named=True)
    assert (row["ファイル名"], int(row["レコード番号"]), row["項目"]) == (bad_name, record_no, field), row
    res = datasets.read("tokucho_result", "m111007_fy2026_d20261110")
    assert set(res["source_file"]) == {Z24_NAME}
    assert res.filter(pl.col("record_kind") == "2").height == 3  # its data records (+ its trailer, kept for KB520)
    assert sorted(p.name for p in inbox.glob("*.dta")) == [bad_name]
