-- TN030 延滞金調定: 期別延滞金額 (installment.late_fee_amount) = the 延滞金 調定 of the 期別.
-- stage: _lf(municipality_code VARCHAR, levy_year INTEGER, target_year INTEGER, notice_number VARCHAR, installment_no INTEGER, completed_date DATE, levy_date DATE, late_fee BIGINT)
-- Parameters: :op 操作者ID, :od 操作年月日, :ot 操作時刻 (HHMMSS), :rs 処理事由 (job id + run id).
-- Returns: nothing (rowcount = the 期別 updated).
UPDATE installment SET late_fee_amount = s.late_fee, operator_id = :op, operated_date = :od,
    operated_time = :ot, operation_reason = :rs
FROM _lf s WHERE installment.municipality_code = s.municipality_code
AND installment.levy_year = s.levy_year AND installment.target_year = s.target_year
AND installment.notice_number = s.notice_number AND installment.installment_no = s.installment_no
