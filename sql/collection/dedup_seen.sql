-- 消込 step 2: the staged (重複判定キー, データ識別) already taken from an earlier file (any
-- record not itself an error, a duplicate or a conflict), with the first file and record that
-- took it and its amounts: the key is the slip's identity, never its amount, so the same amounts
-- make the new record a duplicate and other amounts a conflict (金額相違, 保留).
-- stage: _dedup(dedup_key VARCHAR, kind VARCHAR)
-- Parameters: :s the SHA-256 of the file being posted: its own records are not an earlier file's
-- (a file posted a slice at a time, reconcile.post_file, holds its committed slices).
-- Returns: dedup_key, kind, prev_file, prev_record, prev_amount, prev_late_fee, prev_dunning_fee,
-- prev_status — one row per key already in the ledger (its earliest record).
SELECT s.dedup_key, s.kind, s.prev_file, s.prev_record, s.prev_amount, s.prev_late_fee, s.prev_dunning_fee,
    s.prev_status FROM (
    SELECT r.dedup_key, r.kind, r.source_file AS prev_file, r.record_no AS prev_record,
        r.amount AS prev_amount, r.late_fee_amount AS prev_late_fee, r.dunning_fee_amount AS prev_dunning_fee,
        r.status AS prev_status, ROW_NUMBER() OVER (PARTITION BY r.dedup_key, r.kind
            ORDER BY r.business_date, r.source_file, r.record_no) AS rn
    FROM reconciliation r JOIN _dedup d ON r.dedup_key = d.dedup_key AND r.kind = d.kind
    WHERE r.status NOT IN ('error', 'duplicate', 'conflict') AND r.source_sha256 <> :s) s
WHERE s.rn = 1
