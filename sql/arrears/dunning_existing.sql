-- TN020 督促状作成: which of the staged 期別 already have a 督促状 (a 督促状 is never issued twice).
-- stage: _keys(levy_year INTEGER, notice_number VARCHAR, installment_no INTEGER)
-- Parameters: :m 市区町村コード.
-- Returns: levy_year, notice_number, installment_no, issue_date.
SELECT n.levy_year, n.notice_number, n.installment_no, n.issue_date FROM dunning_notice n
JOIN _keys k ON k.levy_year = n.levy_year AND k.notice_number = n.notice_number
AND k.installment_no = n.installment_no WHERE n.municipality_code = :m
