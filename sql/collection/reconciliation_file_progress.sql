-- 消込 of a large file committed a slice at a time (reconcile.post_file, DuckDB): the records of
-- the file already in 消込データ — the slices committed by an earlier run that was stopped — so that
-- a rerun posts only the rest.
-- Parameters: :s the file's SHA-256.
-- Returns: one row: n (records held), last_record (the largest record number held, NULL for none).
SELECT COUNT(*) AS n, MAX(record_no) AS last_record FROM reconciliation WHERE source_sha256 = :s
