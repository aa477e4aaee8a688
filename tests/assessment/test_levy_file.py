"""The 調定 file (layouts/levy_file.yaml): golden files built by plain string concatenation from
the layout's byte table (independently of the codec), read/write round trips, and the records
``levy_file`` builds from installments and corrections.

    python tests/assessment/test_levy_file.py     # rewrites fixtures/levy_file/*.dat (review the diff)

The generic golden tests (tests/common/test_fixedwidth_golden.py) also read these files, compare
the dump with ``*.expected.jsonl`` and check write(read(file)) == file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from jobs.assessment import installments as inst
from jobs.assessment import levy_file
from jobs.common import fixedwidth as fw

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "fixtures" / "levy_file"


def n(v: int, w: int) -> str:
    s = str(v)
    assert s.isdigit() and len(s) <= w, (v, w)
    return s.rjust(w, "0")


def z(v: int, w: int) -> str:
    """Signed zoned decimal, positive as a plain digit, negative overpunched (} J..R) in the last byte."""
    s = n(abs(v), w)
    if v >= 0:
        return s
    return s[:-1] + "}JKLMNOPQR"[int(s[-1])]


def rec(s: str) -> bytes:
    b = s.encode("cp932")
    assert len(b) == 200, (len(b), s)
    return b + b"\r\n"


def header(kind: str, made: str = "20260701") -> bytes:
    return rec("1" + "111007" + made + "2026" + kind + " " * 180)


# notice, taxpayer, household, 期, 徴収方法, 調定区分, 更正順番, 調定日, 納期限, 期別税額, 増減額,
# 医療一般, 医療退職, 支援一般, 支援退職, 介護一般, 介護退職, 子ども, 過誤納, 義務者, 事由
INITIAL = [
    ("10000000001", "0000000011", "0000000001", 1, "1", "1", 0, "20260701", "20260731", 19456, 0,
     12608, 0, 5272, 0, 1576, 0, 0, 0, "   ", "  "),
    ("10000000001", "0000000011", "0000000001", 2, "1", "1", 0, "20260701", "20260831", 13000, 0,
     8424, 0, 3523, 0, 1053, 0, 0, 0, "   ", "  "),
    ("20000000002", "0000000021", "0000000002", 4, "2", "1", 0, "20260701", "20261015", 26256, 0,
     18000, 0, 6756, 0, 0, 0, 1500, 0, "001", "  "),
]
CORRECTION = [
    ("10000000001", "0000000011", "0000000001", 6, "1", "2", 1, "20261020", "20270104", 15000, 5000,
     10000, 0, 5000, 0, 0, 0, 0, 0, "   ", "01"),
    ("10000000003", "0000000031", "0000000003", 9, "1", "2", 2, "20261020", "20270331", 0, -6000,
     0, 0, 0, 0, 0, 0, 0, 0, "   ", "02"),
    ("20000000004", "0000000041", "0000000004", 5, "2", "2", 1, "20261020", "20261215", 10000, 0,
     6500, 0, 3500, 0, 0, 0, 0, 10000, "700", "03"),
]


def data(r) -> bytes:
    (notice, tp, hh, no, method, kind, seq, levy, due, amount, change, med, medr, sup, supr, care, carer, child,
     over, payer, reason) = r
    return rec("2" + "111007" + notice + tp + hh + "2026" + "2026" + n(no, 2) + method + kind + n(seq, 3) + levy + due
               + n(amount, 11) + z(change, 11) + n(med, 10) + n(medr, 10) + n(sup, 10) + n(supr, 10) + n(care, 10)
               + n(carer, 10) + n(child, 10) + n(over, 10) + payer + reason + " " * 24)


def trailer(rows) -> bytes:
    return rec("8" + "111007" + n(len(rows), 9) + n(sum(r[9] for r in rows), 13) + z(sum(r[10] for r in rows), 13)
               + n(sum(r[11] for r in rows), 13) + n(sum(r[13] for r in rows), 13) + n(sum(r[15] for r in rows), 13)
               + n(sum(r[17] for r in rows), 13) + n(sum(r[18] for r in rows), 13)
               + n(sum(r[4] == "1" for r in rows), 9) + n(sum(r[4] == "2" for r in rows), 9) + " " * 75)


def initial_file() -> bytes:
    return header("1") + b"".join(data(r) for r in INITIAL) + trailer(INITIAL)


def correction_file() -> bytes:
    return header("2", "20261020") + b"".join(data(r) for r in CORRECTION) + trailer(CORRECTION)


FILES = {"levy_initial.dat": initial_file, "levy_correction.dat": correction_file}


def test_golden_files_match_their_builder():
    for name, make in FILES.items():
        assert (GOLDEN / name).read_bytes() == make(), name


@pytest.mark.parametrize("name", sorted(FILES))
def test_golden_round_trip(name):
    lay = levy_file.layout()
    raw = (GOLDEN / name).read_bytes()
    res = fw.read(lay, raw)
    assert res.totals["rejected"] == 0 and res.warnings == []
    assert fw.write(lay, res.frames) == raw
    again = fw.read(lay, fw.write(lay, res.frames))
    for rt, df in res.frames.items():
        assert again.frames[rt].equals(df), rt


def test_golden_values():
    res = levy_file.read(GOLDEN / "levy_correction.dat")
    d = res.frames["data"]
    assert d["change"].to_list() == [5000, -6000, 0]
    assert d["collection_method"].to_list() == ["1", "1", "2"]
    assert d["payer_code"].to_list() == [None, None, "700"]
    assert d["due_date"][1] == dt.date(2027, 3, 31)
    t = res.frames["trailer"].row(0, named=True)
    assert t["change_total"] == -1000 and t["overpayment_total"] == 10000 and t["withholding_count"] == 1


def test_trailer_binding_is_checked(tmp_path):
    raw = bytearray((GOLDEN / "levy_initial.dat").read_bytes())
    pos = 202 + 69  # first data record, first byte of 期別税額
    raw[pos:pos + 11] = b"00000019457"
    with pytest.raises(fw.FileRefused):
        fw.read(levy_file.layout(), bytes(raw))


def _rows() -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = pl.DataFrame({
        "fy": [2026, 2026, 2026], "household_id": ["0000000001", "0000000001", "0000000002"],
        "installment_no": [1, 2, 4], "method": ["ordinary", "ordinary", "withholding"], "month": [7, 8, 10],
        "due_date": [dt.date(2026, 7, 31), dt.date(2026, 8, 31), dt.date(2026, 10, 15)],
        "amount": [19456, 13000, 26256], "medical_amount": [12608, 8424, 18000],
        "elderly_support_amount": [5272, 3523, 6756], "long_term_care_amount": [1576, 1053, 0],
        "child_support_amount": [0, 0, 1500],
    }, schema_overrides={"fy": pl.Int32, "installment_no": pl.Int32, "month": pl.Int32})
    assessment = pl.DataFrame({"household_id": ["0000000001", "0000000002"],
                               "taxpayer_person_id": ["0000000011", "0000000021"]})
    return rows, assessment


def test_initial_records_write_the_golden_file():
    rows, assessment = _rows()
    payers = pl.DataFrame({"household_id": ["0000000001", "0000000002"], "payer_code": ["501", "001"]})
    recs = levy_file.initial_records(rows, assessment, municipality="111007", levy_date=dt.date(2026, 7, 1),
                                     payers=payers)
    assert recs["payer_code"].to_list() == [None, None, "001"]  # only 特別徴収 carries the payer
    head = levy_file.header(municipality="111007", creation_date=dt.date(2026, 7, 1), levy_year=2026,
                            file_kind=levy_file.FILE_INITIAL)
    out = fw.write(levy_file.layout(), {"header": [head], "data": recs})
    assert out == initial_file()


def test_write_streams_and_reports_figures(tmp_path):
    rows, assessment = _rows()
    recs = levy_file.initial_records(rows, assessment, municipality="111007", levy_date=dt.date(2026, 7, 1))
    head = levy_file.header(municipality="111007", creation_date=dt.date(2026, 7, 1), levy_year=2026,
                            file_kind=levy_file.FILE_INITIAL)
    figs = levy_file.write(tmp_path / "x.dat", recs, head)
    assert figs["count"] == 3 and figs["amount"] == 19456 + 13000 + 26256
    res = levy_file.read(tmp_path / "x.dat")
    assert res.frames["trailer"]["amount_total"][0] == figs["amount"]


def test_zero_installments_are_not_levied():
    rows, assessment = _rows()
    rows = rows.with_columns(pl.when(pl.col("installment_no") == 2).then(0).otherwise(pl.col("amount")).alias("amount"))
    recs = levy_file.initial_records(rows, assessment, municipality="111007", levy_date=dt.date(2026, 7, 1))
    assert recs["installment_no"].to_list() == [1, 4]


def test_correction_records():
    corrections = pl.DataFrame({
        "fy": [2026, 2026], "household_id": ["0000000001", "0000000001"], "installment_no": [5, 6],
        "method": ["ordinary", "ordinary"], "month": [11, 12], "due_date": [dt.date(2026, 11, 30), dt.date(2027, 1, 4)],
        "amount_before": [10000, 10000], "amount_after": [10000, 15000], "change": [0, 5000], "paid": [0, 0],
        "overpayment": [0, 0], "is_open": [True, True], "changed": [False, True],
    }, schema_overrides={"fy": pl.Int32, "installment_no": pl.Int32, "month": pl.Int32})
    after = corrections.select(*inst.KEY, pl.col("amount_after").alias("amount"),
                               (pl.col("amount_after") * 2 // 3).alias("medical_amount"),
                               (pl.col("amount_after") - pl.col("amount_after") * 2 // 3).alias("elderly_support_amount"))
    notices = pl.DataFrame({"household_id": ["0000000001"], "taxpayer_person_id": ["0000000011"],
                            "correction_seq": [1], "reason": ["所得異動"]})
    recs = levy_file.correction_records(corrections, after, notices, municipality="111007",
                                        levy_date=dt.date(2026, 10, 20))
    assert recs.height == 1
    r = recs.row(0, named=True)
    assert (r["installment_no"], r["amount"], r["change"], r["levy_kind"], r["correction_reason"]) == (6, 15000, 5000, "2", "01")
    assert r["medical_general"] + r["support_general"] == 15000 and r["notice_number"] == "10000000001"


if __name__ == "__main__":
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, make in FILES.items():
        (GOLDEN / name).write_bytes(make())
        print(f"wrote fixtures/levy_file/{name}")
