-- SN120: the requests already recorded for a 振替日, in the order of the request files (bank,
-- branch, account, 顧客番号): a rerun writes the same files from them.
-- Parameters: :d 振替日, :m 市区町村コード.
-- Returns: every column of debit_request.
SELECT * FROM debit_request WHERE debit_date = :d AND municipality_code = :m
ORDER BY bank_code, branch_code, account_number, customer_number
