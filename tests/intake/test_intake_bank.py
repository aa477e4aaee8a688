"""SN110 口座振替結果取込 through the real codec and layout (layouts/zengin_91_result.yaml)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from intake_builders import build, drop

from jobs.common import crypto, datasets, errorlist, paths
from jobs.common import fixedwidth as fw
from jobs.runner import run_job

LAYOUT = fw.load_layout("zengin_91_result")
DATE = dt.date(2026, 6, 29)
GEN = "m111007_fy2026_d20260629"
STRIDE = 122  # 120 bytes + CRLF


def bank_file(n: int = 5, base: int = 1000) -> bytes:
    return build(LAYOUT, [
        dict(amount=base * i, result_code="0" if i % 2 else "1", account_number=f"{i:07d}",
             customer_number=f"{i:020d}")
        for i in range(1, n + 1)
    ])


def patch(data: bytes, record_no: int, pos: int, value: bytes) -> bytes:
    b = bytearray(data)
    off = (record_no - 1) * STRIDE + pos - 1
    b[off:off + len(value)] = value
    return bytes(b)


def run(**options):
    return run_job("SN110", business_date=DATE, **options)


def test_good_file(kokuho_var):
    src = drop("bank", "KFR0629.txt", bank_file())
    r = run()
    assert r.rc == 0, r.log_text
    data = datasets.read("zengin_91_result", GEN)
    assert data.columns[:3] == ["source_file", "source_sha256", "record_no"]
    assert data["amount"].to_list() == [1000, 2000, 3000, 4000, 5000]
    assert data["record_no"].to_list() == [2, 3, 4, 5, 6]
    assert set(data["source_file"]) == {"KFR0629.txt"}
    assert datasets.read("zengin_91_result_trailer", GEN)["total_amount"].to_list() == [15000]
    t = r.totals
    assert (t.read, t.accepted, t.rejected, t.written) == (8, 8, 0, 8)
    assert t.money == {"data.amount": 15000}
    assert {k: v.read for k, v in t.by_record_type.items()} == {"header": 1, "data": 5, "trailer": 1, "end": 1}
    assert "KKB060I 金額 引落金額(data.amount) 15,000円" in r.log_text
    # archived and gone from the inbox
    sha = data["source_sha256"][0]
    archived = paths.archive("bank") / f"{sha}_KFR0629.txt"
    assert crypto.is_encrypted(archived)  # encrypted at rest
    assert crypto.decrypt_bytes(archived) == bank_file() and not src.exists()
    side = json.loads((paths.archive("bank") / f"{sha}_KFR0629.txt.json").read_text(encoding="utf-8"))
    assert (side["job_id"], side["generation"], side["sha256"]) == ("SN110", GEN, sha)
    assert errorlist.read(r.error_list).height == 0  # an empty list replaces any earlier one


def test_rerun_from_archive_is_byte_identical(kokuho_var):
    drop("bank", "KFR0629.txt", bank_file())
    assert run().rc == 0
    folder = paths.datasets_root() / "zengin_91_result" / GEN
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    r = run()  # inbox is empty now: the run re-reads the archived input of its generation
    assert r.rc == 0 and "KKB102I" in r.log_text
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_rejected_records_go_to_the_error_list(kokuho_var):
    data = patch(bank_file(), 3, 112, b"7")   # 振替結果コード 7 is not allowed
    data = patch(data, 5, 44, b"12A4567")      # 口座番号 not digits
    drop("bank", "KFR0629.txt", data)
    r = run()
    assert r.rc == 4, r.log_text
    assert (r.totals.read, r.totals.accepted, r.totals.rejected) == (8, 6, 2)
    assert r.totals.by_record_type["data"].rejected == 2
    assert r.totals.money == {"data.amount": 1000 + 3000 + 5000}
    assert datasets.read("zengin_91_result", GEN)["record_no"].to_list() == [2, 4, 6]
    rows = errorlist.read(r.error_list).to_dicts()
    assert [(x["レコード番号"], x["バイト位置"], x["項目"], x["項目名"], x["レコード種別"]) for x in rows] == [
        ("3", str(2 * STRIDE), "result_code", "振替結果コード", "2 データ・レコード"),
        ("5", str(4 * STRIDE), "account_number", "口座番号", "2 データ・レコード"),
    ]
    assert all(x["ファイル名"] == "KFR0629.txt" and x["理由"] for x in rows)
    assert bytes.fromhex(rows[0]["生データ(16進)"]) == data[2 * STRIDE:2 * STRIDE + 120]
    assert "KKB120W エラーレコード 2件" in r.log_text and "COND CODE 0004" in r.log_text


def test_refused_file_commits_nothing(kokuho_var):
    src = drop("bank", "KFR0629.txt", bank_file()[:-5])  # truncated end record
    r = run()
    assert r.rc == 8 and not r.committed
    assert "KKB104E ファイル受付不可" in r.log_text and "KFR0629.txt" in r.log_text
    assert datasets.datasets() == []
    assert not errorlist.path("SN110", GEN).exists()
    assert src.exists() and not paths.archive("bank").exists()  # fix the file and rerun


def test_wrong_trailer_total_is_refused(kokuho_var):
    data = patch(bank_file(), 7, 8, b"000000099999")  # 合計金額
    drop("bank", "KFR0629.txt", data)
    r = run()
    assert r.rc == 8 and "合計" in r.log_text


def test_no_file(kokuho_var):
    r = run()
    assert r.rc == 8 and "KKB103E 入力ファイルがありません: var/inbox/bank/" in r.log_text


def test_partial_and_hidden_files_are_ignored(kokuho_var):
    drop("bank", ".KFR0629.txt", bank_file())
    drop("bank", "KFR0629.txt.part", bank_file())
    assert run().rc == 8


def test_several_files_in_one_run(kokuho_var):
    drop("bank", "B0001.txt", bank_file(3))
    drop("bank", "B0002.txt", bank_file(2, base=7))
    r = run()
    assert r.rc == 0
    data = datasets.read("zengin_91_result", GEN)
    assert data["source_file"].to_list() == ["B0001.txt"] * 3 + ["B0002.txt"] * 2
    assert r.totals.money == {"data.amount": 6000 + 21}
    assert r.totals.read == 11 and r.totals.by_record_type["header"].read == 2  # 2 × (H, T, E) + 5 data
    assert datasets.read_totals("zengin_91_result", GEN)["inputs"][1]["name"] == "B0002.txt"


def test_given_file_is_copied_not_moved(kokuho_var, tmp_path):
    src = tmp_path / "outside.txt"
    src.write_bytes(bank_file())
    r = run(files=[str(src)])
    assert r.rc == 0 and src.exists()
    assert "(指定)" in r.log_text


def test_same_content_twice_is_refused_unless_forced(kokuho_var):
    drop("bank", "KFR0629.txt", bank_file())
    assert run().rc == 0
    drop("bank", "KFR0630.txt", bank_file())
    r = run_job("SN110", business_date="2026-06-30")
    assert r.rc == 8 and "KKB107E 同じ内容のファイルは取込済みです" in r.log_text
    r = run_job("SN110", business_date="2026-06-30", force=True)
    assert r.rc == 4 and "KKB107W" in r.log_text


def test_datasets_match_the_codec_frames(kokuho_var):
    """What the intake writes is the codec's frame plus the source columns, nothing lost."""
    data = bank_file()
    drop("bank", "KFR0629.txt", data)
    run()
    res = fw.read(LAYOUT, data, source="KFR0629.txt")
    for rt in ("header", "data", "trailer", "end"):
        name = "zengin_91_result" if rt == "data" else f"zengin_91_result_{rt}"
        got = datasets.read(name, GEN).drop("source_file", "source_sha256")
        assert got.equals(res.frames[rt]), rt


@pytest.mark.parametrize("job_id", ["SN110"])
def test_cli_run_exit_code_is_the_rc(kokuho_var, capsys, job_id):
    from jobs.cli import main

    assert main(["run", job_id, "--date", "2026-06-29"]) == 8
    drop("bank", "KFR0629.txt", patch(bank_file(), 3, 112, b"7"))
    assert main(["run", job_id, "--date", "2026-06-29"]) == 4
    out = capsys.readouterr().out
    assert "IEF142I KOKUHO SN110 - STEP WAS EXECUTED - COND CODE 0004" in out
    assert main(["errors", job_id]) == 0
    out = capsys.readouterr().out
    assert "エラーリスト var/errors/SN110/m111007_fy2026_d20260629.csv 1件" in out
    assert "振替結果コード" in out
    assert main(["datasets", "zengin_91_result"]) == 0
    assert "m111007_fy2026_d20260629  4件" in capsys.readouterr().out
    _ = pl  # polars is used by the helpers
