"""The 期別 update of a 消込 by row address (PostgreSQL): the lookup of step 3
(``collection/installments_by_key``) returns where each 期別 lies, and ``apply_installment_delta``
updates those 期別 by their ctid in table order (``ledger/installment_apply_located``), the rest by
key. A 期別 that moved between the lookup and the update (updated by another transaction, or its
line pointer holding another row) must still get its change exactly once: the statement is rolled
back to its savepoint and the changes are applied by key. DuckDB updates by key only.

The speed is the bench's subject (bench/bench_collection.py, README); here: the same ledger rows."""

from __future__ import annotations

import logging

import polars as pl
import pytest
from collection_helpers import DAY1, FIXTURES, MUNI, open_ledger, paid_total, register_levy_direct, run
from test_reconcile_idempotency import counter_day

from jobs.collection import reconcile
from jobs.ledger import Tx

LEVY = {(2026, "10000000001", 1): 19_456, (2026, "10000000001", 2): 13_000, (2026, "20000000002", 4): 26_256}


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """The named statements run (``Tx.run`` / ``query`` / ``value``), in order."""
    names: list[str] = []
    real = Tx.statement

    def spy(self, name, **variables):
        names.append(name)
        return real(self, name, **variables)

    monkeypatch.setattr(Tx, "statement", spy)
    return names


def test_a_posting_updates_the_found_installments_by_address(ledger_url, statements):
    counter_day()
    statements.clear()
    assert run("SN205", DAY1).rc == 4
    assert paid_total() == 52_456
    if ledger_url.startswith("postgresql"):  # all three 期別 of the file were found by the lookup
        assert "ledger/installment_apply_located" in statements
        assert "ledger/installment_apply_delta" not in statements
    else:
        assert "ledger/installment_apply_delta" in statements
        assert "ledger/installment_apply_located" not in statements


def _located(tx: Tx) -> pl.DataFrame:
    keys = pl.DataFrame([{"levy_year": k[0], "notice_number": k[1], "installment_no": k[2]} for k in LEVY],
                        schema={"levy_year": pl.Int32, "notice_number": pl.String, "installment_no": pl.Int32})
    got = reconcile._installments(tx, keys, MUNI)
    if "_row_at" not in got.columns:  # DuckDB: the lookup returns no addresses
        return got.select(*reconcile.KEY, pl.lit(None, dtype=pl.Int64).alias("_row_at")).head(0)
    return got.select(*reconcile.KEY, "_row_at")


def _delta(amounts: dict[tuple[int, str, int], int]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"levy_year": k[0], "notice_number": k[1], "installment_no": k[2], "paid": v, "prov": 0,
          "paid_date": DAY1, "received_date": DAY1} for k, v in amounts.items()],
        schema={"levy_year": pl.Int32, "notice_number": pl.String, "installment_no": pl.Int32, "paid": pl.Int64,
                "prov": pl.Int64, "paid_date": pl.Date, "received_date": pl.Date})


def _paid(tx: Tx) -> dict[tuple[int, str, int], int]:
    rows = tx.frame("SELECT levy_year, notice_number, installment_no, paid_amount FROM installment")
    return {(int(y), n, int(i)): int(p) for y, n, i, p in rows.iter_rows()}


def _setting(tx: Tx, name: str) -> str:
    return str(tx.scalar(f"SELECT current_setting('{name}')"))


@pytest.mark.parametrize("move", ["none", "updated since the lookup", "another row at the address"])
def test_an_installment_moved_since_the_lookup_is_updated_by_key(ledger_url, statements, caplog, move):
    pg = ledger_url.startswith("postgresql")
    register_levy_direct(FIXTURES / "levy_file" / "levy_initial.dat")
    change = {(2026, "10000000001", 1): 1_000, (2026, "10000000001", 2): 2_000, (2026, "20000000002", 4): 3_000}
    run_ = reconcile.Run(MUNI, DAY1, "SN205", "test-by-address")
    led = open_ledger()
    try:
        with led.transaction() as tx:
            located = _located(tx)
            assert located.height == (3 if pg else 0)  # DuckDB: no addresses, every 期別 by key
            if move == "updated since the lookup":  # a new row version: the address the lookup found is dead
                tx.execute("UPDATE installment SET operation_reason = 'moved' "
                           "WHERE notice_number = '20000000002' AND installment_no = 4")
            elif move == "another row at the address" and pg:  # the addresses of two 期別 swapped
                at = located["_row_at"].to_list()
                located = located.with_columns(pl.Series("_row_at", [at[1], at[0], at[2]]))
            before = _paid(tx)
            statements.clear()
            with caplog.at_level(logging.WARNING, logger="kokuho.reconcile"):
                updated = reconcile.apply_installment_delta(tx, _delta(change), run_, DAY1, "120000", located=located)
            # all three changed; by address only where every address held (else all by key)
            assert updated == reconcile.Updated(3, 3 if pg and move == "none" else 0)
            after = _paid(tx)
            # each 期別 got its change once, whatever the addresses said
            assert {k: after[k] - before[k] for k in change} == change
            if not pg:
                assert statements == ["ledger/installment_apply_delta"] and not caplog.records
            elif move == "none":
                assert statements == ["ledger/planner_joins", "ledger/installment_apply_located", "ledger/planner_joins"]
                assert not caplog.records
            else:  # rolled back to the savepoint, then all three by key
                assert statements == ["ledger/planner_joins", "ledger/installment_apply_located",
                                      "ledger/planner_joins", "ledger/installment_apply_delta"]
                assert "照会後に移動" in caplog.text
            # the planner's join methods as they were before the statement
            if pg:
                assert [_setting(tx, f"enable_{j}") for j in ("hashjoin", "mergejoin", "memoize")] == ["on"] * 3
    finally:
        led.dispose()
    assert paid_total() == sum(change.values())  # committed: the savepoint's rollback undid no other change


def test_the_update_by_address_is_planned_as_tid_scans(ledger_url):
    """With the join methods off (ledger/planner_joins), each staged row is one TID scan. DuckDB
    (which updates by key) renders the statement as a count of the staged rows: it runs here so that
    its ``-- stage:`` header is checked against ``stage_located`` (tests/ledger/test_sql_stages.py)."""
    register_levy_direct(FIXTURES / "levy_file" / "levy_initial.dat")
    pg = ledger_url.startswith("postgresql")
    params = {"op": "SN205", "od": DAY1, "ot": "120000", "rs": "x"}
    led = open_ledger()
    try:
        with led.transaction() as tx:
            located = _located(tx) if pg else pl.DataFrame(
                [{"levy_year": k[0], "notice_number": k[1], "installment_no": k[2], "_row_at": i + 1}
                 for i, k in enumerate(LEVY)],
                schema={"levy_year": pl.Int32, "notice_number": pl.String, "installment_no": pl.Int32,
                        "_row_at": pl.Int64})
            reconcile.stage_located(tx, _delta(dict.fromkeys(LEVY, 1)).join(located, on=reconcile.KEY), MUNI)
            if not pg:
                assert tx.query("ledger/installment_apply_located", params).item() == 3
                return
            tx.execute("ANALYZE _located")
            tx.query("ledger/planner_joins", reconcile._TID_JOINS)
            plan = "\n".join(r[0] for r in tx.execute(
                "EXPLAIN " + tx.statement("ledger/installment_apply_located"), params).fetchall())
            assert "Tid Scan on installment" in plan and "Hash" not in plan, plan
    finally:
        led.dispose()
