-- TN030 延滞金調定: the 延滞金 調定 on the 督促状 record: 本税完納日, 延滞金調定日 and 延滞金調定額.
-- stage: _lf(municipality_code VARCHAR, levy_year INTEGER, target_year INTEGER, notice_number VARCHAR, installment_no INTEGER, completed_date DATE, levy_date DATE, late_fee BIGINT)
-- Parameters: :op 操作者ID, :od 操作年月日, :ot 操作時刻 (HHMMSS), :rs 処理事由 (job id + run id).
-- Returns: nothing (rowcount = the 督促状 updated).
UPDATE dunning_notice SET completed_date = s.completed_date, late_fee_levy_date = s.levy_date,
    late_fee_levied = s.late_fee, operator_id = :op, operated_date = :od, operated_time = :ot,
    operation_reason = :rs
FROM _lf s WHERE dunning_notice.municipality_code = s.municipality_code
AND dunning_notice.levy_year = s.levy_year AND dunning_notice.target_year = s.target_year
AND dunning_notice.notice_number = s.notice_number AND dunning_notice.installment_no = s.installment_no
