-- 消込 step 2: the staged (重複判定キー, データ識別) already taken from an earlier file (any
-- record not itself an error or a duplicate), with the first file and record that took it.
-- stage: _dedup(dedup_key VARCHAR, kind VARCHAR)
-- Parameters: none.
-- Returns: dedup_key, kind, prev_file, prev_record — one row per key already in the ledger.
SELECT r.dedup_key, r.kind, MIN(r.source_file) AS prev_file, MIN(r.record_no) AS prev_record
FROM reconciliation r JOIN _dedup d ON r.dedup_key = d.dedup_key AND r.kind = d.kind
WHERE r.status NOT IN ('error', 'duplicate') GROUP BY r.dedup_key, r.kind
