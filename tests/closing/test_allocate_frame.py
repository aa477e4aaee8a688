"""closing.allocate_frame (TN610's split of each carried balance into 医療・支援・介護・子ども) equals
closing.allocate row by row, to the yen (hypothesis)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.arrears import closing

KEYS = ("medical", "support", "care", "child")
rows = st.lists(st.tuples(st.integers(-2_000_000, 2_000_000), *[st.integers(0, 500_000)] * 4), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(rows=rows)
def test_allocate_frame_equals_allocate_per_row(rows):
    frame = pl.DataFrame(rows, schema=["balance", *KEYS], orient="row",
                         schema_overrides={"balance": pl.Int64, **{k: pl.Int64 for k in KEYS}})
    got = closing.allocate_frame(frame, "balance", KEYS).select([f"{k}_part" for k in KEYS]).rows()
    want = [tuple(closing.allocate(b, dict(zip(KEYS, ws, strict=True))).values()) for b, *ws in rows]
    assert got == want


def test_ties_and_zero_weights():
    frame = pl.DataFrame({"balance": [10, 7, 0, -5], "medical": [1, 0, 3, 1], "support": [1, 0, 1, 1],
                          "care": [1, 0, 0, 1], "child": [0, 0, 0, 0]})
    got = closing.allocate_frame(frame, "balance", KEYS).select([f"{k}_part" for k in KEYS]).rows()
    assert got == [tuple(closing.allocate(b, dict(zip(KEYS, ws, strict=True))).values())
                   for b, *ws in frame.rows()]
    assert got[1] == (7, 0, 0, 0)  # all weights 0: the first column takes it all
