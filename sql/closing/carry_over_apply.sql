-- TN610 出納閉鎖・滞納繰越: record the 滞納繰越 on the 期別 (繰越年度, 繰越年月日, 決算繰越本税額, 繰越調定額
-- by component, 決算繰越調定額設定日). Set, never added: a rerun writes the same values.
-- stage: _carry(municipality_code VARCHAR, levy_year INTEGER, target_year INTEGER, notice_number VARCHAR, installment_no INTEGER, carried_tax_amount BIGINT, carried_medical BIGINT, carried_support BIGINT, carried_care BIGINT)
-- Parameters: :cy 繰越年度 (N+1), :d 出納閉鎖 date, :op, :od, :ot, :rs (audit).
-- Returns: nothing (rowcount = the 期別 updated).
UPDATE installment SET carried_year = :cy, carried_date = :d, carried_levy_set_date = :d,
    carried_tax_amount = c.carried_tax_amount,
    carried_medical_general = c.carried_medical, carried_medical_retired = 0,
    carried_support_general = c.carried_support, carried_support_retired = 0,
    carried_care_general = c.carried_care, carried_care_retired = 0,
    operator_id = :op, operated_date = :od, operated_time = :ot, operation_reason = :rs
FROM _carry c WHERE installment.municipality_code = c.municipality_code
AND installment.levy_year = c.levy_year AND installment.target_year = c.target_year
AND installment.notice_number = c.notice_number AND installment.installment_no = c.installment_no
