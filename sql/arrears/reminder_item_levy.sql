-- TN120 催告書作成: the 本税 (調定額) of each staged 催告明細 期別, the base of its 延滞金
-- (jobs/arrears/late_fee.py reduces it by the partial payments of installment_payments.sql).
-- stage: _keys(levy_year INTEGER, notice_number VARCHAR, installment_no INTEGER)
-- Parameters: :m 市区町村コード.
-- Returns: levy_year, notice_number, installment_no, levy_amount.
SELECT i.levy_year, i.notice_number, i.installment_no, i.levy_amount
FROM installment i JOIN _keys k ON k.levy_year = i.levy_year AND k.notice_number = i.notice_number
    AND k.installment_no = i.installment_no
WHERE i.municipality_code = :m AND NOT i.deleted
ORDER BY i.levy_year, i.notice_number, i.installment_no
