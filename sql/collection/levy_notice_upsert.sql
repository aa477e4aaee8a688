-- SN100 調定登録: the staged 通知書 inserted; one already there takes the new 宛名番号・世帯番号
-- and audit columns.
-- stage: _notice(municipality_code VARCHAR, levy_year INTEGER, target_year INTEGER, notice_number VARCHAR, business_code VARCHAR, latest_flag BOOLEAN, person_id VARCHAR, household_id VARCHAR, collection_method VARCHAR, statutory_due_date DATE, deleted BOOLEAN, operator_id VARCHAR, operated_date DATE, operated_time VARCHAR, operation_reason VARCHAR)
-- Parameters: none.
-- Returns: nothing (rowcount = the 通知書 inserted or updated).
INSERT INTO notice (municipality_code, levy_year, target_year, notice_number, business_code, latest_flag,
    person_id, household_id, collection_method, statutory_due_date, deleted, operator_id, operated_date,
    operated_time, operation_reason)
SELECT municipality_code, levy_year, target_year, notice_number, business_code, latest_flag,
    person_id, household_id, collection_method, statutory_due_date, deleted, operator_id, operated_date,
    operated_time, operation_reason
FROM _notice
ON CONFLICT (municipality_code, levy_year, target_year, notice_number) DO UPDATE SET
    person_id = EXCLUDED.person_id, household_id = EXCLUDED.household_id,
    operator_id = EXCLUDED.operator_id, operated_date = EXCLUDED.operated_date,
    operated_time = EXCLUDED.operated_time, operation_reason = EXCLUDED.operation_reason
