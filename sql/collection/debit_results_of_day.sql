-- SN130: the 口座振替 results SN115 posted on the business date (振替済 posted or 振替不能; a
-- result rejected against its request, a duplicate or a conflict is not a result), with the 期別's 世帯・宛名・納期限.
-- Parameters: :d the business date, :m 市区町村コード.
-- Returns: source_sha256, record_no, dedup_key, result_code, status, amount, levy_year,
-- notice_number, installment_no, debit_date, household_id, person_id, due_date.
SELECT r.source_sha256, r.record_no, r.dedup_key, r.result_code, r.status, r.amount, r.levy_year,
    r.notice_number, r.installment_no, r.paid_date AS debit_date, i.household_id, i.person_id, i.due_date
FROM reconciliation r LEFT JOIN installment i ON i.levy_year = r.levy_year
AND i.notice_number = r.notice_number AND i.installment_no = r.installment_no
WHERE r.channel = 'debit' AND r.status IN ('posted', 'debit_failed') AND r.business_date = :d AND r.municipality_code = :m
ORDER BY r.source_sha256, r.record_no
