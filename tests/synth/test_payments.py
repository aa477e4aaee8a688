"""Synthetic payment files (jobs/synth/payments.py): they read back through the codec, their
trailers reconcile, the same seed gives the same bytes, barcodes carry correct check digits."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from jobs.common import config as config_mod
from jobs.common import fixedwidth as fw
from jobs.common import gs1
from jobs.synth import payments as P
from jobs.synth.config import load_config

DATE = dt.date(2026, 10, 15)
SEED = 20260805
N_HOUSEHOLDS = 300


def _levy_frame(n: int = N_HOUSEHOLDS) -> pl.DataFrame:
    """A 当初 調定: 10 ordinary installments (due the 28th of Jul..Apr) for every household, and
    6 withholding installments (due the 15th of even months) for every fifth one."""
    rng = np.random.default_rng(7)
    rows = []
    for h in range(1, n + 1):
        hid = f"{h:010d}"
        base = dict(record_kind="2", municipality_code="111007", taxpayer_person_id=f"{h * 10 + 1:010d}",
                    household_id=hid, levy_year="2026", target_year="2026", levy_kind="1", correction_seq=0,
                    levy_date=dt.date(2026, 7, 1), change=0, medical_retired=0, support_general=0,
                    support_retired=0, care_general=0, care_retired=0, child_general=0, overpayment=0,
                    correction_reason=None)
        for k in range(1, 11):
            month = (6 + k - 1) % 12 + 1
            amt = 350_000 if h % 97 == 0 else int(rng.integers(1, 60)) * 1000   # some above the CVS ceiling
            rows.append(dict(base, notice_number="1" + hid, installment_no=k, collection_method="1",
                             due_date=dt.date(2026 + (month < 7), month, 28), amount=amt, medical_general=amt,
                             payer_code=None))
        if h % 5 == 0:
            for k, m in zip(range(1, 7), (4, 6, 8, 10, 12, 2)):
                rows.append(dict(base, notice_number="2" + hid, installment_no=k, collection_method="2",
                                 due_date=dt.date(2026 + (m == 2), m, 15), amount=9000, medical_general=9000,
                                 payer_code="001"))
    return pl.DataFrame(rows)


def _write_levy(path: Path, frame: pl.DataFrame, file_kind: str = "1") -> Path:
    header = dict(record_kind="1", municipality_code="111007", creation_date=dt.date(2026, 7, 1), levy_year="2026",
                  file_kind=file_kind)
    path.write_bytes(fw.write(fw.load_layout("levy_file"), {"header": pl.DataFrame([header]), "data": frame,
                                                             "trailer": pl.DataFrame([{"record_kind": "8"}])}))
    return path


@pytest.fixture(scope="module")
def levy_path(tmp_path_factory) -> Path:
    return _write_levy(tmp_path_factory.mktemp("levy") / "levy_initial.dat", _levy_frame())


@pytest.fixture(scope="module")
def levy(levy_path) -> pl.DataFrame:
    return P.load_levy([levy_path])


def _read(layout_id: str, path: Path) -> fw.ReadResult:
    return fw.read(fw.load_layout(layout_id), path)


def _cfg_with(**changes) -> object:
    cfg = load_config()
    pay = copy.deepcopy(cfg["payments"])
    for k, v in changes.items():
        pay[k] = v
    return load_config(overrides={"payments": pay})


def _request_file(path: Path, levy: pl.DataFrame, n: int = 200) -> Path:
    rows = levy.filter(pl.col("collection_method") == "1").head(n)
    data = rows.select(
        pl.lit("2").alias("data_kind"), pl.lit("0017").alias("bank_code"), pl.lit("100").alias("branch_code"),
        pl.lit("1").alias("account_type"), pl.col("household_id").str.slice(3, 7).alias("account_number"),
        pl.lit("ﾔﾏﾀﾞ ﾀﾛｳ").alias("account_holder"), "amount", pl.lit("0").alias("new_code"),
        (pl.col("levy_year") + pl.col("notice_number") + pl.col("installment_no").cast(pl.String).str.zfill(2)
         + pl.lit("001")).alias("customer_number"),
        pl.lit("0").alias("result_code"),
    )
    header = dict(data_kind="1", kind_code="91", code_division="0", consignor_code="1110070001",
                  consignor_name="ｻｲﾀﾏｼ", debit_date="0727", bank_code="0017", branch_code="100",
                  account_type="1", account_number="1234567")
    path.write_bytes(fw.write(fw.load_layout("zengin_91_request"), {
        "header": pl.DataFrame([header]), "data": data, "trailer": pl.DataFrame([{"data_kind": "8"}]),
        "end": pl.DataFrame([{"data_kind": "9"}])}))
    return path


# --- counter ------------------------------------------------------------------------------------


def test_counter_file_reads_back_and_reconciles(levy, tmp_path):
    path = tmp_path / "counter.dat"
    s = P.write_counter_file(levy, path, business_date=DATE, seed=SEED)
    res = _read("counter_payment", path)
    assert res.totals["rejected"] == 0 and res.warnings == []
    d, t = res.frames["data"], res.frames["trailer"].row(0, named=True)
    assert d.height == s["records"] > 100
    assert t["total_count"] == d.height and t["amount_total"] == d["amount"].sum() == s["amount"]
    assert t["dunning_fee_total"] == d["dunning_fee"].sum()
    assert (d["received_date"] <= DATE).all() and (d["paid_date"] <= d["received_date"]).all()
    assert set(d["payment_kind"]) == {"01"} and set(d["municipality_code"]) == {"111007"}
    assert res.frames["header"]["creation_date"][0] == DATE
    # every known key is an ordinary installment of the levy
    known = d.filter(~pl.col("notice_number").str.starts_with("199"))
    keys = levy.select(P.KEY).with_columns(pl.col("installment_no").cast(pl.Int64))
    assert known.select(P.KEY).join(keys, on=P.KEY, how="anti").height == 0


def test_counter_file_is_deterministic(levy, tmp_path):
    a, b, c = tmp_path / "a.dat", tmp_path / "b.dat", tmp_path / "c.dat"
    P.write_counter_file(levy, a, business_date=DATE, seed=SEED)
    P.write_counter_file(levy, b, business_date=DATE, seed=SEED)
    P.write_counter_file(levy, c, business_date=DATE, seed=SEED + 1)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert not list(tmp_path.glob("*.tmp-*"))  # written atomically, nothing left behind


def test_partial_over_duplicate_unknown(levy, tmp_path):
    cfg = _cfg_with(partial_rate=0.2, overpayment_rate=0.2, duplicate_rate=0.1, unknown_notice_rate=0.1)
    path = tmp_path / "counter.dat"
    P.write_counter_file(levy, path, business_date=DATE, seed=SEED, cfg=cfg)
    d = _read("counter_payment", path).frames["data"]
    joined = d.join(levy.select(*P.KEY, pl.col("amount").alias("levied"))
                    .with_columns(pl.col("installment_no").cast(pl.Int64)), on=P.KEY, how="left")
    assert (joined["amount"] < joined["levied"]).sum() > 0        # partial
    assert (joined["amount"] > joined["levied"]).sum() > 0        # overpayment
    assert joined["levied"].null_count() > 0                      # unknown notice
    assert d["notice_number"].str.starts_with("199").sum() == joined["levied"].null_count()
    assert d.height > d["slip_serial"].n_unique()                 # duplicates keep their 通し番号


# --- CVS ----------------------------------------------------------------------------------------


def test_cvs_file_reads_back_and_reconciles(levy, tmp_path):
    path = tmp_path / "cvs.dat"
    s = P.write_cvs_file(levy, path, business_date=DATE, seed=SEED)
    res = _read("cvs_payment", path)
    assert res.totals["rejected"] == 0 and res.warnings == []
    d, t = res.frames["data"], res.frames["trailer"].row(0, named=True)
    assert t["total_count"] == d.height == s["records"]
    for kind, cnt, amt in (("01", "provisional_count", "provisional_amount"), ("02", "confirmed_count", "confirmed_amount"),
                           ("03", "cancel_count", "cancel_amount")):
        part = d.filter(pl.col("data_kind") == kind)
        assert t[cnt] == part.height > 0 and t[amt] == part["amount"].sum()
    assert (d["acquired_date"] <= DATE).all()
    assert d.filter(pl.col("data_kind") == "02")["transfer_date"].null_count() == 0
    assert d.filter(pl.col("data_kind") != "02")["transfer_date"].null_count() == d.filter(pl.col("data_kind") != "02").height


def test_cvs_barcodes_and_free_field(levy, tmp_path):
    from jobs.common.matching_keys import parse_free_field

    path = tmp_path / "cvs.dat"
    P.write_cvs_file(levy, path, business_date=DATE, seed=SEED)
    d = _read("cvs_payment", path).frames["data"]
    mcfg = config_mod.load()
    codes = d.select(pl.concat_str(["ai", "company_code", "free_field", "reissue", "deadline", "stamp_flag",
                                    pl.col("amount").cast(pl.String).str.zfill(6), "check_digit"])).to_series()
    for code, amount in zip(codes, d["amount"]):
        assert gs1.parse(code, max_amount=gs1.FIELD_MAX_AMOUNT).amount == amount  # raises on a wrong check digit
    assert set(d["company_code"]) == {str(mcfg.get("cvs.company_code"))}
    assert d["amount"].max() <= int(mcfg.get("cvs.barcode.max_amount"))
    ff = parse_free_field(mcfg, d["free_field"][0])
    assert ff["tax_code"] == str(mcfg.get("notices.cvs.tax_code")) and ff["fy"] == "2026"
    hh = {parse_free_field(mcfg, f)["household_id"] for f in d["free_field"]}
    assert {h for h in hh if not h.startswith("99")} <= set(levy["household_id"])


def test_cvs_confirmed_repeats_provisional_and_agents(levy, tmp_path):
    path = tmp_path / "cvs.dat"
    P.write_cvs_file(levy, path, business_date=DATE, seed=SEED, cfg=_cfg_with(duplicate_rate=0.0))
    d = _read("cvs_payment", path).frames["data"]
    same = ["free_field", "amount", "paid_date", "paid_time", "store_code", "agent_code"]
    prov = d.filter(pl.col("data_kind") == "01").select(same)
    conf = d.filter(pl.col("data_kind") == "02").select(same)
    canc = d.filter(pl.col("data_kind") == "03").select(same)
    assert conf.join(prov, on=same, how="anti", nulls_equal=True).height == 0   # every 確報 had its 速報
    assert canc.join(prov, on=same, how="anti", nulls_equal=True).height == 0   # every 取消 cancels a 速報
    assert canc.join(conf, on=same, how="semi", nulls_equal=True).height == 0   # a cancelled 速報 gets no 確報
    codes = config_mod.load().get("collection.agent_codes", None)
    agents = set(d["agent_code"].str.slice(1, 3))
    assert "680" in agents and agents & {"530", "750", "780", "800", "810", "820", "830", "840"}
    if codes:
        assert set(d.filter(pl.col("store_code").is_null())["agent_code"].str.slice(1, 3)) <= set(codes["credit"]) | set(codes["app"])
    assert d.filter(pl.col("agent_code").is_in(["0680", "0820"]))["store_code"].null_count() > 0


def test_counter_and_cvs_never_pay_the_same_installment(levy, tmp_path):
    P.write_counter_file(levy, tmp_path / "c.dat", business_date=DATE, seed=SEED)
    P.write_cvs_file(levy, tmp_path / "v.dat", business_date=DATE, seed=SEED)
    counter = _read("counter_payment", tmp_path / "c.dat").frames["data"]
    cvs = _read("cvs_payment", tmp_path / "v.dat").frames["data"]
    cvs_keys = cvs.select(pl.col("free_field").str.slice(2, 4).alias("levy_year"),
                          ("1" + pl.col("free_field").str.slice(6, 10)).alias("notice_number"),
                          pl.col("free_field").str.slice(16, 2).cast(pl.Int64).alias("installment_no")).unique()
    assert counter.select(P.KEY).join(cvs_keys, on=P.KEY, how="semi").height == 0


def test_since_window_splits_the_files(levy, tmp_path):
    mid = dt.date(2026, 9, 1)
    whole, early, late = tmp_path / "w.dat", tmp_path / "e.dat", tmp_path / "l.dat"
    for fn, layout_id in ((P.write_cvs_file, "cvs_payment"), (P.write_counter_file, "counter_payment")):
        fn(levy, whole, business_date=DATE, seed=SEED)
        fn(levy, early, business_date=mid, seed=SEED)
        fn(levy, late, business_date=DATE, seed=SEED, since=mid)
        # (the counter file's 通し番号 numbers the records of one file)
        parts = [_read(layout_id, p).frames["data"].drop("record_no", "slip_serial", strict=False)
                 for p in (whole, early, late)]
        assert parts[1].height and parts[2].height
        assert parts[0].sort(parts[0].columns).equals(pl.concat(parts[1:]).sort(parts[0].columns)), layout_id



def test_generate_shares_one_plan_and_writes_the_writers_bytes(levy, levy_path, tmp_path):
    """generate() computes the payment plan once for the counter and CVS files; the files are byte for byte
    those of the two writers called alone (each computing its own plan), for a window and for all days."""
    for since in (None, dt.date(2026, 9, 1)):
        out = tmp_path / f"gen_{since}"
        made = P.generate([levy_path], out, business_date=DATE, seed=SEED, channels=("counter", "cvs"), since=since)
        assert [Path(m["file"]).parent.name for m in made] == ["counter", "cvs"]
        alone_c, alone_v = tmp_path / f"c_{since}.dat", tmp_path / f"v_{since}.dat"
        P.write_counter_file(levy, alone_c, business_date=DATE, seed=SEED, since=since)
        P.write_cvs_file(levy, alone_v, business_date=DATE, seed=SEED, since=since)
        assert Path(made[0]["file"]).read_bytes() == alone_c.read_bytes()
        assert Path(made[1]["file"]).read_bytes() == alone_v.read_bytes()


def test_no_ordinary_installments_gives_empty_files(levy, tmp_path):
    only_withholding = levy.filter(pl.col("collection_method") == "2")
    assert P.write_counter_file(only_withholding, tmp_path / "c.dat", business_date=DATE, seed=SEED)["records"] == 0
    assert P.write_cvs_file(only_withholding, tmp_path / "v.dat", business_date=DATE, seed=SEED)["records"] == 0
    res = _read("cvs_payment", tmp_path / "v.dat")
    assert res.frames["trailer"]["total_count"][0] == 0 and res.totals["rejected"] == 0


def test_cvs_file_is_deterministic(levy, tmp_path):
    P.write_cvs_file(levy, tmp_path / "a.dat", business_date=DATE, seed=SEED)
    P.write_cvs_file(levy, tmp_path / "b.dat", business_date=DATE, seed=SEED)
    assert (tmp_path / "a.dat").read_bytes() == (tmp_path / "b.dat").read_bytes()


def test_malformed_records_are_rejected_alone(levy, tmp_path):
    cfg = _cfg_with(malformed_rate=0.05)
    P.write_counter_file(levy, tmp_path / "c.dat", business_date=DATE, seed=SEED, cfg=cfg)
    P.write_cvs_file(levy, tmp_path / "v.dat", business_date=DATE, seed=SEED, cfg=cfg)
    for layout_id, name in (("counter_payment", "c.dat"), ("cvs_payment", "v.dat")):
        res = _read(layout_id, tmp_path / name)
        assert res.totals["rejected"] > 0 and set(res.rejects["field"]) == {"paid_date"}
        assert res.totals["read"] == res.totals["accepted"] + res.totals["rejected"]


def test_debit_request_installments_are_excluded(levy, tmp_path):
    req = _request_file(tmp_path / "req.dat", levy)
    keys = P.debit_keys(req)
    assert keys.height == 200
    plan = P.payment_plan(levy, seed=SEED, exclude=keys)
    debit = plan.filter(pl.col("channel") == "debit")
    assert debit.height == 200 and debit.select(P.KEY).join(keys, on=P.KEY, how="anti").height == 0


def test_several_debit_requests_one_result_each(levy, levy_path, tmp_path):
    """One result file per bank's request file (KEKKA_<request stem>.dat), and the installments of
    every request are left out of the counter and CVS files."""
    (tmp_path / "0017").mkdir()
    (tmp_path / "0005").mkdir()
    a = _request_file(tmp_path / "0017" / "KOUFURI_111007_0017_20260727.dat", levy, n=100)
    b = _request_file(tmp_path / "0005" / "KOUFURI_111007_0005_20260727.dat", levy.slice(400), n=50)
    out = tmp_path / "inbox"
    done = P.generate([levy_path], out, business_date=DATE, seed=SEED, channels=("counter", "debit"),
                      debit_request=[a, b])
    names = sorted(Path(d["file"]).name for d in done if d["layout"] == "zengin_91_result")
    assert names == ["KEKKA_KOUFURI_111007_0005_20260727.dat", "KEKKA_KOUFURI_111007_0017_20260727.dat"]
    for name, n in (("KEKKA_KOUFURI_111007_0017_20260727.dat", 100), ("KEKKA_KOUFURI_111007_0005_20260727.dat", 50)):
        res = _read("zengin_91_result", out / "bank" / name)
        assert res.totals["rejected"] == 0 and res.frames["data"].height == n
    requested = pl.concat([P.debit_keys(a), P.debit_keys(b)])
    paid = _read("counter_payment", out / "counter" / f"COUNTER_{DATE:%Y%m%d}.dat").frames["data"].select(
        pl.col("levy_year"), "notice_number", pl.col("installment_no").cast(pl.Int32))
    assert paid.join(requested.cast({"levy_year": pl.String}), on=P.KEY, how="semi").height == 0


# --- pension ------------------------------------------------------------------------------------


def test_pension_result_frame(levy):
    f = P.pension_result_frame(levy, business_date=DATE, seed=SEED)
    assert dict(f.schema) == P.PENSION_SCHEMA
    assert f.height > 0 and f["notice_number"].str.starts_with("2").all()
    assert (f["received_date"].dt.day() == 10).all() and (f["received_date"] <= DATE).all()
    wh = levy.filter(pl.col("collection_method") == "2").select(*P.KEY, "due_date").with_columns(
        pl.col("levy_year").cast(pl.Int32), pl.col("installment_no").cast(pl.Int32))
    j = f.join(wh, on=P.KEY, how="left")
    assert j["due_date"].null_count() == 0
    nxt = j["due_date"].dt.offset_by("1mo")
    assert (j["received_date"].dt.month() == nxt.dt.month()).all()
    assert f["record_no"].to_list() == list(range(1, f.height + 1))
    assert f.equals(P.pension_result_frame(levy, business_date=DATE, seed=SEED))


# --- 口座振替 結果 ------------------------------------------------------------------------------------


def test_debit_result_file(levy, tmp_path):
    req = _request_file(tmp_path / "req.dat", levy)
    out = tmp_path / "bank" / "result.dat"
    rates = {"1": 0.2, "2": 0.05, "3": 0.05, "4": 0.05, "8": 0.05, "9": 0.05}
    s = P.write_debit_result_file(req, out, rng=np.random.default_rng(1), failure_rates=rates)
    res = _read("zengin_91_result", out)
    assert res.totals["rejected"] == 0 and res.warnings == []
    d, t = res.frames["data"], res.frames["trailer"].row(0, named=True)
    done = d.filter(pl.col("result_code") == "0")
    assert t["done_count"] == done.height and t["failed_count"] == d.height - done.height == s["failed"] > 0
    assert t["done_amount"] + t["failed_amount"] == t["total_amount"] == d["amount"].sum()
    assert set(d["result_code"]) == {"0", "1", "2", "3", "4", "8", "9"}
    reqd = _read("zengin_91_request", req).frames["data"]
    assert d["customer_number"].to_list() == reqd["customer_number"].to_list()
    P.write_debit_result_file(req, tmp_path / "again.dat", rng=1, failure_rates=rates)
    P.write_debit_result_file(req, tmp_path / "again2.dat", rng=1, failure_rates=rates)
    assert (tmp_path / "again.dat").read_bytes() == (tmp_path / "again2.dat").read_bytes()
    P.write_debit_result_file(req, tmp_path / "ok.dat", rng=1, failure_rates={})
    assert set(_read("zengin_91_result", tmp_path / "ok.dat").frames["data"]["result_code"]) == {"0"}


def test_debit_result_default_rates_from_config(levy, tmp_path):
    req = _request_file(tmp_path / "req.dat", levy)
    s = P.write_debit_result_file(req, tmp_path / "r.dat", rng=3)
    assert s["records"] == 200 and 0 <= s["failed"] < 60


# --- config and CLI -----------------------------------------------------------------------------


def test_config_checks_payments_section():
    cfg = load_config()
    pay = copy.deepcopy(cfg["payments"])
    pay["channel_shares"]["counter"] = 0.9
    with pytest.raises(ValueError, match="channel_shares"):
        load_config(overrides={"payments": pay})
    pay = copy.deepcopy(cfg["payments"])
    pay["debit_result"]["failure_rates"] = {"0": 0.5}
    with pytest.raises(ValueError, match="failure_rates"):
        load_config(overrides={"payments": pay})


def test_cli_synth_payments(levy, levy_path, tmp_path):
    from jobs.cli import main

    req = _request_file(tmp_path / "req.dat", levy)
    out = tmp_path / "inbox"
    argv = ["synth-payments", "--levy", str(levy_path), "--date", DATE.isoformat(), "--seed", "5", "--out", str(out),
            "--channels", "counter,cvs,pension,debit", "--debit-request", str(req)]
    assert main(argv) == 0
    ymd = DATE.strftime("%Y%m%d")
    assert _read("counter_payment", out / "counter" / f"COUNTER_{ymd}.dat").totals["rejected"] == 0
    assert _read("cvs_payment", out / "cvs" / f"CVS_{ymd}.dat").totals["rejected"] == 0
    assert _read("zengin_91_result", out / "bank" / f"KOUFURI_KEKKA_{ymd}.dat").totals["rejected"] == 0
    assert pl.read_parquet(out / "pension" / f"pension_result_{ymd}.parquet").height > 0
    first = (out / "cvs" / f"CVS_{ymd}.dat").read_bytes()
    assert main(argv) == 0 and (out / "cvs" / f"CVS_{ymd}.dat").read_bytes() == first
    assert main(["synth-payments", "--levy", str(levy_path), "--date", DATE.isoformat(), "--seed", "5",
                 "--out", str(out), "--channels", "nope"]) == 8
    assert main(["synth-payments", "--levy", str(levy_path), "--date", DATE.isoformat(), "--seed", "5",
                 "--out", str(out), "--channels", "debit"]) == 8   # debit needs --debit-request
