"""Golden files: every shipped layout's listing, and every fixture file read, dumped and
written back byte for byte. On a mismatch the test writes `<expected>_actual` beside the
expected file (review it with diff, then rename it if the change is intended)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from jobs.common import fixedwidth as fw

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
LISTINGS = ROOT / "layouts" / "listings"

GOLDEN = sorted(p for p in FIXTURES.glob("*/*") if p.suffix in (".dat", ".dta") and p.parent.name in fw.layout_ids())


def _compare(actual: str, expected_path: Path) -> None:
    actual_path = expected_path.with_name(expected_path.name + "_actual")
    if not expected_path.exists() or expected_path.read_text(encoding="utf-8") != actual:
        actual_path.write_text(actual, encoding="utf-8")
        pytest.fail(f"mismatch: compare {actual_path} to {expected_path}")
    actual_path.unlink(missing_ok=True)


@pytest.mark.parametrize("layout_id", fw.layout_ids())
def test_layout_listing_golden(layout_id):
    _compare(fw.listing(fw.load_layout(layout_id)), LISTINGS / f"{layout_id}.txt")


def test_every_layout_has_golden_file():
    with_fixture = {p.parent.name for p in GOLDEN}
    intake_only = {"nhi_qualification", "resident_tax_income", "direct_debit_mandate", "tokucho_500"}
    missing = [lid for lid in fw.layout_ids() if lid not in with_fixture and lid not in intake_only]
    assert missing == []


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_read_dump(path):
    res = fw.read(fw.load_layout(path.parent.name), path)
    assert res.totals["read"] == res.totals["accepted"] + res.totals["rejected"]
    assert res.totals["rejected"] == 0 and res.warnings == []
    _compare(fw.dump(res), path.with_name(path.name + ".expected.jsonl"))


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_write_read_is_identity(path):
    """write(read(file)) == file"""
    layout = fw.load_layout(path.parent.name)
    res = fw.read(layout, path)
    assert fw.write(layout, res.frames, line_end=res.line_end, lead_in=res.lead_in) == path.read_bytes()


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_read_write_read_is_identity(path):
    """read(write(frames)) == frames"""
    layout = fw.load_layout(path.parent.name)
    res = fw.read(layout, path)
    again = fw.read(layout, fw.write(layout, res.frames, line_end=res.line_end, lead_in=res.lead_in))
    for name, df in res.frames.items():
        assert again.frames[name].equals(df), name


def test_golden_files_match_their_builder():
    """The committed golden bytes are what fixtures/build_golden.py derives from FORMATS.md."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_golden", FIXTURES / "build_golden.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for rel, make in mod.FILES.items():
        assert (FIXTURES / rel).read_bytes() == make(), rel


def test_golden_zengin_result_values():
    """Spot checks against the spec, field by field (FORMATS.md §1.3–1.5)."""
    res = fw.read(fw.load_layout("zengin_91_result"), FIXTURES / "zengin_91_result" / "result_multi_crlf.dat")
    d = res.frames["data"]
    assert d["result_code"].to_list() == ["0", "1", "2", "3", "4", "8", "9", "0"]
    assert d["account_holder"][0] == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert d["bank_name"][2] is None  # blank 引落銀行名 is allowed
    assert d["amount"][3] == 9_999_999_999  # ten digits, the largest 引落金額
    assert d["customer_number"][3] == "99999999999999999999"
    t = res.frames["trailer"].to_dicts()
    assert [x["done_count"] for x in t] == [1, 1] and [x["failed_count"] for x in t] == [3, 3]
    assert t[0]["done_amount"] == 12300 and t[0]["failed_amount"] == 45600 + 100 + 9_999_999_999


def test_golden_tokucho_values():
    res = fw.read(fw.load_layout("tokucho_z21"), FIXTURES / "tokucho_z21" / "Z2100001.dta")
    d = res.frames["data"]
    assert d["name_kanji"].to_list() == ["山田　太郎", "鈴木　花子", None]
    assert d["address_kanji"][0] == "埼玉県さいたま市浦和区高砂一丁目１番"
    assert d["name_kana"][1] == "ｽｽﾞｷ ﾊﾅｺ"
    assert res.lead_in["record_count"] == 5
    assert res.totals["money"]["data.amount1"] == 1_800_000 + 2_400_000 + 960_000


def test_golden_cvs_payment_values():
    """コンビニ収納 速報・確報 (FORMATS.md §3.1–3.2): the barcode parts are the 44 digits, their check
    digit is right, the trailer splits 速報 / 確報 / 取消."""
    from jobs.common import gs1

    res = fw.read(fw.load_layout("cvs_payment"), FIXTURES / "cvs_payment" / "cvs_payment_crlf.dat")
    d = res.frames["data"]
    assert d["data_kind"].to_list() == ["01", "02", "01", "03", "02", "02", "01"]
    assert d["agent_code"].to_list() == ["0010", "0010", "0020", "0020", "0680", "0820", "0030"]
    barcodes = d.select(pl.concat_str(["ai", "company_code", "free_field", "reissue", "deadline", "stamp_flag",
                                       pl.col("amount").cast(pl.String).str.zfill(6), "check_digit"]))
    for code, amount in zip(barcodes.to_series(), d["amount"]):
        assert gs1.parse(code, max_amount=gs1.FIELD_MAX_AMOUNT).amount == amount
    # 確報 repeats its 速報's barcode, store and time; 取消 repeats the cancelled 速報
    assert d["free_field"][0] == d["free_field"][1] and d["store_code"][0] == d["store_code"][1] == "1234567"
    assert d["free_field"][2] == d["free_field"][3]
    assert d["transfer_date"].to_list()[:2] == [None, dt.date(2026, 8, 10)]
    assert d["store_code"][4] is None  # クレジットカード: no store
    assert d["deadline"][5] == "999999" and d["reissue"][5] == "1"
    assert d["free_field"][0] == "51" + "2026" + "0000000001" + "01" + "000"  # notices.cvs.free_field
    assert d["amount"][6] == 999_999
    t = res.frames["trailer"].row(0, named=True)
    assert (t["total_count"], t["provisional_count"], t["confirmed_count"], t["cancel_count"]) == (7, 3, 3, 1)
    assert t["provisional_amount"] == 19456 + 13000 + 999_999
    assert t["confirmed_amount"] == 19456 + 300_000 + 1 and t["cancel_amount"] == 13000


def test_golden_counter_payment_values():
    res = fw.read(fw.load_layout("counter_payment"), FIXTURES / "counter_payment" / "counter_crlf.dat")
    d = res.frames["data"]
    assert d["notice_number"].to_list() == ["10000000001", "10000000003", "10000001234", "10000000005"]
    assert d["installment_no"].to_list() == [1, 2, 10, 1]
    assert d["amount"][2] == 9_999_999_999 and d["late_fee"][2] == 99_999_999 and d["dunning_fee"][2] == 999_999
    assert d["paid_date"][1] == dt.date(2026, 9, 15) and d["received_date"][1] == dt.date(2026, 9, 16)
    assert d["levy_year"][2] == "2025" and d["slip_serial"][2] == "9999999999"
    t = res.frames["trailer"].row(0, named=True)
    assert t["total_count"] == 4 and t["amount_total"] == 19456 + 13000 + 9_999_999_999 + 1
    assert t["late_fee_total"] == 1200 + 99_999_999 and t["dunning_fee_total"] == 100 + 999_999
    assert res.totals["money"]["data.amount"] == t["amount_total"]
