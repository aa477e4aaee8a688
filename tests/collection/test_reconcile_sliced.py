"""消込 of a large file a slice per transaction (``reconcile.post_file``, DuckDB): the same ledger
rows as one transaction; a stop between slices (a real SIGKILL of the step's process) leaves whole
slices, and a rerun completes the file without posting a record twice."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap

import polars as pl
import pytest
import test_reconcile_idempotency as base
from collection_helpers import (
    DAY1,
    FIXTURES,
    hold_duckdb,
    installments,
    msg_ids,
    paid_total,
    payments,
    recon,
    release_duckdb,
    run,
    scalar,
)
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from jobs.collection import reconcile
from jobs.collection.reconcile import Slicing
from jobs.common import datasets
from jobs.ledger import Ledger

ROOT = FIXTURES.parent
small_ledger = base.small_ledger  # a fresh DuckDB ledger per call, with the 調定 of base.KEYS
_sha = itertools.count(10_000)

# records whose slices are independent: confirmed / 振替不能 / unreadable, repeats (duplicates and
# conflicts) anywhere in the file
plain = st.fixed_dictionaries({
    "key": st.sampled_from([*base.KEYS, base.UNKNOWN, None]),
    "kind": st.sampled_from(["confirmed", "confirmed", "confirmed", "debit_failed", "bogus"]),
    "amount": st.integers(min_value=0, max_value=40_000),
    "group": st.integers(min_value=0, max_value=6),
    "channel": st.sampled_from(["counter", "cvs", "credit", "app", "debit", "pension"]),
    "parse_error": st.sampled_from([None, None, None, None, "項目が不正です"]),
})

#: columns that differ between two runs by the clock only
CLOCK = ("operated_date", "operated_time")
TABLES = {"reconciliation": ("source_sha256", "record_no"), "payment": ("source_sha256", "record_no", "line_no"),
          "installment": ("levy_year", "notice_number", "installment_no"), "posted_file": ("source_sha256",)}


def snapshot(led: Ledger) -> dict[str, pl.DataFrame]:
    out = {}
    for table, order in TABLES.items():
        f = led.frame(f"SELECT * FROM {table}")
        out[table] = f.drop([c for c in CLOCK if c in f.columns]).sort(order)
    return out


def register(led_run, sha: str, pay: pl.DataFrame):
    return lambda tx: reconcile.register_file(tx, sha256=sha, file_name=pay["source_file"][0], channel="cvs",
                                              records=pay.height, amount=int(pay["amount"].sum()), run=led_run)


class Stop(Exception):
    pass


def _equal_to_one_transaction(fresh, run_, recs, size, stop_after):
    """Post ``recs`` in one transaction on one fresh ledger, and on another a slice of ``size``
    at a time, stopped after ``stop_after`` slices (None: not stopped) and run again; the ledgers
    must be equal but for the clock. Returns the number of slice commits of the sliced runs."""
    sha = f"{next(_sha):064x}"
    pay = base.payment_frame(recs, sha)
    led = fresh()
    with led.transaction() as tx:
        one = reconcile.post_payments(tx, pay, run_)
        register(run_, sha, pay)(tx)
    want = snapshot(led)

    led = fresh()
    commits = []

    def hook(last):
        commits.append(last)
        if stop_after is not None and len(commits) == stop_after:
            raise Stop

    reconcile.after_slice_commit = hook
    try:
        try:
            got = reconcile.post_file(led, pay, run_, slicing=Slicing(1, size), register=register(run_, sha, pay))
        except Stop:
            held = snapshot(led)
            # whole slices, nothing registered, every held record once
            assert held["posted_file"].height == 0
            assert held["reconciliation"]["record_no"].to_list() == list(range(1, size * stop_after + 1))
            got = reconcile.post_file(led, pay, run_, slicing=Slicing(1, size), register=register(run_, sha, pay))
    finally:
        reconcile.after_slice_commit = None
    have = snapshot(led)
    for table in TABLES:
        diff = [c for c in want[table].columns if not have[table][c].equals(want[table][c])]
        assert have[table].columns == want[table].columns and not diff, (
            table, {c: (have[table][c].to_list(), want[table][c].to_list()) for c in diff})
    if stop_after is None:  # the figures of one call are those of one transaction
        assert got.counts == one.counts and got.amounts == one.amounts
        assert got.transactions == max(len(commits), 1) and one.transactions == 1  # KKB429I's count
        assert got.rows.equals(one.rows.select("record_no", "status")) or len(commits) == 0
    # the file again: refused (posted_file, 消込データ keys), the ledger unchanged
    with pytest.raises(Exception):  # noqa: B017 - the database's constraint error
        reconcile.post_file(led, pay, run_, slicing=Slicing(1, size), register=register(run_, sha, pay))
    assert all(snapshot(led)[t].equals(have[t]) for t in TABLES)
    return len(commits)


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=st.lists(plain, min_size=2, max_size=16), size=st.integers(min_value=1, max_value=5))
# a duplicate and a conflict of a record of the first slice in later slices
@example(recs=[base._cvs("confirmed", 1, 1_000), base._cvs("confirmed", 2, 500), base._cvs("confirmed", 1, 1_000),
               base._cvs("confirmed", 1, 2_000)], size=1)
def test_sliced_equals_one_transaction(small_ledger, recs, size):
    fresh, run_ = small_ledger
    commits = _equal_to_one_transaction(fresh, run_, recs, size, None)
    assert commits == -(-len(recs) // size)  # these files are always sliced


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=st.lists(base.record, min_size=2, max_size=16), size=st.integers(min_value=1, max_value=5))
# a 速報 and its 取消 in different slices: one transaction
@example(recs=[base._cvs("provisional"), base._cvs("cancel")], size=1)
# a 確報 and its 訂正 in different slices: one transaction
@example(recs=[base._cvs("confirmed", 9, 1_000), base._cvs("confirmed", 8, 1_000), base._cvs("correction", 9, 400)],
         size=2)
def test_any_file_equals_one_transaction(small_ledger, recs, size):
    """Every kind (速報, 取消, 訂正 …): sliced when the slices are independent, else one transaction —
    the same ledger either way."""
    fresh, run_ = small_ledger
    _equal_to_one_transaction(fresh, run_, recs, size, None)


@settings(max_examples=20, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=st.lists(plain, min_size=4, max_size=16), size=st.integers(min_value=1, max_value=3), data=st.data())
def test_stopped_between_slices_then_rerun_equals_one_transaction(small_ledger, recs, size, data):
    fresh, run_ = small_ledger
    n_slices = -(-len(recs) // size)
    stop_after = data.draw(st.integers(min_value=1, max_value=n_slices - 1)) if n_slices > 1 else None
    _equal_to_one_transaction(fresh, run_, recs, size, stop_after)


def test_dependent_slices_are_posted_in_one_transaction(small_ledger):
    fresh, run_ = small_ledger
    led = fresh()
    pay = base.payment_frame([base._cvs("provisional"), base._cvs("confirmed", 5, 700), base._cvs("cancel")],
                             f"{next(_sha):064x}")
    commits = []
    reconcile.after_slice_commit = commits.append
    try:
        res = reconcile.post_file(led, pay, run_, slicing=Slicing(1, 1),
                                  register=register(run_, pay["source_sha256"][0], pay))
    finally:
        reconcile.after_slice_commit = None
    assert commits == []  # not sliced
    assert sum(res.counts.values()) == 3 and res.counts.get("posted") == 1
    assert led.scalar("SELECT COUNT(*) FROM posted_file") == 1


def test_slicing_config_duckdb_only():
    from jobs.common import config

    cfg = config.load("111007", 2026)
    duck = Slicing.of(cfg, "duckdb")
    assert duck.records > 0 and duck.min_records >= duck.records
    assert duck.applies(duck.min_records) and not duck.applies(duck.min_records - 1)
    assert not Slicing.of(cfg, "postgresql").applies(10**9)  # PostgreSQL: one transaction per file


# --- the step killed between slices (SIGKILL), then run again -------------------------------------

KILL_CODE = textwrap.dedent("""
    import os
    import signal
    from jobs.collection import reconcile
    from jobs.runner import run_job

    reconcile.Slicing.of = classmethod(lambda cls, cfg, dialect: cls(1, 2))

    def die(last):
        if last >= int(os.environ["KB_TEST_KILL_AFTER"]):
            os.kill(os.getpid(), signal.SIGKILL)

    reconcile.after_slice_commit = die
    run_job("SN205", business_date="2026-10-01", municipality="111007")
