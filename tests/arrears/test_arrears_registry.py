"""The registry entries of issue 11's remaining pieces: TN530 is TN630 (the same function) after each
month closing in KB700; TN150 財産調査照会 ends KB610."""

from __future__ import annotations

from jobs import registry


def test_tn530_runs_tn630s_function_after_the_books():
    tn530, tn630 = registry.get("TN530"), registry.get("TN630")
    assert tn530.func == tn630.func == "jobs.arrears.year_close:handover"
    assert tn530.outputs == tn630.outputs and tn530.writes_ledger
    assert tn530.after == ("TN520",)
    assert registry.JOBNETS["KB700"].steps == ("TN510", "TN520", "TN530")
    assert "TN630" in registry.JOBNETS["KB710"].steps


def test_tn150_ends_kb610():
    spec = registry.get("TN150")
    assert spec.func == "jobs.arrears.inquiry_steps:property_inquiry" and spec.writes_ledger
    assert registry.JOBNETS["KB610"].steps[-1] == "TN150" and spec.after == ("TN130",)
