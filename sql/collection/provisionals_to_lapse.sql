-- SN410 速報未確報チェック: the open 速報 of the municipality received on or before the limit
-- (no 確報 within the configured business days), in file and record order.
-- Parameters: :lim the last business date to lapse, :m 市区町村コード.
-- Returns: source_file, source_sha256, record_no, byte_offset, levy_year, notice_number,
-- installment_no, amount, paid_date, business_date, raw_hex.
SELECT source_file, source_sha256, record_no, byte_offset, levy_year, notice_number, installment_no,
    amount, paid_date, business_date, raw_hex FROM reconciliation WHERE status = 'provisional'
AND business_date <= :lim AND municipality_code = :m ORDER BY source_file, record_no
