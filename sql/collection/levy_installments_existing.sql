-- SN100 調定登録: how many of the staged 期別 the ledger has already (更正 of an existing 期別).
-- stage: _inst(municipality_code VARCHAR, levy_year INTEGER, target_year INTEGER, notice_number VARCHAR, installment_no INTEGER, business_code VARCHAR, collection_method VARCHAR, latest_flag BOOLEAN, person_id VARCHAR, household_id VARCHAR, due_date DATE, statutory_due_date DATE, assessed_correction_date DATE, correction_seq INTEGER, levy_amount BIGINT, medical_general BIGINT, medical_retired BIGINT, care_general BIGINT, care_retired BIGINT, support_general BIGINT, support_retired BIGINT, child_general BIGINT, payer_code VARCHAR, deleted BOOLEAN, operator_id VARCHAR, operated_date DATE, operated_time VARCHAR, operation_reason VARCHAR)
-- Parameters: none.
-- Returns: one row, one column: the count.
SELECT COUNT(*) FROM installment i JOIN _inst s ON i.levy_year = s.levy_year
AND i.notice_number = s.notice_number AND i.installment_no = s.installment_no
AND i.municipality_code = s.municipality_code AND i.target_year = s.target_year
