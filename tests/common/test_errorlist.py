"""Error lists: Excel-friendly CSV (BOM, CRLF, Japanese columns, raw bytes as hex), atomic."""

from __future__ import annotations

import polars as pl
import pytest

from jobs.common import errorlist, paths

GEN = "m111007_fy2026_d20260615"


def rejects() -> pl.DataFrame:
    return pl.DataFrame({
        "file_name": ["KFR0627.txt", "KFR0627.txt"],
        "record_no": [3, 7],
        "byte_offset": [244, 732],
        "record_type": ["2 データ・レコード", "2 データ・レコード"],
        "field": ["result_code", "amount"],
        "field_label": ["振替結果コード", None],
        "reason": ["値が規定外 / value not allowed", "数字以外 / not numeric"],
        "raw": [b"2\x00\xff", b"2,1"],
    })


def test_csv_is_bom_utf8_crlf_with_japanese_columns():
    path = errorlist.write("SN110", GEN, rejects())
    assert path == paths.errors("SN110") / f"{GEN}.csv"
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == "ファイル名,レコード番号,バイト位置,レコード種別,項目,項目名,理由,生データ(16進)"
    assert lines[1] == "KFR0627.txt,3,244,2 データ・レコード,result_code,振替結果コード,値が規定外 / value not allowed,3200ff"
    assert lines[2].endswith(",322c31")  # raw bytes are hex, so a comma in the record is harmless
    assert lines[3] == ""  # trailing CRLF
    assert "\n" not in text.replace("\r\n", "")


def test_read_back_and_latest():
    errorlist.write("SN110", GEN, rejects())
    errorlist.write("SN110", "m111007_fy2026_d20260616", errorlist.empty())
    latest = errorlist.latest("SN110")
    assert latest.name == "m111007_fy2026_d20260616.csv"
    assert errorlist.read(latest).height == 0
    back = errorlist.read(errorlist.path("SN110", GEN))
    assert back.columns == list(errorlist.LABELS.values())
    assert back["レコード番号"].to_list() == ["3", "7"]
    assert errorlist.latest("SN110", municipality="131016") is None
    assert errorlist.latest("FK999") is None


def test_normalize_and_labels():
    partial = pl.DataFrame({"record_no": [1], "record_type": ["data"], "field": ["amount"], "reason": ["x"]})
    out = errorlist.add_labels(errorlist.normalize(partial, file_name="a.dat"),
                               {("data", "amount"): "引落金額"})
    assert out.schema == pl.Schema(errorlist.SCHEMA)
    assert out.row(0, named=True) | {"raw": None} == {
        "file_name": "a.dat", "record_no": 1, "byte_offset": None, "record_type": "data", "field": "amount",
        "field_label": "引落金額", "reason": "x", "raw": None,
    }


def test_staged_list_is_invisible_until_commit():
    errorlist.write("SN110", GEN, errorlist.empty())
    staged = errorlist.stage("SN110", GEN, rejects())
    assert errorlist.read(errorlist.path("SN110", GEN)).height == 0
    assert errorlist.generations("SN110") == [GEN]  # the temp file is hidden
    staged.discard()
    assert not staged.tmp_path.exists()
    errorlist.stage("SN110", GEN, rejects()).commit()
    assert errorlist.read(errorlist.path("SN110", GEN)).height == 2
    with pytest.raises(RuntimeError):
        staged.commit()
