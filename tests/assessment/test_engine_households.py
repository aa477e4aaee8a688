"""The engine's household plumbing (issue 14): members numbered by household in ``household_id``
order and reduced with ``ufunc.at`` (``engine._Households``) instead of two Polars group-bys and a
join, and the integer sort key of digit ids (``engine._sort_key``).

- old vs new: ``_Households.reduce`` equals the Polars group-by it replaced (sum, min, max, bitwise
  or, any; nulls; unsorted and interleaved households), on random frames;
- ``_sort_key`` orders every list of ids as the strings do;
- members.py: the integer person key (digit ids of one length) gives the member-year frame of
  the string join;
- the assessment does not depend on the members' order (shuffled and interleaved households give
  the same frame, sorted by household_id) and equals the per-household reference for ids of any
  shape; the 納税義務者 is the first householder in the members' order, as before.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tax_helpers import frame
from test_tax_properties import RATES, _assert_same, member

from jobs.assessment import engine, members, reference

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids = st.one_of(
    st.lists(st.integers(0, 10**10 - 1).map(lambda n: f"{n:010d}"), min_size=1, max_size=8),  # 世帯番号 shape
    st.lists(st.text("0123456789", min_size=1, max_size=4), min_size=1, max_size=8),  # digits, lengths differ
    st.lists(st.text("09AZaz-+ 世帯", min_size=0, max_size=4), min_size=1, max_size=8),  # anything
)


@st.composite
def groups(draw):
    """A frame of members with household ids (unsorted, interleaved, some values null)."""
    hids = draw(ids)
    n = draw(st.integers(1, 40))
    key = [draw(st.sampled_from(hids)) for _ in range(n)]
    opt = lambda s: st.one_of(st.none(), s)  # noqa: E731
    return pl.DataFrame({
        "household_id": key,
        "money": [draw(opt(st.integers(-(10**12), 10**12))) for _ in range(n)],
        "mask": [draw(opt(st.integers(0, 4095))) for _ in range(n)],
        "day": [draw(opt(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)))) for _ in range(n)],
        "flag": [draw(opt(st.booleans())) for _ in range(n)],
    }, schema={"household_id": pl.String, "money": pl.Int64, "mask": pl.Int64, "day": pl.Date, "flag": pl.Boolean})


@SETTINGS
@given(groups())
def test_household_reduce_equals_the_group_by_it_replaced(df):
    households = engine._Households.of(df["household_id"])
    new = pl.concat([households.households(df["household_id"]), households.reduce(df, {
        "money_sum": ("sum", pl.col("money")), "money_min": ("min", pl.col("money")),
        "money_max": ("max", pl.col("money")), "mask_or": ("or", pl.col("mask")),
        "day_min": ("min", pl.col("day")), "day_max": ("max", pl.col("day")),
        "flag_any": ("any", pl.col("flag")), "flag_count": ("sum", pl.col("flag")),
    })], how="horizontal")
    old = df.group_by("household_id").agg(
        pl.col("money").sum().alias("money_sum"), pl.col("money").min().alias("money_min"),
        pl.col("money").max().alias("money_max"), pl.col("mask").bitwise_or().alias("mask_or"),
        pl.col("day").min().alias("day_min"), pl.col("day").max().alias("day_max"),
        pl.col("flag").any().alias("flag_any"), pl.col("flag").sum().cast(pl.Int64).alias("flag_count"),
    ).sort("household_id")
    assert new.equals(old), (new, old)


@SETTINGS
@given(ids)
def test_sort_key_orders_as_the_strings(hids):
    s = pl.Series("household_id", hids)
    key = engine._sort_key(s)
    by_key = pl.DataFrame({"k": key}).select(pl.arg_sort_by("k", maintain_order=True)).to_series().to_list()
    by_string = pl.DataFrame({"k": s}).select(pl.arg_sort_by("k", maintain_order=True)).to_series().to_list()
    assert by_key == by_string


def test_sort_key_is_an_integer_only_for_fixed_length_digit_ids():
    assert engine._sort_key(pl.Series(["0000012345", "9999999999", "0000000000"])).dtype == pl.Int64
    for other in (["12", "3"], ["+1", "01"], ["-1", "01"], ["1 ", "01"], ["１２", "12"], ["12", None], []):
        assert engine._sort_key(pl.Series(other, dtype=pl.String)).dtype == pl.String


@st.composite
def shuffled_case(draw):
    fy = draw(st.sampled_from([2024, 2025, 2026]))
    key = (fy, draw(st.sampled_from(["saitama", "four_way"])),
           draw(st.sampled_from(["cap_then_prorate", "prorate_then_cap"])),
           draw(st.sampled_from(["reduce_then_cap", "cap_then_reduce"])))
    names = draw(st.lists(st.text("0123456789AZ世-", min_size=1, max_size=6), min_size=1, max_size=8, unique=True))
    rows = []
    for hid in names:
        size = draw(st.integers(1, 4))
        ms = [draw(member(fy, hid, i)) for i in range(size)]
        for i in draw(st.sets(st.integers(0, size - 1), max_size=2)):  # none, one or two householders
            ms[i]["is_householder"] = True
        rows += ms
    seed = draw(st.integers(0, 2**32 - 1))
    return RATES[key], rows, seed


@SETTINGS
@given(shuffled_case())
def test_members_order_does_not_change_the_assessment(c):
    rates, rows, seed = c
    out = engine.assess(frame(rows), rates)
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)  # households interleaved
    again = engine.assess(frame(shuffled), rates)
    assert out["household_id"].to_list() == sorted(out["household_id"].to_list())
    # the 納税義務者 is the first householder in the members' order
    first = {}
    for r in shuffled:
        if r.get("is_householder"):
            first.setdefault(r["household_id"], r["person_id"])
    assert dict(zip(again["household_id"], again["taxpayer_person_id"], strict=True)) == \
        {h: first.get(h) for h in again["household_id"]}
    _assert_same(again.drop("taxpayer_person_id"), out.drop("taxpayer_person_id"))
    _assert_same(again, reference.assess_frame(frame(shuffled), rates))


@st.composite
def intake_frames(draw):
    """Small 資格 and 住民税 frames with 10-digit person ids: duplicates on both sides, income records
    of persons not in 資格, persons without one."""
    people = draw(st.lists(st.integers(0, 10**10 - 1), min_size=1, max_size=12, unique=True))
    pid = [f"{p:010d}" for p in people]
    q_ids = draw(st.lists(st.sampled_from(pid), min_size=1, max_size=16))
    i_ids = draw(st.lists(st.sampled_from(pid), max_size=16))
    day = st.dates(dt.date(1940, 1, 1), dt.date(2027, 3, 31))
    q = pl.DataFrame({
        "record_no": list(range(1, len(q_ids) + 1)), "person_id": q_ids,
        "household_id": [f"H{draw(st.integers(0, 3))}" for _ in q_ids],
        "householder_flag": [draw(st.sampled_from(["0", "1"])) for _ in q_ids],
        "birth_date": [draw(day) for _ in q_ids],
        "acquired_date": [draw(st.one_of(st.none(), day)) for _ in q_ids],
        "lost_date": [draw(st.one_of(st.none(), day)) for _ in q_ids],
    })
    i = pl.DataFrame({
        "record_no": list(range(1, len(i_ids) + 1)), "person_id": i_ids,
        "fiscal_year": [str(draw(st.sampled_from([2025, 2026]))) for _ in i_ids],
        "change_kind": [draw(st.sampled_from(["0", "1"])) for _ in i_ids],
        "declaration_kind": [draw(st.sampled_from(["0", "1", "2"])) for _ in i_ids],
        "total_income": [draw(st.integers(0, 5_000_000)) for _ in i_ids],
        "salary_income": [draw(st.integers(0, 5_000_000)) for _ in i_ids],
    }, schema_overrides={"person_id": pl.String})
    return q, i


@SETTINGS
@given(intake_frames())
def test_members_with_integer_person_keys_equal_the_string_join(frames):
    q, i = frames
    rates = RATES[(2026, "saitama", "cap_then_prorate", "reduce_then_cap")]
    assert members._digit_ids(q, i) or i.height == 0
    fast = members.build_members(q, i, fy=2026, rates=rates)
    # the same persons under ids that are not all digits: the string join
    p = pl.col("person_id")
    prefixed = (pl.lit("P") + p).alias("person_id")
    assert not members._digit_ids(q.with_columns(prefixed), i.with_columns(prefixed))
    slow = members.build_members(q.with_columns(prefixed), i.with_columns(prefixed), fy=2026, rates=rates) \
        .with_columns(p.str.slice(1))
    key = ["household_id", "person_id"]
    fast, slow = fast.sort(key), slow.sort(key)
    bad = [c for c in fast.columns if not fast[c].equals(slow[c])]
    assert not bad, (bad, fast.select(bad).to_dicts(), slow.select(bad).to_dicts(), q.to_dicts(), i.to_dicts())


def test_integer_person_keys_only_for_digit_ids_of_one_length():
    q = pl.DataFrame({"person_id": ["0000000001", "0000000002"]})
    assert members._digit_ids(q, pl.DataFrame({"person_id": ["0000000002"]}))
    for other in (["2"], ["+000000002"], ["00000000x2"], [None]):
        assert not members._digit_ids(q, pl.DataFrame({"person_id": other}, schema={"person_id": pl.String}))
    assert not members._digit_ids(q.lazy(), q)
