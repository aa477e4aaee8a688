"""過誤納の充当・還付, 還付加算金 and the 総合振込 (種別21) refund transfer file (jobs/collection/refunds.py).

No published worked example with all of amount, dates, rate and result was found (searched:
municipal 還付加算金 pages of 広島市, 草津市, 大津市, 高石市, 神栖市, 和歌山市, 川崎市宮前区, 大田区,
世田谷区 — they give the formula, the rates and the thresholds, not a computed case). The cases
below are computed by hand from the formula those pages state:

    還付加算金 = 還付金(1,000円未満切捨て; 2,000円未満は加算なし) × 割合 × 日数 ÷ 365 (閏年も365),
    100円未満切捨て, 1,000円未満は加算しない
    https://www.city.kusatsu.shiga.jp/kurashi/zeikin/nozei/kannpu1.html
    https://www.city.otsu.lg.jp/kurashi/zei/nozei/44847.html
    http://www.city.hiroshima.lg.jp/site/shizei-nouhu/2139.html
    https://www.city.takaishi.lg.jp/kakuka/soumu/zeimu_ka/topics/zeikinnwoosamesugitara.html
起算日: 過納 (賦課決定・減額更正) 納付日の翌日, 誤納 納付日の翌日から1月を経過する日の翌日
    https://miyamae-portal.net/public_info/00000066435/?cat=153016&cmd=faq (地方税法17条の4①1号, 4号)
    https://www-city-ota-tokyo-jp.cache.yimg.jp/seikatsu/kokunen/kokuho/hokenryou/kanpu.html (大田区 国保)
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.collection import refunds as rf
from jobs.common import config
from jobs.common import fixedwidth as fw
from jobs.common.config import Config, ConfigError, deep_merge

ROOT = Path(__file__).resolve().parents[2]
D = dt.date


@pytest.fixture(scope="module")
def cfg():
    return config.load("111007", 2026)


@pytest.fixture(scope="module")
def rules(cfg):
    return rf.InterestRules.from_config(cfg)


def with_cfg(cfg: Config, override: dict) -> Config:
    return Config(data=deep_merge(cfg.data, override), municipality=cfg.municipality, fy=cfg.fy)


# --- 還付加算金 -------------------------------------------------------------------------------------

def test_rates_come_from_config(rules):
    by_year = {p.start.year: p.rate for p in rules.periods}
    assert by_year[2022] == 9_000 and by_year[2026] == 13_000  # 0.9%, 1.3% (TAX_RULES §8)
    assert rules.days_per_year == 365 and rules.base_minimum == 2000 and rules.interest_minimum == 1000


def test_hand_computed_rate_change_inside_period(cfg):
    # 減額更正 of a 1,234,567円 payment made 2025-05-31, 還付 decided 2026-03-31.
    # 起算日 2025-06-01. base 1,234,000 (1,000円未満切捨て).
    # 2025-06-01..2025-12-31 = 214 days at 0.9%: 1,234,000 × 0.009 × 214 / 365 = 6,511.46 → 6,511
    # 2026-01-01..2026-03-31 =  90 days at 1.3%: 1,234,000 × 0.013 ×  90 / 365 = 3,955.56 → 3,955
    # 10,466 → 100円未満切捨て 10,400
    start = rf.refund_start_date("correction", D(2025, 5, 31), D(2025, 5, 31), D(2026, 3, 31), cfg)
    assert start == D(2025, 6, 1)
    assert rf.refund_interest(1_234_567, start, D(2026, 3, 31), cfg) == 10_400
    # the same with exact fractions
    exact = (Fraction(1_234_000 * 9, 1000) * 214 / 365, Fraction(1_234_000 * 13, 1000) * 90 / 365)
    assert [int(x) for x in exact] == [6511, 3955]


def test_hand_computed_single_period(cfg):
    # 誤納 (二重納付) 300,000円 paid 2024-04-10 → 起算日 2024-05-11 (一月を経過する日 05-10 の翌日);
    # decided 2025-03-31: 325 days at 0.9%: 300,000 × 0.009 × 325 / 365 = 2,404.1 → 2,400
    start = rf.refund_start_date("duplicate", D(2024, 4, 10), D(2024, 4, 30), D(2025, 3, 31), cfg)
    assert start == D(2024, 5, 11)
    assert (D(2025, 3, 31) - start).days + 1 == 325
    assert rf.refund_interest(300_000, start, D(2025, 3, 31), cfg) == 2_400


def test_base_thresholds(cfg):
    long = (D(2022, 1, 1), D(2025, 12, 31))  # 4 years at 0.9%
    assert rf.refund_interest(1_999, *long, cfg) == 0             # 2,000円未満: 加算なし
    assert rf.refund_interest(1_999_999, *long, cfg) == rf.refund_interest(1_999_000, *long, cfg)  # 1,000円未満切捨て
    # 1,999 → base 0, even over years; 2,000 → base 2,000 but 2,000 × 0.9% × 4 = 72円 < 1,000 → 0
    assert rf.refund_interest(2_000, *long, cfg) == 0


def test_interest_minimum_and_100_yen_rounding(cfg):
    # base 100,000 at 0.9% = 900/365 円 a day: 405 days → 998.6 → 998 < 1,000 → 0;
    # 406 days → 1,001.0 → 1,001 → 1,000 (100円未満切捨て)
    start = D(2023, 1, 1)
    assert rf.refund_interest(100_000, start, start + dt.timedelta(days=404), cfg) == 0
    assert rf.refund_interest(100_000, start, start + dt.timedelta(days=405), cfg) == 1_000
    # 1,000,000 for 2023 (365 days): 9,000 exactly; 2,000,000: 18,000
    assert rf.refund_interest(1_000_000, D(2023, 1, 1), D(2023, 12, 31), cfg) == 9_000
    # 1,234,000 for 100 days: 1,234,000 × 0.009 × 100 / 365 = 3,042.7 → 3,000
    assert rf.refund_interest(1_234_000, D(2023, 3, 1), D(2023, 6, 8), cfg) == 3_000


def test_leap_year_counts_366_days_over_365(cfg):
    # 2024 has 366 days; the year is still 365 (草津市「閏年も365日」):
    # 10,000,000 × 0.009 × 366 / 365 = 90,246.6 → 90,200 (not 90,000)
    assert rf.refund_interest(10_000_000, D(2024, 1, 1), D(2024, 12, 31), cfg) == 90_200
    assert rf.refund_interest(10_000_000, D(2023, 1, 1), D(2023, 12, 31), cfg) == 90_000


def test_empty_period_and_missing_rate(cfg):
    assert rf.refund_interest(500_000, D(2025, 4, 2), D(2025, 4, 1), cfg) == 0
    with pytest.raises(ConfigError, match="割合"):
        rf.refund_interest(500_000, D(2026, 6, 1), D(2027, 1, 31), cfg)
    frame = pl.DataFrame({"amount": [500_000], "start_date": [D(2026, 6, 1)], "end_date": [D(2027, 1, 31)]})
    with pytest.raises(ConfigError, match="割合"):
        rf.refund_interest_frame(frame, cfg)


def test_period_rounding_is_configurable(cfg):
    # period_unit 0 adds the periods' exact amounts; 1 (shipped) cuts each to the yen first.
    # 1,001,000 over 2025-07-01..2026-06-30: 4,541.3.. + 6,453.4.. — the same 10,900 either way
    exact = with_cfg(cfg, {"refund": {"interest": {"period_unit": 0}}})
    args = (1_001_000, D(2025, 7, 1), D(2026, 6, 30))
    assert rf.refund_interest(*args, exact) == rf.refund_interest(*args, cfg)
    assert rf.InterestRules.from_config(exact).period_unit == 0


dates = st.dates(min_value=D(2014, 1, 1), max_value=D(2026, 12, 31))


@settings(max_examples=300, deadline=None)
@given(amounts=st.lists(st.integers(min_value=0, max_value=10_000_000_000), min_size=1, max_size=20),
       starts=st.lists(dates, min_size=20, max_size=20), ends=st.lists(dates, min_size=20, max_size=20))
def test_frame_equals_scalar(rules, amounts, starts, ends):
    n = len(amounts)
    frame = pl.DataFrame({"amount": amounts, "start_date": starts[:n], "end_date": ends[:n]},
                         schema={"amount": pl.Int64, "start_date": pl.Date, "end_date": pl.Date})
    got = rf.refund_interest_frame(frame, rules).to_list()
    want = [rf.refund_interest(a, s, e, rules) for a, s, e in zip(amounts, starts, ends)]
    assert got == want
    assert all(x % 100 == 0 and (x == 0 or x >= 1000) for x in got)


# --- 起算日 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("paid,start", [
    (D(2025, 4, 10), D(2025, 5, 11)),   # 04-11 から1月 → 05-10 経過, 翌日 05-11
    (D(2024, 1, 30), D(2024, 3, 1)),    # 01-31 から1月: 2月に31日なし → 2月末 02-29 (閏年), 翌日 03-01
    (D(2025, 1, 30), D(2025, 3, 1)),    # 同 平年 02-28, 翌日 03-01
    (D(2025, 1, 27), D(2025, 2, 28)),   # 01-28 から1月 → 02-27, 翌日 02-28
    (D(2025, 12, 15), D(2026, 1, 16)),  # 年をまたぐ
    (D(2025, 12, 31), D(2026, 2, 1)),   # 2026-01-01 から1月 → 01-31, 翌日 02-01
])
def test_start_date_of_erroneous_payment(cfg, paid, start):
    for cause in ("duplicate", "excess"):
        assert rf.refund_start_date(cause, paid, None, D(2026, 12, 31), cfg) == start


def test_start_date_of_correction(cfg):
    assert rf.refund_start_date("correction", D(2025, 6, 20), D(2025, 6, 30), None, cfg) == D(2025, 6, 21)
    clamp = with_cfg(cfg, {"refund": {"start": {"correction": {"not_before_due_date": True}}}})
    assert rf.refund_start_date("correction", D(2025, 6, 20), D(2025, 6, 30), None, clamp) == D(2025, 7, 1)
    assert rf.refund_start_date("correction", D(2025, 7, 20), D(2025, 6, 30), None, clamp) == D(2025, 7, 21)
    # never after the day following the decision (0 days of interest)
    assert rf.refund_start_date("duplicate", D(2025, 6, 20), None, D(2025, 7, 1), cfg) == D(2025, 7, 2)
    with pytest.raises(ValueError):
        rf.refund_start_date("refund", D(2025, 6, 20), None, None, cfg)


# --- 充当 -----------------------------------------------------------------------------------------

def over(rows):
    cols = ["person_id", "levy_year", "notice_number", "installment_no", "overpaid", "paid_date", "due_date", "cause"]
    return pl.DataFrame([dict(zip(cols, r)) for r in rows],
                        schema={"person_id": pl.String, "levy_year": pl.Int32, "notice_number": pl.String,
                                "installment_no": pl.Int32, "overpaid": pl.Int64, "paid_date": pl.Date,
                                "due_date": pl.Date, "cause": pl.String})


def unp(rows):
    cols = ["person_id", "levy_year", "notice_number", "installment_no", "due_date", "balance"]
    return pl.DataFrame([dict(zip(cols, r)) for r in rows],
                        schema={"person_id": pl.String, "levy_year": pl.Int32, "notice_number": pl.String,
                                "installment_no": pl.Int32, "due_date": pl.Date, "balance": pl.Int64})


N1, N2 = "10000000001", "10000000002"


def test_allocation_oldest_first_with_splits(cfg):
    o = over([
        ("P1", 2025, N1, 2, 30_000, D(2025, 7, 31), D(2025, 7, 31), "duplicate"),
        ("P1", 2025, N1, 1, 50_000, D(2025, 6, 30), D(2025, 6, 30), "correction"),
    ])
    u = unp([
        ("P1", 2024, N2, 10, D(2025, 3, 31), 25_000),
        ("P1", 2023, N2, 9, D(2024, 3, 31), 40_000),
        ("P1", 2024, N2, 9, D(2025, 2, 28), 10_000),
    ])
    offsets, refunds = rf.allocate(o, u, decision_date=D(2026, 2, 2), cfg=cfg)
    got = offsets.select("from_installment_no", "to_levy_year", "to_installment_no", "amount").rows()
    # overpayments oldest first (installment 1 then 2), unpaid oldest first (2023/9, 2024/9, 2024/10);
    # 50,000 → 40,000 to 2023/9 + 10,000 to 2024/9; 30,000 → 25,000 to 2024/10, 5,000 left
    assert got == [(1, 2023, 9, 40_000), (1, 2024, 9, 10_000), (2, 2024, 10, 25_000)]
    assert refunds.select("installment_no", "amount", "cause").rows() == [(2, 5_000, "duplicate")]
    assert list(offsets.columns) == list(rf.OFFSET_SCHEMA)
    assert refunds.columns[:len(rf.REFUND_SCHEMA)] == list(rf.REFUND_SCHEMA)
    assert offsets["amount"].sum() + refunds["amount"].sum() == 80_000


def test_unpaid_split_over_several_overpayments(cfg):
    o = over([
        ("P1", 2025, N1, 1, 3_000, D(2025, 6, 30), D(2025, 6, 30), "excess"),
        ("P1", 2025, N1, 2, 4_000, D(2025, 7, 31), D(2025, 7, 31), "excess"),
        ("P1", 2025, N1, 3, 5_000, D(2025, 8, 31), D(2025, 8, 31), "excess"),
    ])
    u = unp([("P1", 2024, N2, 8, D(2025, 1, 31), 9_500)])
    offsets, refunds = rf.allocate(o, u, decision_date=D(2025, 12, 1), cfg=cfg)
    assert offsets.select("from_installment_no", "amount").rows() == [(1, 3_000), (2, 4_000), (3, 2_500)]
    assert refunds.select("installment_no", "amount").rows() == [(3, 2_500)]


def test_allocation_keeps_people_apart_and_skips_not_yet_due(cfg):
    o = over([
        ("P1", 2025, N1, 1, 10_000, D(2025, 6, 30), D(2025, 6, 30), "correction"),
        ("P2", 2025, N2, 1, 8_000, D(2025, 6, 30), D(2025, 6, 30), "correction"),
    ])
    u = unp([
        ("P2", 2025, N2, 9, D(2026, 2, 28), 5_000),   # not yet due on the decision day
        ("P3", 2024, "10000000003", 1, D(2024, 6, 30), 5_000),
    ])
    offsets, refunds = rf.allocate(o, u, decision_date=D(2025, 12, 1), cfg=cfg)
    assert offsets.height == 0
    assert refunds.select("person_id", "amount").rows() == [("P1", 10_000), ("P2", 8_000)]
    every = with_cfg(cfg, {"refund": {"offset": {"only_past_due": False}}})
    offsets, refunds = rf.allocate(o, u, decision_date=D(2025, 12, 1), cfg=every)
    assert offsets.select("person_id", "to_installment_no", "amount").rows() == [("P2", 9, 5_000)]
    assert refunds.select("person_id", "amount").rows() == [("P1", 10_000), ("P2", 3_000)]


def test_interest_of_refund_and_offset(cfg):
    # 減額更正 (2025-11-20) of a 1,200,000円 payment made 2025-04-30; the person owes 200,000 of
    # 2024/10 (納期限 2025-03-31). Decision 2026-03-31.
    o = over([("P1", 2025, N1, 1, 1_200_000, D(2025, 4, 30), D(2025, 4, 30), "correction")])
    o = o.with_columns(pl.lit(D(2025, 11, 20)).alias("arisen_date"), pl.lit("0001").alias("bank_code"))
    u = unp([("P1", 2024, N2, 10, D(2025, 3, 31), 200_000)])
    offsets, refunds = rf.allocate(o, u, decision_date=D(2026, 3, 31), cfg=cfg)
    # offset: 起算日 2025-05-01, 充当適状日 = max(2025-11-20, 2025-04-01) = 2025-11-20: 204 days at 0.9%
    # 200,000 × 0.009 × 204 / 365 = 1,006.0 → 1,006 → 1,000
    assert offsets.select("amount", "start_date", "offset_date", "interest").rows() == [
        (200_000, D(2025, 5, 1), D(2025, 11, 20), 1_000)]
    # refund 1,000,000: 2025-05-01..2025-12-31 245 days at 0.9% = 6,041.0 → 6,041;
    # 2026-01-01..03-31 90 days at 1.3% = 3,205.4 → 3,205; 9,246 → 9,200
    assert refunds.select("amount", "start_date", "end_date", "interest").rows() == [
        (1_000_000, D(2025, 5, 1), D(2026, 3, 31), 9_200)]
    assert refunds["bank_code"].to_list() == ["0001"]  # extra columns are carried through


def test_duplicate_offset_earns_nothing_before_a_month(cfg):
    # 誤納 can be offset the day it is paid; interest would only start a month later → 0
    o = over([("P1", 2025, N1, 1, 500_000, D(2025, 6, 30), D(2025, 6, 30), "duplicate")])
    u = unp([("P1", 2024, N2, 10, D(2025, 3, 31), 500_000)])
    offsets, refunds = rf.allocate(o, u, decision_date=D(2026, 3, 31), cfg=cfg)
    assert offsets.select("offset_date", "interest").rows() == [(D(2025, 6, 30), 0)]
    assert refunds.height == 0


def test_allocate_rejects_bad_input(cfg):
    o = over([("P1", 2025, N1, 1, 0, D(2025, 6, 30), D(2025, 6, 30), "correction")])
    with pytest.raises(ValueError, match="正の整数"):
        rf.allocate(o, unp([]), decision_date=D(2025, 12, 1), cfg=cfg)
    o = over([("P1", 2025, N1, 1, 10, D(2025, 6, 30), D(2025, 6, 30), "gift")])
    with pytest.raises(ValueError, match="事由"):
        rf.allocate(o, unp([]), decision_date=D(2025, 12, 1), cfg=cfg)


people = st.sampled_from(["P1", "P2", "P3"])
day = st.dates(min_value=D(2023, 1, 1), max_value=D(2025, 12, 31))
over_row = st.tuples(people, st.integers(2023, 2025), st.sampled_from([N1, N2]), st.integers(1, 10),
                     st.integers(1, 3_000_000), day, day, st.sampled_from(list(rf.CAUSES)))
unpaid_row = st.tuples(people, st.integers(2022, 2025), st.sampled_from([N1, N2]), st.integers(1, 10), day,
                       st.integers(1, 3_000_000))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orows=st.lists(over_row, max_size=12), urows=st.lists(unpaid_row, max_size=12), past_due=st.booleans())
def test_allocation_conserves_every_yen(cfg, orows, urows, past_due):
    c = with_cfg(cfg, {"refund": {"offset": {"only_past_due": past_due}}})
    o, u = over(orows), unp(urows)
    offsets, refunds = rf.allocate(o, u, decision_date=D(2026, 1, 15), cfg=c)
    assert offsets["amount"].sum() + refunds["amount"].sum() == o["overpaid"].sum()
    assert (offsets["amount"] > 0).all() and (refunds["amount"] > 0).all()
    # per overpayment and per unpaid installment
    from_ = offsets.group_by("person_id", "from_levy_year", "from_notice_number", "from_installment_no").agg(
        pl.col("amount").sum())
    assert (from_["amount"].sum() if from_.height else 0) <= o["overpaid"].sum()
    eligible = u.filter(pl.col("due_date") < D(2026, 1, 15)) if past_due else u
    for pid in {r[0] for r in orows}:
        given_ = offsets.filter(pl.col("person_id") == pid)["amount"].sum()
        owed = eligible.filter(pl.col("person_id") == pid)["balance"].sum()
        had = o.filter(pl.col("person_id") == pid)["overpaid"].sum()
        assert given_ == min(owed, had)  # offset as much as possible
    assert offsets.filter(pl.col("offset_date") > D(2026, 1, 15)).height == 0
    assert all(x % 100 == 0 for x in offsets["interest"].to_list() + refunds["interest"].to_list())


# --- 総合振込 (種別21) ---------------------------------------------------------------------------

def refund_rows():
    return pl.DataFrame({
        "person_id": ["P1", "P2", "P3"],
        "amount": [50_000, 1_000_000, 7_000],
        "interest": [0, 9_200, 0],
        "bank_code": ["0001", "0005", None],             # P3 is paid at the counter
        "branch_code": ["001", "002", None],
        "account_type": ["1", "2", None],
        "account_number": ["0000001", "1234567", None],
        "account_holder": ["ﾔﾏﾀﾞ ﾀﾛｳ", "スズキ　ハナコ", None],   # full-width kana is folded by the codec
        "customer_code": ["2026000001", "2026000002", "2026000003"],
    })


def test_transfer_file_reads_back_and_reconciles(cfg):
    data = rf.refund_transfer_file(refund_rows(), cfg, transfer_date=D(2026, 4, 15))
    layout = fw.load_layout("zengin_21_transfer")
    res = fw.read(layout, data, source="refund.dat")
    assert res.totals["rejected"] == 0 and res.warnings == []
    assert data.count(b"\r\n") == 5 and len(data) == 5 * 122  # header, 2 data, trailer, end
    h = res.frames["header"].row(0, named=True)
    t = cfg.get("refund.transfer")
    assert (h["kind_code"], h["requester_code"], h["requester_name"], h["transfer_date"]) == (
        "21", t["requester_code"], t["requester_name"], "0415")
    assert (h["bank_code"], h["branch_code"], h["account_type"], h["account_number"]) == (
        t["bank_code"], t["branch_code"], t["account_type"], t["account_number"])
    d = res.frames["data"]
    assert d["amount"].to_list() == [50_000, 1_009_200]            # refund + interest
    assert d["customer_code1"].to_list() == ["2026000001", "2026000002"]
    assert d["account_holder"].to_list() == ["ﾔﾏﾀﾞ ﾀﾛｳ", "ｽｽﾞｷ ﾊﾅｺ"]
    assert d["transfer_designation"].to_list() == ["7", "7"] and d["clearing_house"].to_list() == ["0000", "0000"]
    tr = res.frames["trailer"].row(0, named=True)
    assert (tr["total_count"], tr["total_amount"]) == (2, 1_059_200) == (d.height, d["amount"].sum())
    assert res.totals["money"]["data.amount"] == 1_059_200


def test_transfer_file_written_atomically(cfg, tmp_path):
    target = tmp_path / "refund_20260415.dat"
    rf.write_refund_transfer_file(target, refund_rows(), cfg, transfer_date=D(2026, 4, 15))
    assert target.read_bytes() == rf.refund_transfer_file(refund_rows(), cfg, transfer_date=D(2026, 4, 15))
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_transfer_file_from_allocation(cfg):
    o = over([("P1", 2025, N1, 1, 1_200_000, D(2025, 4, 30), D(2025, 4, 30), "correction")])
    o = o.with_columns(bank_code=pl.lit("0009"), branch_code=pl.lit("150"), account_type=pl.lit("1"),
                       account_number=pl.lit("7654321"), account_holder=pl.lit("ｻﾄｳ ｲﾁﾛｳ"),
                       customer_code=pl.lit("0000000042"))
    _, refunds = rf.allocate(o, unp([]), decision_date=D(2026, 3, 31), cfg=cfg)
    res = fw.read(fw.load_layout("zengin_21_transfer"),
                  rf.refund_transfer_file(refunds, cfg, transfer_date=D(2026, 4, 15)))
    assert res.frames["data"]["amount"].to_list() == [refunds["amount"][0] + refunds["interest"][0]]


def test_transfer_layout_rejects_edi_records():
    layout = fw.load_layout("zengin_21_transfer")
    golden = (ROOT / "fixtures" / "zengin_21_transfer" / "transfer_noeol.dat").read_bytes()
    rec = bytearray(golden[120:240])
    rec[112] = ord("Y")  # 識別表示 'Y' = EDI情報 in 92–111: not used here
    res = fw.read(layout, golden[:120] + bytes(rec) + golden[240:])
    assert res.totals["rejected"] == 1 and res.rejects["field"].to_list() == ["edi_flag"]


def test_golden_files_match_their_builder():
    spec = importlib.util.spec_from_file_location("build_golden", ROOT / "fixtures" / "build_golden.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ours = {rel: make for rel, make in mod.FILES.items() if rel.startswith("zengin_21_transfer/")}
    assert set(ours) == {"zengin_21_transfer/transfer_crlf.dat", "zengin_21_transfer/transfer_noeol.dat"}
    for rel, make in ours.items():
        assert (ROOT / "fixtures" / rel).read_bytes() == make(), rel
