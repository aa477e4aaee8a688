"""jobs.common.register.one_per_person: the one 資格 row per person every 宛名 comes from."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.common.register import one_per_person


def _q(rows):
    return pl.DataFrame(rows, schema={"person_id": pl.String, "acquired_date": pl.Date, "address_kanji": pl.String},
                        orient="row")


def test_unique_register_is_returned_as_it_is():
    q = _q([("2", dt.date(2020, 4, 1), "B"), ("1", dt.date(2021, 4, 1), "A")])
    assert one_per_person(q).equals(q)


def test_the_newest_period_wins_then_the_later_record():
    q = _q([
        ("1", dt.date(2024, 5, 1), "新住所"),   # 再取得 (newest period) listed first
        ("2", dt.date(2020, 4, 1), "旧"),
        ("1", dt.date(2019, 4, 1), "旧住所"),
        ("2", dt.date(2020, 4, 1), "後の記録"),  # same 取得日: the later record
        ("3", None, "取得日なし"),
        ("3", dt.date(2022, 1, 1), "取得日あり"),
    ])
    got = one_per_person(q)
    assert got["person_id"].to_list() == ["1", "2", "3"]   # each person where it first appeared
    assert got["address_kanji"].to_list() == ["新住所", "後の記録", "取得日あり"]


def test_without_acquired_date_the_later_record_wins():
    q = pl.DataFrame({"person_id": ["1", "1"], "address_kanji": ["前", "後"]})
    assert one_per_person(q)["address_kanji"].to_list() == ["後"]


rows = st.lists(st.tuples(st.sampled_from(["1", "2", "3", "4"]),
                          st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2030, 1, 1))),
                          st.text("あいう", min_size=1, max_size=3)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(rows)
def test_one_row_per_person_idempotent_and_from_the_input(data):
    q = _q(data)
    got = one_per_person(q)
    assert got["person_id"].n_unique() == got.height == q["person_id"].n_unique()
    assert one_per_person(got).equals(got)
    assert got.join(q, on=got.columns, how="anti", nulls_equal=True).height == 0   # every chosen row is an input row
    # the chosen row of each person has that person's greatest 取得日
    newest = q.group_by("person_id").agg(pl.col("acquired_date").max().alias("m"))
    chk = got.join(newest, on="person_id")
    assert chk.filter(pl.col("m").is_not_null() & (pl.col("acquired_date") != pl.col("m"))).height == 0
