-- TN410: the 執行停止 records.
-- Parameters: :m 市区町村コード.
-- Returns: suspension_id, person_id, reason_code, start_date, immediate_extinction, lifted_date, note.
SELECT suspension_id, person_id, reason_code, start_date, immediate_extinction, lifted_date, note
FROM arrears_suspension WHERE municipality_code = :m AND NOT deleted
ORDER BY suspension_id
