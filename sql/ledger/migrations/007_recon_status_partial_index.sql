-- Migration 7 (recon-status-partial-index): the 消込データ's status index on PostgreSQL holds only the
-- statuses that are looked up by status.
-- name: reconciliation status index without posted / confirmed (PostgreSQL)
--
-- The daily lookups by status ask for the few records still open or set apart (unmatched 保留,
-- provisional 速報, reversed, lapsed, error …: pending_payments, open_provisionals,
-- provisionals_to_lapse, dunning_held, daily_reversals). Almost every record is posted (消込済) or,
-- for a 速報, confirmed (確報済), and no statement looks those up by status: a query for them reads
-- the table. Until now each of them took an index entry all the same: after the load of a large
-- file the index was built again over every record (2.6 of the 18 s of rebuilding the 消込データ's
-- indexes after 5M payments, bench/bench_collection.py), and every daily file added its entries.
-- PostgreSQL uses the partial index for `status = '<other status>'` and `status IN (…)` of other
-- statuses (it proves the predicate from the constants). The predicate is written as two `<>`, whose
-- text pg_get_indexdef gives back unchanged: the large-load rebuild (Tx.bulk_load) makes the index
-- again from that text (a NOT IN came back with other casts each time). DuckDB has no such index
-- (001): a no-op statement, the version recorded all the same.
-- Parameters: none. Returns: nothing. Statements are separated by a ";" at the end of a line.
{% if dialect == 'postgresql' %}
DROP INDEX IF EXISTS ix_recon_status;
CREATE INDEX IF NOT EXISTS ix_recon_status ON reconciliation (status) WHERE status <> 'posted' AND status <> 'confirmed';
{% else %}
SELECT 1;
{% endif %}
