-- The posted_file row of an input file (the file-level idempotency key: the same bytes are
-- never posted twice).
-- Parameters: :s the file's SHA-256.
-- Returns: 0 or 1 row: file_name, channel, job_id, generation, business_date, records, amount.
SELECT file_name, channel, job_id, generation, business_date, records, amount
FROM posted_file WHERE source_sha256 = :s