""")


def test_step_killed_between_slices_then_rerun_posts_each_record_once(duckdb_url, monkeypatch):
    # 5 records (2..6): 3 posted, 1 unknown 通知書番号, record 6 a duplicate of record 4; slices of 2
    # records: [2, 3] [4, 5] [6] — the duplicate is in another slice than its first
    base.counter_day()
    release_duckdb()
    env = dict(os.environ, KB_TEST_KILL_AFTER="3", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", KILL_CODE], env=env, cwd=ROOT, capture_output=True, timeout=120,
                          check=False)
    assert proc.returncode == -9, proc.stderr.decode(errors="replace")[-3000:]
    hold_duckdb(duckdb_url)
    # the first slice is committed, nothing else: not registered, no output
    assert recon("COUNTER_20261001.dat")["record_no"].to_list() == [2, 3]
    assert scalar("SELECT COUNT(*) FROM posted_file WHERE channel = 'counter'") == 0
    assert payments().height == 2 and paid_total() == 19_456 + 20_000
    assert not datasets.generations("reconciliation_counter")

    monkeypatch.setattr(Slicing, "of", classmethod(lambda cls, cfg, dialect: cls(1, 2)))
    res = run("SN205", DAY1)
    assert res.rc == 4, res.log_text
    # the rest, [4, 5] and [6], in two transactions: the job log says so
    assert "KKB429I" in msg_ids(res) and "3件 を 2回のトランザクション" in res.log_text, res.log_text
    # as the one-transaction run of the same file (test_reconcile_idempotency)
    rows = recon("COUNTER_20261001.dat")
    assert rows["record_no"].to_list() == [2, 3, 4, 5, 6]
    assert rows["status"].to_list() == ["posted", "posted", "posted", "unmatched", "duplicate"]
    assert rows["reason"][4] == "同一ファイル内に同じ納付のレコードがあります"  # found in the file, as before
    pay = payments()
    assert pay.height == 3 and pay.select(pl.struct("source_sha256", "record_no").is_unique().all()).item()
    assert int(pay["tax_amount"].sum()) == paid_total() == 52_456
    inst = installments()
    assert inst[(2026, "10000000001", 1)]["paid_amount"] == 19_456
    assert inst[(2026, "10000000001", 2)]["paid_amount"] == 13_000
    assert inst[(2026, "20000000002", 4)]["paid_amount"] == 20_000
    assert scalar("SELECT COUNT(*) FROM posted_file WHERE channel = 'counter'") == 1
    again = run("SN205", DAY1)
    assert again.rc == 4 and "KKB422I" in msg_ids(again)
    assert payments().height == 3 and paid_total() == 52_456
