"""The 期別 a 分割納付 納付書 names (jobs.arrears.record_steps._slip_targets), as a hypothesis property:
paying the 回 in order against the targets oldest first, 回 k names the target that the first yen of
回 k lands on (the oldest 期別 still open after the earlier 回); past every target's balance, the last
target. The sequence never goes back to an older 期別."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.arrears.record_steps import _slip_targets


@settings(max_examples=300, deadline=None)
@given(balances=st.lists(st.integers(1, 200_000), min_size=1, max_size=8),
       amounts=st.lists(st.integers(1, 300_000), min_size=1, max_size=36))
def test_each_slip_names_where_its_first_yen_lands(balances, amounts):
    targets = [{"i": i, "balance": b} for i, b in enumerate(balances)]
    picked = [t["i"] for t in _slip_targets(targets, amounts)]
    assert len(picked) == len(amounts)
    assert picked == sorted(picked)
    before = 0
    for k, amount in enumerate(amounts):
        if before >= sum(balances):
            assert picked[k] == len(balances) - 1
        else:
            start = sum(balances[:picked[k]])
            assert start <= before < start + balances[picked[k]]
        before += amount


def test_the_worked_example():
    # 期1 50,000 and 期2 30,000 in 30,000 + 30,000 + 20,000: 回2 still begins on 期1
    targets = [{"i": 1, "balance": 50_000}, {"i": 2, "balance": 30_000}]
    assert [t["i"] for t in _slip_targets(targets, [30_000, 30_000, 20_000])] == [1, 1, 2]
