-- TN620 不納欠損: the 期別's 不納欠損年月日 and 不納欠損額 (and 時効予定日), from the rows just booked to
-- write_off. Set, never added.
-- stage: _wo(municipality_code VARCHAR, levy_year INTEGER, target_year INTEGER, notice_number VARCHAR, installment_no INTEGER, tax_amount BIGINT, limitation_date DATE)
-- Parameters: :d 不納欠損年月日, :op, :od, :ot, :rs (audit).
-- Returns: nothing (rowcount = the 期別 updated).
UPDATE installment SET write_off_date = :d, write_off_amount = w.tax_amount, limitation_date = w.limitation_date,
    operator_id = :op, operated_date = :od, operated_time = :ot, operation_reason = :rs
FROM _wo w WHERE installment.municipality_code = w.municipality_code
AND installment.levy_year = w.levy_year AND installment.target_year = w.target_year
AND installment.notice_number = w.notice_number AND installment.installment_no = w.installment_no
