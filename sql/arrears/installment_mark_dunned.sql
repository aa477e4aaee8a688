-- TN020 督促状作成: 督促状発行日 and 督促手数料 on the 期別 of the staged 督促状.
-- stage: _dn(municipality_code VARCHAR, levy_year INTEGER, target_year INTEGER, notice_number VARCHAR, installment_no INTEGER, issue_date DATE, dunning_fee_amount BIGINT)
-- Parameters: :op 操作者ID, :od 操作年月日, :ot 操作時刻 (HHMMSS), :rs 処理事由 (job id + run id).
-- Returns: nothing (rowcount = the 期別 updated).
UPDATE installment SET dunning_issued_date = d.issue_date,
    dunning_fee_amount = installment.dunning_fee_amount + d.dunning_fee_amount,
    operator_id = :op, operated_date = :od, operated_time = :ot, operation_reason = :rs
FROM _dn d WHERE installment.municipality_code = d.municipality_code
AND installment.levy_year = d.levy_year AND installment.target_year = d.target_year
AND installment.notice_number = d.notice_number AND installment.installment_no = d.installment_no
