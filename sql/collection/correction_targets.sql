-- 消込 step 4 (訂正): the posted 確報 (status posted) in the ledger with the staged 重複判定キー —
-- the earlier posting of the same slip that a 訂正 record (CVS データ種別 22) reverses and replaces.
-- stage: _correct(dedup_key VARCHAR)
-- Parameters: none.
-- Returns: dedup_key, source_sha256, source_file, record_no, amount, late_fee, dunning_fee,
-- levy_year, notice_number, installment_no, and posted_tax, posted_late_fee, posted_dunning_fee: what
-- its 納付履歴 row booked (a 督促状 barcode's amount is split into 本税, 延滞金, 督促手数料).
SELECT r.dedup_key, r.source_sha256, r.source_file, r.record_no, r.amount, r.late_fee_amount AS late_fee,
    r.dunning_fee_amount AS dunning_fee, r.levy_year, r.notice_number, r.installment_no,
    COALESCE(p.tax_amount, r.amount) AS posted_tax, COALESCE(p.late_fee_amount, r.late_fee_amount) AS posted_late_fee,
    COALESCE(p.dunning_fee_amount, r.dunning_fee_amount) AS posted_dunning_fee
FROM reconciliation r JOIN _correct c ON r.dedup_key = c.dedup_key
LEFT JOIN payment p ON p.source_sha256 = r.source_sha256 AND p.record_no = r.record_no AND p.line_no = 1
WHERE r.kind = 'confirmed' AND r.status = 'posted'
ORDER BY r.business_date, r.source_file, r.record_no
