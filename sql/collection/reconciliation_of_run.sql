-- 消込 outputs: the 消込データ a job wrote in a generation (the same rows on a rerun), in file and
-- record order.
-- Parameters: :g generation, :j job id.
-- Returns: source_file, source_sha256, record_no, byte_offset, channel, kind, status, reason,
-- levy_year, notice_number, installment_no, amount, levy_amount, paid_date, received_date,
-- payment_kind, agent_code, cvs_store_code, bank_code, branch_code, result_code, raw_hex.
SELECT source_file, source_sha256, record_no, byte_offset, channel, kind, status, reason, levy_year,
    notice_number, installment_no, amount, levy_amount, paid_date, received_date, payment_kind,
    agent_code, cvs_store_code, bank_code, branch_code, result_code, raw_hex
FROM reconciliation WHERE generation = :g AND job_id = :j ORDER BY source_file, record_no
