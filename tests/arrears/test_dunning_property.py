"""TN010 督促対象抽出's selection as a property (hypothesis, through the real steps SN100 + TN010 on a
fresh DuckDB ledger each example): a 期別 is a 督促対象 iff it is 普通徴収, its 本税 is unpaid, no
督促状 was issued, its 督促 day has come, and no 分割納付 / 執行停止 holds it; a held one is listed
with its reason and nothing else is a candidate."""

from __future__ import annotations

import shutil

import polars as pl
from collection_helpers import (
    D,
    hold_duckdb,
    levy_file,
    levy_row,
    open_ledger,
    put_levy,
    release_duckdb,
    run,
    write_qualification,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_dunning_holds import _insert, _plan, _suspension

from jobs.common import datasets

DAY = D(2026, 8, 20)  # the 督促 day of 7/31 (that of 8/31 is 9/20: not come)
RIPE, LATER = D(2026, 7, 31), D(2026, 8, 31)
AMOUNT = 50_000

BASE = {"method": "1", "due": RIPE, "paid": 0, "dunned": False, "hold": None}
item = st.fixed_dictionaries({
    "method": st.sampled_from(["1", "1", "1", "2"]),  # 普通徴収 / 特別徴収 (candidates made likely)
    "due": st.sampled_from([RIPE, RIPE, LATER]),
    "paid": st.sampled_from([0, 20_000, AMOUNT]),
    "dunned": st.sampled_from([False, False, True]),
    "hold": st.sampled_from([None, "plan", "plan_broken", "suspension", "suspension_lifted"]),
})


def _fresh(url: str, var, template) -> None:
    release_duckdb()
    shutil.copyfile(template, url.removeprefix("duckdb:///"))
    shutil.rmtree(var)
    (var / "inbox").mkdir(parents=True)
    hold_duckdb(url)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(item, min_size=1, max_size=6))
# every hold on a candidate, the lapsed holds, and each way of not being a candidate
@example(items=[{**BASE, "hold": h} for h in (None, "plan", "plan_broken", "suspension", "suspension_lifted")]
         + [{**BASE, "method": "2"}, {**BASE, "due": LATER}, {**BASE, "paid": AMOUNT}, {**BASE, "paid": 20_000},
            {**BASE, "dunned": True}, {**BASE, "paid": AMOUNT, "hold": "plan"}])
def test_selection_property(duckdb_url, isolated_var, _duckdb_template, items):
    _fresh(duckdb_url, isolated_var, _duckdb_template)
    notice = [f"{it['method']}{i + 1:010d}" for i, it in enumerate(items)]
    put_levy(levy_file([levy_row(n, 1, AMOUNT, due_date=it["due"]) for n, it in zip(notice, items)]), "levy_prop.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification([f"{i + 1:010d}" for i in range(len(items))])
    led = open_ledger(migrate=False)
    try:
        with led.transaction() as tx:  # the ledger state the other steps would leave (payments, 督促状発行日)
            for n, it in zip(notice, items):
                tx.execute("UPDATE installment SET paid_amount = :p, dunning_issued_date = :d "
                           "WHERE notice_number = :n", {"p": it["paid"], "d": D(2026, 8, 1) if it["dunned"] else None,
                                                        "n": n})
    finally:
        led.dispose()
    plans, targets, susp = [], [], []
    for i, it in enumerate(items):
        person = i + 1
        if it["hold"] in ("plan", "plan_broken"):
            p, t = _plan(f"P{person:023d}", person, "active" if it["hold"] == "plan" else "broken",
                         None if it["hold"] == "plan" else D(2026, 8, 15))
            plans.append(p)
            targets.append({**t, "notice_number": notice[i]})
        elif it["hold"] in ("suspension", "suspension_lifted"):
            susp.append(_suspension(f"S{person}", person, None if it["hold"] == "suspension" else D(2026, 8, 15)))
    if plans:
        _insert("arrears_plan", plans)
        _insert("arrears_plan_target", targets)
    if susp:
        _insert("arrears_suspension", susp)

    res = run("TN010", DAY)
    assert res.rc == 0, res.log_text
    gen = datasets.latest("dunning_candidates", municipality="111007")
    out = datasets.read("dunning_candidates", gen) if gen else pl.DataFrame({"notice_number": [], "hold_reason": []})
    got = {r["notice_number"]: r["hold_reason"] for r in out.iter_rows(named=True)}
    want = {}
    for n, it in zip(notice, items):
        if it["method"] == "1" and it["paid"] < AMOUNT and not it["dunned"] and it["due"] == RIPE:
            want[n] = it["hold"] if it["hold"] in ("plan", "suspension") else None
    assert got == want
    assert res.totals.by_record_type["target"].read == sum(v is None for v in want.values())
