"""The print-data file for the print vendor (layouts/tax_notice_print.yaml, reports.print_data):
golden files, round trip, byte-level spot checks against the field listing, the vectorized
GS1-128 builder against jobs.common.gs1, and the refusals."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sample_data import sample_frames

from jobs.common import config, gs1
from jobs.common import fixedwidth as fw
from jobs.common.fixedwidth.writer import date_numbers
from reports import print_data
from reports.print_data import NoticeError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "tax_notice_print"
LAYOUT = fw.load_layout("tax_notice_print")
CEILING = 300_000  # cvs.barcode.max_amount (config/common/cvs.yaml); passed so gs1 does not load config per call


def _field(name: str, rt: str = "data") -> fw.Field:
    return next(r for r in LAYOUT.record_types if r.name == rt).field(name)


def _slice(record: bytes, name: str, rt: str = "data") -> bytes:
    f = _field(name, rt)
    return record[f.start - 1:f.end]


def _records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\r\n")
    return data.split(b"\r\n")[:-1]


# --- golden files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["initial.dat", "change.dat"])
def test_golden_file_is_what_the_writer_makes_of_the_golden_input(golden, name):
    """fixtures/tax_notice_print/*.dat == write_print_file(hand-made frames) byte for byte."""
    assert golden.build()[name] == (FIXTURES / name).read_bytes(), (
        "run: python fixtures/tax_notice_print/golden_input.py and review the diff")


@pytest.mark.parametrize("name", ["initial.dat", "change.dat"])
def test_golden_round_trip(name):
    """write(read(f)) == f, and read(f) has no rejects or warnings."""
    path = FIXTURES / name
    res = fw.read(LAYOUT, path)
    assert res.totals["rejected"] == 0 and res.warnings == []
    assert fw.write(LAYOUT, res.frames, line_end=res.line_end) == path.read_bytes()


def test_listing_is_golden():
    assert fw.listing(LAYOUT) == (ROOT / "layouts" / "listings" / "tax_notice_print.txt").read_text(encoding="utf-8")


def test_record_length_and_line_ends():
    records = _records(FIXTURES / "initial.dat")
    assert {len(r) for r in records} == {1800}
    assert [r[:1] for r in records] == [b"1", b"2", b"2", b"2", b"2", b"2", b"8"]


def test_golden_bytes_at_the_listed_offsets(golden):
    """Spot checks by slicing the raw bytes at the offsets of the field listing (not the reader)."""
    records = _records(FIXTURES / "initial.dat")
    header, data, trailer = records[0], records[1:-1], records[-1]
    assert _slice(header, "municipality_code", "header") == b"111007"
    assert _slice(header, "issue_date", "header") == b"20260615"
    assert _slice(header, "issuer_name", "header").decode("cp932").rstrip() == "さいたま市長"
    by_household = {_slice(r, "household_id").decode(): r for r in data}
    h1 = by_household["0000100001"]
    assert _slice(h1, "notice_no") == b"0000100001000"
    assert _slice(h1, "postal_code") == b"3300063"
    assert _slice(h1, "address").decode("cp932").rstrip() == "埼玉県さいたま市浦和区高砂一丁目１番１号"
    assert _slice(h1, "address_building").decode("cp932").rstrip() == "高砂ハイツ１０１号室"
    assert _slice(h1, "addressee_name").decode("cp932").rstrip() == "山田　太郎"
    assert _slice(h1, "medical_income_levy") == b"000084210"
    assert _slice(h1, "medical_reduction") == b"000022200"
    assert _slice(h1, "medical_amount") == b"000165600"
    assert _slice(h1, "annual_tax") == b"0000266200"
    assert _slice(h1, "ordinary_1_no") == b"01"
    assert _slice(h1, "ordinary_1_due_date") == b"20260630"
    assert _slice(h1, "ordinary_1_amount") == b"000032200"
    assert _slice(h1, "collection_method") == b"1"
    assert _slice(h1, "withholding_1_amount") == b" " * 9
    code = _slice(h1, "ordinary_1_barcode").decode()
    bc = gs1.parse(code, max_amount=CEILING)
    assert (bc.company_code, bc.due_date, bc.amount) == ("912345", dt.date(2026, 6, 30), 32_200)
    # H4: 月割 (signed, zoned: last byte overpunched) and installments above the CVS ceiling
    h4 = by_household["0000100004"]
    assert _slice(h4, "medical_proration") == b"00070500}"  # −705,000
    assert _slice(h4, "medical_over_cap") == b"000053000"
    assert _slice(h4, "ordinary_1_no") == b"08"
    assert _slice(h4, "ordinary_1_amount") == b"000364000"
    assert _slice(h4, "ordinary_1_barcode") == b" " * 44
    assert _slice(h4, "addressee_name").decode("cp932").rstrip() == "髙橋　健太"
    # H2: 特別徴収 only
    h2 = by_household["0000100002"]
    assert _slice(h2, "collection_method") == b"2"
    assert _slice(h2, "withholding_1_month") == b"04"
    assert _slice(h2, "withholding_3_due_date") == b"20260814"
    assert _slice(h2, "ordinary_count") == b"00"
    # H5: 年税額 0, no installment
    h5 = by_household["0000100005"]
    assert _slice(h5, "annual_tax") == b"0" * 10 and _slice(h5, "ordinary_1_amount") == b" " * 9
    # trailer bindings
    a, i, _ = golden.initial_frames()
    assert _slice(trailer, "total_count", "trailer") == b"000000005"
    assert int(_slice(trailer, "annual_tax_total", "trailer")) == int(a["annual_tax"].sum())
    ordinary = int(i.filter(pl.col("method") == "ordinary")["amount"].sum())
    assert int(_slice(trailer, "ordinary_total_sum", "trailer")) == ordinary
    assert int(_slice(trailer, "withholding_total_sum", "trailer")) == int(a["annual_tax"].sum()) - ordinary


def test_envelope_order_is_postal_code_then_household():
    res = fw.read(LAYOUT, FIXTURES / "initial.dat")
    d = res.frames["data"]
    assert d["postal_code"].to_list() == sorted(d["postal_code"].to_list())


def test_change_file_carries_previous_amounts():
    res = fw.read(LAYOUT, FIXTURES / "change.dat")
    d = {r["household_id"]: r for r in res.frames["data"].iter_rows(named=True)}
    h1, h3 = d["0000100001"], d["0000100003"]
    assert (h1["notice_kind"], h1["notice_no"], h1["revision"]) == ("2", "0000100001001", "001")
    assert (h1["previous_annual_tax"], h1["annual_tax"]) == (266_200, 302_200)
    assert (h1["previous_ordinary_1_amount"], h1["ordinary_1_amount"]) == (32_200, 32_200)
    assert (h1["previous_ordinary_2_amount"], h1["ordinary_2_amount"]) == (26_000, 30_000)
    assert (h3["previous_annual_tax"], h3["annual_tax"]) == (241_100, 223_100)
    assert (h3["previous_ordinary_2_amount"], h3["ordinary_2_amount"]) == (40_000, 31_000)
    assert (h3["previous_withholding_1_amount"], h3["withholding_1_amount"]) == (40_000, 40_000)
    assert h1["overpayment"] == 0 and h1["issue_date"] == dt.date(2026, 7, 15)


def test_summary_and_atomic_write(tmp_path, golden, cfg):
    a, i, ad = golden.initial_frames()
    path = tmp_path / "out" / "print.dat"
    s = print_data.write_print_file(a, i, ad, cfg, path, issue_date=golden.ISSUE_DATE)
    assert s.notices == 5 and s.annual_tax_total == int(a["annual_tax"].sum())
    assert s.barcodes == 10 + 3 and s.slips_without_barcode == 3  # H1 10, H3 3; H4's 3 above the ceiling
    assert [p.name for p in path.parent.iterdir()] == ["print.dat"]
    # an address too long for its field: nothing appears, no temporary file is left
    long_ad = ad.with_columns(pl.when(pl.col("person_id") == "0000100011").then(pl.lit("長" * 60))
                              .otherwise(pl.col("address_kanji")).alias("address_kanji"))
    bad = tmp_path / "bad" / "print.dat"
    with pytest.raises(fw.EncodeError):
        print_data.write_print_file(a, i, long_ad, cfg, bad, issue_date=golden.ISSUE_DATE)
    assert list(bad.parent.iterdir()) == []


# --- the notice frame --------------------------------------------------------------------------------


def test_frame_has_exactly_the_layout_data_columns(initial_frame):
    expected = [f.name for f in LAYOUT.data_type.columns if f.name != "record_kind"]
    assert initial_frame.columns == expected


def test_component_not_levied_is_blank(golden):
    """A fiscal year whose rates have no 子ども・子育て支援金分: its columns are null (not printed),
    even though the engine writes the columns (zero) for every component."""
    cfg = config.load("111007", 2025)
    a, i, ad = golden.initial_frames()
    f = print_data.notice_frame(a, i, ad, cfg, issue_date=golden.ISSUE_DATE)
    assert f["child_support_amount"].null_count() == f.height
    assert f["medical_amount"].null_count() == 0


def test_missing_address_is_refused(golden, cfg):
    a, i, ad = golden.initial_frames()
    with pytest.raises(NoticeError, match="送付先.*1 件.*0000100003"):
        print_data.notice_frame(a, i, ad.filter(pl.col("person_id") != "0000100031"), cfg, issue_date=golden.ISSUE_DATE)


def test_installments_must_add_up_to_the_annual_tax(golden, cfg):
    a, i, ad = golden.initial_frames()
    i2 = i.with_columns(pl.when((pl.col("household_id") == "0000100001") & (pl.col("installment_no") == 2))
                        .then(pl.col("amount") + 100).otherwise(pl.col("amount")).alias("amount"))
    with pytest.raises(NoticeError, match="一致しない世帯が 1 件.*0000100001"):
        print_data.notice_frame(a, i2, ad, cfg, issue_date=golden.ISSUE_DATE)


def test_overpayment_on_a_change_notice(golden, cfg):
    """After a decrease the paid installments stay: Σ installments − 年税額 = 過誤納額."""
    ca, ci, pa, pi = golden.change_frames()
    _, _, ad = golden.initial_frames()
    ca = ca.with_columns(pl.when(pl.col("household_id") == "0000100003").then(pl.col("annual_tax") - 1_000)
                         .otherwise(pl.col("annual_tax")).alias("annual_tax"))
    f = print_data.notice_frame(ca, ci, ad, cfg, issue_date=golden.CHANGE_ISSUE_DATE, notice_kind="2",
                                previous_assessment=pa, previous_installments=pi)
    row = f.filter(pl.col("household_id") == "0000100003").row(0, named=True)
    assert row["overpayment"] == 1_000


def test_too_many_installments_refused(golden, cfg):
    a, i, ad = golden.initial_frames()
    extra = i.filter(pl.col("household_id") == "0000100001").with_columns(
        (pl.col("installment_no") + 10).alias("installment_no"), pl.lit(0, pl.Int64).alias("amount"))
    with pytest.raises(NoticeError, match="上限 10"):
        print_data.notice_frame(a, pl.concat([i, extra]), ad, cfg, issue_date=golden.ISSUE_DATE)


def test_el_qr_switch_refuses(golden, cfg):
    on = dataclasses.replace(cfg, data=config.deep_merge(cfg.data, {"notices": {"el_qr": {"enabled": True}}}))
    a, i, ad = golden.initial_frames()
    with pytest.raises(NoticeError, match="eL-QR"):
        print_data.notice_frame(a, i, ad, on, issue_date=golden.ISSUE_DATE)


def test_cvs_off_means_no_barcodes(golden, cfg):
    off = dataclasses.replace(cfg, data=config.deep_merge(cfg.data, {"notices": {"cvs": {"enabled": False}}}))
    a, i, ad = golden.initial_frames()
    f = print_data.notice_frame(a, i, ad, off, issue_date=golden.ISSUE_DATE)
    assert all(f[f"ordinary_{k}_barcode"].null_count() == f.height for k in range(1, 11))


def test_free_field_widths_must_add_up_to_21(cfg):
    bad = dataclasses.replace(cfg, data=config.deep_merge(cfg.data, {"notices": {"cvs": {"free_field": [
        {"item": "fy", "width": 4}, {"item": "household_id", "width": 10}]}}}))
    with pytest.raises(NoticeError, match="21桁"):
        print_data.free_field_spec(bad)


def test_issue_date_is_required(golden, cfg):
    a, i, ad = golden.initial_frames()
    with pytest.raises(NoticeError, match="発行日"):
        print_data.notice_frame(a, i, ad, cfg)


# --- GS1-128 data -------------------------------------------------------------------------------------


def test_vectorized_barcodes_equal_gs1_build(cfg):
    """Every barcode of 300 sample households == jobs.common.gs1.build of its parts."""
    assert cfg.get("cvs.barcode.max_amount") == CEILING
    a, i, ad = sample_frames(300, seed=11)
    f = print_data.notice_frame(a, i, ad, cfg, issue_date=dt.date(2026, 6, 15))
    n = 0
    for row in f.iter_rows(named=True):
        for k in range(1, 11):
            code = row[f"ordinary_{k}_barcode"]
            if row[f"ordinary_{k}_amount"] is None:
                assert code is None
                continue
            free = "".join(v.zfill(w) for v, (_, w) in zip(
                ["51", row["fiscal_year"], row["household_id"], str(row[f"ordinary_{k}_no"]), row["revision"]],
                print_data.free_field_spec(cfg), strict=True))
            expected = gs1.build(gs1.CvsBarcode("912345", free, row[f"ordinary_{k}_due_date"], row[f"ordinary_{k}_amount"]),
                                 max_amount=CEILING)
            assert code == expected
            assert print_data.parse_free_field(cfg, gs1.parse(code, max_amount=CEILING).free_field) == {
                "tax_code": "51", "fy": "2026", "household_id": row["household_id"],
                "installment_no": f"{row[f'ordinary_{k}_no']:02d}", "revision": row["revision"]}
            n += 1
    assert n > 1000


_CFG = config.load("111007", 2026)


@settings(max_examples=60, deadline=None)
@given(
    household=st.integers(0, 9_999_999_999), no=st.integers(1, 99), revision=st.integers(0, 999),
    due=st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)), amount=st.integers(0, 999_999),
)
def test_barcode_property(household, no, revision, due, amount):
    cfg = _CFG
    slots = pl.DataFrame({"household_id": [f"{household:010d}"], "installment_no": [no], "_revision": [revision],
                          "due_date": [due], "amount": [amount]})
    code = print_data.barcode_series(slots, cfg, fy=2026)[0]
    if amount == 0 or amount > 300_000:
        assert code is None
        return
    free = f"512026{household:010d}{no:02d}{revision:03d}"
    assert code == gs1.build(gs1.CvsBarcode("912345", free, due, amount), max_amount=CEILING)


def test_c_barcodes_equal_the_numpy_barcodes(cfg):
    """The barcodes of the C library (kb_gs1, the default when it is built) and of the numpy path
    (without it) are the same strings, nulls included, on a few thousand installments split over
    threads."""
    from unittest import mock

    from jobs.common.fixedwidth import native

    if native.lib() is None:
        pytest.skip("no C compiler: the native library is not built")
    a, i, ad = sample_frames(400, seed=5)
    i = i.filter(pl.col("method") == "ordinary").with_columns(pl.lit(1, pl.Int64).alias("_revision"))
    i = i.with_columns(pl.when(pl.col("installment_no") == 3).then(400_000).otherwise(pl.col("amount")).alias("amount"))
    with mock.patch.object(native, "MIN_ASSEMBLE_ROWS_PER_THREAD", 100), \
            mock.patch.dict("os.environ", {"KOKUHO_FW_THREADS": "3"}):
        c = print_data.barcode_series(i, cfg, fy=2026)
    with mock.patch.object(native, "lib", lambda: None):
        numpy_path = print_data.barcode_series(i, cfg, fy=2026)
    assert c.null_count() > 0 and c.len() > 2000
    assert c.equals(numpy_path)


def test_payment_deadline_rules(cfg):
    slots = pl.DataFrame({"household_id": ["0000000001"], "installment_no": [1], "_revision": [0],
                          "due_date": [dt.date(2026, 6, 30)], "amount": [5_000]})
    for rule, expected in (({"rule": "none"}, None), ({"rule": "days_after_due", "days": 10}, dt.date(2026, 7, 10))):
        c2 = dataclasses.replace(cfg, data=config.deep_merge(cfg.data, {"notices": {"cvs": {"payment_deadline": rule}}}))
        assert gs1.parse(print_data.barcode_series(slots, c2, fy=2026)[0], max_amount=CEILING).due_date == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 12), st.integers(0, 2**32 - 1)), min_size=0, max_size=5),
       st.integers(1, 70), st.booleans())
def test_property_c_gs1_digits_equal_the_numpy_matrix(spec, n, many_threads):
    """kb_gs1 (two digits per division, the check digit from the even and odd sums) and the numpy
    digit matrix give the same 44 bytes for fields of every width at any position, with zero, the
    largest value of the width and random values."""
    from unittest import mock

    from jobs.common.fixedwidth import native

    if native.lib() is None:
        pytest.skip("no C compiler: the native library is not built")
    width_left = 43
    d = print_data._Digits(n)
    d.const("91")
    width_left -= 2
    for w, seed in spec:
        if w > width_left:
            break
        rng = np.random.default_rng(seed)
        v = rng.integers(0, 10 ** min(w, 18), n, dtype=np.int64)
        v[0] = 0
        v[-1] = 10 ** w - 1 if w <= 18 else v[-1]
        d.ints(v, w)
        width_left -= w
    d.const("7" * width_left)
    with mock.patch.object(native, "MIN_ASSEMBLE_ROWS_PER_THREAD", 3 if many_threads else 8_192), \
            mock.patch.dict("os.environ", {"KOKUHO_FW_THREADS": "4"}):
        c = native.gs1_digits(d.template, d.fields, n)
    assert c.tobytes() == d.matrix().tobytes()
    for row in c[:3]:
        code = row.tobytes().decode()
        digits = [int(x) for x in code[:43]]
        s = sum((3 if q % 2 == 0 else 1) * x for q, x in enumerate(digits))
        assert int(code[43]) == (10 - s % 10) % 10


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)) | st.none(), min_size=1, max_size=30),
       st.lists(st.dates(dt.date(1960, 1, 1), dt.date(2100, 12, 31)), min_size=1, max_size=30))
def test_property_day_table_gives_polars_year_month_day(wide, near):
    """writer.date_numbers (a table over the range of days, shared by the print file's YYYYMMDD and the
    barcodes' YYMMDD) and dt.year / dt.month / dt.day agree, on near dates and on any dates with nulls
    (0 where null); it declines (None) only a range of 400,000 days or more, which the callers give to
    Polars."""
    for values in (near, wide):
        s = pl.Series("d", values, dtype=pl.Date)
        for k, want in enumerate((s.dt.year(), s.dt.month(), s.dt.day())):
            got = date_numbers(s, lambda *ymd, k=k: ymd[k])
            if got is None:
                days = s.drop_nulls().to_physical()
                assert days.max() - days.min() >= 400_000
                continue
            assert np.array_equal(got[0], want.cast(pl.Int64).fill_null(0).to_numpy())
            assert np.array_equal(got[1], s.is_null().to_numpy())


def test_spread_of_unsorted_slots_equals_the_sorted_way(cfg):
    """_spread finds slot i of each notice from its first row when _slots laid them out (sorted by
    notice, numbered 1..); rows in another order take the per-slot search, with the same frame."""
    a, i, ad = sample_frames(300, seed=11)
    frame = print_data.notice_frame(a, i, ad, cfg, issue_date=dt.date(2026, 6, 15))
    base = frame.select("household_id").with_row_index("_h")
    inst = i.filter(pl.col("method") == "ordinary").join(base, on="household_id").with_columns(
        pl.col("_h").cast(pl.UInt32))
    slots = print_data._slots(inst, 10, "普通徴収")
    items = {"no": "installment_no", "amount": "amount"}
    sorted_way = print_data._spread(frame.select("household_id"), slots, "ordinary", 10, items)
    shuffled = slots.sample(fraction=1.0, shuffle=True, seed=3)
    assert sorted_way.equals(print_data._spread(frame.select("household_id"), shuffled, "ordinary", 10, items))
    assert sorted_way.select("ordinary_1_amount", "ordinary_10_no").equals(frame.select("ordinary_1_amount", "ordinary_10_no"))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(1, 4)), min_size=1, max_size=40),
       st.booleans())
def test_property_runs_order_equals_the_stable_sort(rows, grouped):
    """_runs_order (a counting sort of runs of one household already in (納期限, 期) order) gives the
    stable sort's rows, ties and all, and None where the rows are not so laid out."""
    if grouped:
        rows = sorted(rows, key=lambda r: (r[0] * 7919) % 13)  # households together, 期 in drawn order
    inst = pl.DataFrame({"_h": [r[0] for r in rows], "due_date": [dt.date(2026, 6, 1) + dt.timedelta(days=30 * r[1]) for r in rows],
                         "installment_no": [r[2] for r in rows], "row": list(range(len(rows)))},
                        schema_overrides={"_h": pl.UInt32})
    want = inst.sort(["_h", "due_date", "installment_no"], maintain_order=True)
    order = print_data._runs_order(inst)
    if order is not None:
        assert inst[order].equals(want)
    got = print_data._slots(inst.with_columns(pl.lit("x").alias("household_id")), 99, "普通徴収")
    assert got.drop("slot").equals(want.with_columns(pl.lit("x").alias("household_id")))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["0000000001", "0000000002", "0000000003", "0000000009", None]), min_size=1, max_size=30),
       st.integers(1, 4))
def test_property_installments_find_their_notice_row_as_the_join_does(hids, repeat):
    """_normalize_installments joins the first row of each run of one 世帯番号 and repeats its row
    number: the same _h as joining every row (orphans and nulls included, which are refused)."""
    hids = [h for h in hids for _ in range(repeat)]  # runs of 1..4 期 (the run-head join from 2)
    base = pl.DataFrame({"household_id": ["0000000003", "0000000001", "0000000002"]})
    inst = pl.DataFrame({"household_id": hids, "installment_no": list(range(len(hids))), "method": ["ordinary"] * len(hids),
                         "month": [6] * len(hids), "due_date": [dt.date(2026, 6, 30)] * len(hids),
                         "amount": [100] * len(hids)}, schema_overrides={"household_id": pl.String})
    full = inst.select("household_id").join(base.with_row_index("_h"), on="household_id", how="left", maintain_order="left")
    if full["_h"].null_count():
        with pytest.raises(print_data.NoticeError, match="賦課データにない世帯"):
            print_data._normalize_installments(inst, base)
        return
    got = print_data._normalize_installments(inst, base)
    assert got["_h"].to_list() == full["_h"].to_list()
    assert got.drop("_h").equals(inst.select(got.drop("_h").columns))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(0, 2**32 - 1), st.booleans())
def test_property_c_gs1_views_are_the_arrow_string_views_of_the_digits(n, seed, many_threads):
    """kb_gs1's Arrow string views (length 44, the first 4 bytes, buffer 0, offset i * 44; empty where
    no barcode is printed) are what the numpy path builds, and Polars reads them as the digits."""
    from unittest import mock

    import pyarrow as pa

    from jobs.common.fixedwidth import native

    if native.lib() is None:
        pytest.skip("no C compiler: the native library is not built")
    rng = np.random.default_rng(seed)
    d = print_data._Digits(n)
    d.const("91")
    d.ints(rng.integers(0, 10 ** 10, n, dtype=np.int64), 10)
    d.const("0" * 31)
    valid = rng.random(n) < 0.8
    with mock.patch.object(native, "MIN_ASSEMBLE_ROWS_PER_THREAD", 3 if many_threads else 8_192), \
            mock.patch.dict("os.environ", {"KOKUHO_FW_THREADS": "4"}):
        out, views = native.gs1_digits(d.template, d.fields, n, valid, views=True)
    want = np.zeros((n, 4), dtype=np.uint32)
    want[:, 0] = 44
    want[:, 1] = out.view(np.uint32)[:, 0]
    want[:, 3] = np.arange(n, dtype=np.uint32) * 44
    want[~valid] = 0
    assert views.tobytes() == want.tobytes()
    assert out.tobytes() == d.matrix().tobytes()
    s = d.barcodes(valid)
    assert s.to_list() == [row.tobytes().decode() if ok else None for row, ok in zip(out, valid)]
    assert s.equals(pl.Series("barcode", pa.array(s.to_list(), type=pa.large_string())).cast(pl.String))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dates(dt.date(1990, 1, 1), dt.date(2110, 12, 31)), min_size=1, max_size=30), st.booleans())
def test_property_yymmdd_table_equals_the_polars_way(values, with_null):
    """print_data._yymmdd (a table over the days' range, the years checked at its ends) gives the
    YYMMDD of dt.year / dt.month / dt.day, and None exactly when a date falls outside 2000–2099."""
    s = pl.Series("d", values + ([None] if with_null else []), dtype=pl.Date)
    got = print_data._yymmdd(s)
    if with_null:
        return  # the Polars way (nulls): as before
    years = s.dt.year().cast(pl.Int64).to_numpy()
    if ((years < 2000) | (years > 2099)).any():
        assert got is None
        return
    want = (years % 100) * 10_000 + s.dt.month().cast(pl.Int64).to_numpy() * 100 + s.dt.day().cast(pl.Int64).to_numpy()
    assert np.array_equal(got, want)


def test_a_bad_method_is_still_named(cfg):
    a, i, ad = sample_frames(20, seed=3)
    i = i.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("bank")).otherwise(pl.col("method")).alias("method"))
    with pytest.raises(print_data.NoticeError, match=r"徴収方法が不正です: \['bank'\]"):
        print_data.notice_frame(a, i, ad, cfg, issue_date=dt.date(2026, 6, 15))
