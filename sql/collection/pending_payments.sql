-- SN100: the 保留 records (unmatched 確報 / 入金) of the municipality whose 期別 now exists,
-- with the 期別's 徴収方法区分 and 期別税額, in file and record order.
-- Parameters: :m 市区町村コード.
-- Returns: source_sha256, record_no, levy_year, notice_number, installment_no, amount, paid_date,
-- received_date, payment_kind, channel, bank_code, branch_code, store_code, agent_code,
-- collection_method, levy_amount, late_fee, dunning_fee.
SELECT r.source_sha256, r.record_no, r.levy_year, r.notice_number, r.installment_no, r.amount,
    r.paid_date, r.received_date, r.payment_kind, r.channel, r.bank_code, r.branch_code,
    r.cvs_store_code AS store_code, r.agent_code, i.collection_method, i.levy_amount,
    r.late_fee_amount AS late_fee, r.dunning_fee_amount AS dunning_fee
FROM reconciliation r JOIN installment i ON i.levy_year = r.levy_year
AND i.notice_number = r.notice_number AND i.installment_no = r.installment_no
AND i.municipality_code = r.municipality_code AND i.target_year = i.levy_year
WHERE r.status = 'unmatched' AND r.kind = 'confirmed' AND NOT i.deleted AND r.municipality_code = :m
ORDER BY r.source_sha256, r.record_no
