"""TK110 年金特徴ファイル受信 (KB500): routing by 通知内容コード, the checks, refused files stay."""

from __future__ import annotations

import datetime as dt

import polars as pl

from jobs.common import datasets, errorlist, paths
from jobs.common import fixedwidth as fw
from jobs.runner import run_job

CITY5 = "11100"
RESULT_COLUMNS_HEAD = ["source_file", "source_sha256", "record_no", "record_kind", "municipality_code", "payer_code",
                       "notice_code"]


def tokucho_file(layout_id: str, notice: str, created: dt.date, rows: list[dict], *, muni=CITY5) -> bytes:
    layout = fw.load_layout(layout_id)
    base = {"record_kind": "2", "municipality_code": muni, "payer_code": "001", "notice_code": notice,
            "scheme_code": "1", "created_on": created, "basic_pension_number": "1234567890",
            "pension_code": "1150", "birth_date": dt.date(1955, 3, 3), "sex": "1", "name_kana": "ﾔﾏﾀﾞ ﾀﾛｳ",
            "name_kanji": None, "postal_code": None, "address_kana": None, "address_kanji": None,
            "category": "00", "result": None, "late_elderly_transfer": None, "event_date": None,
            "amount1": 0, "amount2": None, "amount3": None, "mutual_aid_certificate": None}
    data = pl.DataFrame([{**base, **r} for r in rows], schema_overrides={"amount2": pl.Int64, "amount3": pl.Int64})
    head = pl.DataFrame([{"record_kind": "1", "municipality_code": muni, "payer_code": "001", "notice_code": notice,
                          "media_code": None, "scheme_code": "1", "created_on": created}])
    trail = pl.DataFrame([{"record_kind": "3", "municipality_code": muni, "payer_code": "001", "notice_code": notice,
                           "scheme_code": "1", "created_on": created}])
    lead = {"municipality_code": muni, "media_serial": "001", "created_on": created}
    return fw.write(layout, {"header": head, "data": data, "trailer": trail}, lead_in=lead)


def drop(name: str, data: bytes):
    p = paths.ensure_dir(paths.inbox("nenkin")) / name
    p.write_bytes(data)
    return p


def test_tk110_routes_z24_and_refuses_bad_files(kokuho_var):
    z24 = tokucho_file("tokucho_z24", "22", dt.date(2026, 11, 5),
                       [{"amount1": 12300, "category": "00"}, {"amount1": 0, "category": "01",
                                                               "basic_pension_number": "2234567890"}])
    drop("Z2400001.dta", z24)
    # 22 in an even month: refused
    drop("Z2400002.dta", tokucho_file("tokucho_z24", "22", dt.date(2026, 10, 5), [{"amount1": 100}]))
    # a file the city sends (Z22) in the inbox: refused
    drop("Z2200001.dta", tokucho_file("tokucho_500", "01", dt.date(2026, 11, 5), [{"amount1": 100}]))
    r = run_job("TK110", business_date="2026-11-10")
    assert r.rc == 4, r.log_text
    t = r.totals
    assert t.read == t.accepted + t.rejected
    assert t.by_record_type["file"].read == 3 and t.by_record_type["file"].rejected == 2
    res = datasets.read("tokucho_result", "m111007_fy2026_d20261110")
    assert res.columns[:7] == RESULT_COLUMNS_HEAD and "amount3" in res.columns
    data, trailer = res.filter(pl.col("record_kind") == "2"), res.filter(pl.col("record_kind") == "3")
    assert data.height == 2 and data["amount1"].sum() == 12300
    # the group's trailer is kept beside the data: KB520 checks the file against it (KKB544E)
    assert trailer.height == 1 and trailer["total_count"].to_list() == [2] and trailer["total_amount1"].to_list() == [12300]
    assert t.money["tokucho_result.amount1"] == 12300
    rows = errorlist.read(r.error_list)
    reasons = "\n".join(rows["理由"].to_list())
    assert "Z2400002.dta" in set(rows["ファイル名"]) and "10月" in reasons
    assert "Z22" in reasons
    left = sorted(p.name for p in paths.inbox("nenkin").glob("*.dta"))
    assert left == ["Z2200001.dta", "Z2400002.dta"]  # refused files stay in the inbox


def test_tk110_capture_and_other_city(kokuho_var):
    drop("Z2100030.dta", tokucho_file("tokucho_capture", "30", dt.date(2026, 8, 3), [{"category": "01"}]))
    drop("Z2300001.dta", tokucho_file("tokucho_z23", "02", dt.date(2026, 9, 3), [{"category": "01"}], muni="13101"))
    r = run_job("TK110", business_date="2026-09-07")
    assert r.rc == 4, r.log_text
    cap = datasets.read("tokucho_capture", "m111007_fy2026_d20260907")
    assert cap["record_kind"].to_list() == ["2", "3"] and cap["notice_code"].to_list() == ["30", "30"]
    rows = errorlist.read(r.error_list)
    assert "13101" in "\n".join(rows["理由"].to_list())


def test_tk110_all_refused_is_rc8(kokuho_var):
    drop("Z2400003.dta", tokucho_file("tokucho_z24", "22", dt.date(2026, 12, 5), [{"amount1": 1}]))
    r = run_job("TK110", business_date="2026-12-07")
    assert r.rc == 8 and not r.committed
    assert any(m.msg_id == "KKB504E" for m in r.messages)
