-- SN100 調定登録: the staged 期別 inserted; an existing 期別 takes the amounts, 納期限, 更正日 and
-- 更正順番 of a record at least as new as its own (当初 and 更正 alike; 累計収納額 and 速報額 stay).
-- stage: _inst(municipality_code VARCHAR, levy_year INTEGER, target_year INTEGER, notice_number VARCHAR, installment_no INTEGER, business_code VARCHAR, collection_method VARCHAR, latest_flag BOOLEAN, person_id VARCHAR, household_id VARCHAR, due_date DATE, statutory_due_date DATE, assessed_correction_date DATE, correction_seq INTEGER, levy_amount BIGINT, medical_general BIGINT, medical_retired BIGINT, care_general BIGINT, care_retired BIGINT, support_general BIGINT, support_retired BIGINT, child_general BIGINT, payer_code VARCHAR, deleted BOOLEAN, operator_id VARCHAR, operated_date DATE, operated_time VARCHAR, operation_reason VARCHAR)
-- Parameters: none.
-- Returns: nothing.
INSERT INTO installment (municipality_code, levy_year, target_year, notice_number, installment_no,
    business_code, collection_method, latest_flag, person_id, household_id, due_date, statutory_due_date,
    assessed_correction_date, correction_seq, levy_amount, medical_general, medical_retired, care_general,
    care_retired, support_general, support_retired, child_general, payer_code, deleted, operator_id,
    operated_date, operated_time, operation_reason)
SELECT municipality_code, levy_year, target_year, notice_number, installment_no,
    business_code, collection_method, latest_flag, person_id, household_id, due_date, statutory_due_date,
    assessed_correction_date, correction_seq, levy_amount, medical_general, medical_retired, care_general,
    care_retired, support_general, support_retired, child_general, payer_code, deleted, operator_id,
    operated_date, operated_time, operation_reason
FROM _inst
ON CONFLICT (municipality_code, levy_year, target_year, notice_number, installment_no)
DO UPDATE SET levy_amount = EXCLUDED.levy_amount, medical_general = EXCLUDED.medical_general,
    medical_retired = EXCLUDED.medical_retired, care_general = EXCLUDED.care_general,
    care_retired = EXCLUDED.care_retired, support_general = EXCLUDED.support_general,
    support_retired = EXCLUDED.support_retired, child_general = EXCLUDED.child_general,
    due_date = EXCLUDED.due_date, assessed_correction_date = EXCLUDED.assessed_correction_date,
    correction_seq = EXCLUDED.correction_seq, payer_code = EXCLUDED.payer_code,
    person_id = EXCLUDED.person_id, household_id = EXCLUDED.household_id,
    operator_id = EXCLUDED.operator_id, operated_date = EXCLUDED.operated_date,
    operated_time = EXCLUDED.operated_time, operation_reason = EXCLUDED.operation_reason
WHERE EXCLUDED.correction_seq >= installment.correction_seq
