-- SN020: the number of active mandates (the latest entry is 新規 or 変更) of the municipality.
-- Parameters: :m 市区町村コード.
-- Returns: one row, one column: the count.
SELECT COUNT(*) FROM debit_mandate WHERE latest_flag AND registration_kind IN ('1','2')
AND municipality_code = :m
