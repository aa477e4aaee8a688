-- 消込: the raw bytes (hex) of rejected records the adapter could not keep, read from the
-- archived input file (for the 消込エラー list).
-- stage: _raw(source_sha256 VARCHAR, record_no BIGINT, raw_hex VARCHAR)
-- Parameters: none.
-- Returns: nothing.
UPDATE reconciliation SET raw_hex = r.raw_hex FROM _raw r
WHERE reconciliation.source_sha256 = r.source_sha256 AND reconciliation.record_no = r.record_no
