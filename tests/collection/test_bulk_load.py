"""PostgreSQL bulk load of 消込データ (``Tx.bulk_load``): a file large against the rows the table
holds is written without the table's secondary indexes, which are built again after the load, in
the same transaction. The thresholds are lowered here so that the 5-record counter day takes that
path; the outcome must be the one of the ordinary path (the same statuses, postings and output
bytes), the indexes must come back exactly as the migration made them, and an error inside the
load must roll the drop back with the rest."""

from __future__ import annotations

import pytest
from collection_helpers import DAY1, msg_ids, open_ledger, paid_total, payments, q, recon, run, scalar
from test_reconcile_idempotency import counter_day, outputs

from jobs.ledger import bulk

INDEXES = ("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
           "AND tablename = 'reconciliation' ORDER BY indexname")


def _indexes(url: str) -> list[tuple[str, str]]:
    if not url.startswith("postgresql"):
        return []
    return [tuple(r) for r in q(INDEXES).iter_rows()]


@pytest.mark.parametrize("rebuild", [False, True], ids=["ordinary", "rebuilt"])
def test_the_bulk_load_path_gives_the_ordinary_outcome(ledger_url, monkeypatch, rebuild):
    if rebuild:
        monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 1)
        monkeypatch.setattr(bulk, "REBUILD_SHARE", 0.0)
    seen: list[bool] = []
    from jobs.ledger import Tx

    real = Tx.bulk_load

    def spy(self, table, rows):
        cm = real(self, table, rows)
        did = cm.__enter__()
        seen.append(did)
        if did:  # inside the load: no secondary index left (the primary key stays)
            names = {r[0] for r in self.frame(INDEXES).iter_rows()}
            assert names == {"reconciliation_pkey"}
        yield did
        cm.__exit__(None, None, None)

    from contextlib import contextmanager

    monkeypatch.setattr(Tx, "bulk_load", contextmanager(spy))
    counter_day()  # the ledger migrated, the 調定 registered, the file in the inbox
    before = _indexes(ledger_url)
    first = run("SN205", DAY1)
    assert first.rc == 4
    assert seen == [rebuild and ledger_url.startswith("postgresql")]
    rows = recon("COUNTER_20261001.dat")
    assert rows["status"].to_list() == ["posted", "posted", "posted", "unmatched", "duplicate"]
    assert payments().height == 3 and paid_total() == 52_456
    # the indexes as the migration made them, with the new rows in them (used by the rerun's checks)
    assert _indexes(ledger_url) == before
    if ledger_url.startswith("postgresql"):
        assert len(before) == 4
        assert scalar("SELECT COUNT(*) FROM reconciliation WHERE dedup_key IS NOT NULL") == 5
    out1 = outputs(first)
    again = run("SN205", DAY1)
    assert again.rc == 4 and "KKB422I" in msg_ids(again)
    assert outputs(again) == out1
    assert payments().height == 3 and paid_total() == 52_456


def test_an_error_inside_the_load_brings_the_indexes_back(ledger_url, monkeypatch):
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 1)
    monkeypatch.setattr(bulk, "REBUILD_SHARE", 0.0)
    led = open_ledger()
    before = _indexes(ledger_url)
    try:
        with pytest.raises(RuntimeError, match="mid-load"):
            with led.transaction() as tx, tx.bulk_load("reconciliation", 10) as did:
                assert did == ledger_url.startswith("postgresql")
                raise RuntimeError("mid-load")
        with led.transaction() as tx, tx.bulk_load("reconciliation", 10):
            pass  # an empty load: dropped and built again
    finally:
        led.dispose()
    assert _indexes(ledger_url) == before


def test_a_small_load_into_a_large_table_keeps_the_indexes():
    assert bulk.rebuild_indexes(5_000_000, 0)
    assert bulk.rebuild_indexes(5_000_000, 10_000_000)
    assert not bulk.rebuild_indexes(50_000, 0)  # a daily file: never (the lock, the rebuild's read)
    assert not bulk.rebuild_indexes(1_000_000, 40_000_001)
