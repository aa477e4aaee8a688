-- TN010 督促対象抽出: the 督促 holds of the collection side at the run — an open CVS 速報 (status
-- provisional, until its 確報 settles it or SN410 lapses it) and a 口座振替 request without a
-- result yet (the bank has not answered). 分割納付 / 執行停止 come from held_installments.sql.
-- Parameters: :m 市区町村コード.
-- Returns: levy_year, notice_number, installment_no, hold_reason, hold_id.
SELECT r.levy_year, r.notice_number, r.installment_no, 'cvs_provisional' AS hold_reason,
    r.dedup_key AS hold_id
FROM reconciliation r WHERE r.status = 'provisional' AND r.municipality_code = :m
AND r.notice_number IS NOT NULL
UNION ALL
SELECT q.levy_year, q.notice_number, q.installment_no, 'debit_pending' AS hold_reason,
    q.customer_number AS hold_id
FROM debit_request q WHERE q.status = 'requested' AND q.result_code IS NULL AND q.municipality_code = :m
