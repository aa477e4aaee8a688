-- bench/bench_collection.py per-row reference: every (重複判定キー, データ識別) already taken.
-- Parameters: none.
-- Returns: dedup_key, kind.
SELECT dedup_key, kind FROM reconciliation WHERE status NOT IN ('error', 'duplicate')
