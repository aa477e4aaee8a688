-- 消込 step 4: the open 速報 (status provisional) in the ledger with the staged 重複判定キー:
-- what a 速報取消 or a CVS 確報 of the file settles.
-- stage: _settle(dedup_key VARCHAR)
-- Parameters: none.
-- Returns: dedup_key, source_sha256, record_no, amount, levy_year, notice_number, installment_no.
SELECT r.dedup_key, r.source_sha256, r.record_no, r.amount, r.levy_year, r.notice_number,
    r.installment_no FROM reconciliation r JOIN _settle s ON r.dedup_key = s.dedup_key
WHERE r.status = 'provisional' AND r.kind = 'provisional'
