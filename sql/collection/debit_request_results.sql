-- SN130: each request takes its bank result (振替結果コード, result file) and state (0 → done,
-- anything else → failed).
-- stage: _res(customer_number VARCHAR, result_code VARCHAR, source_sha256 VARCHAR)
-- Parameters: none.
-- Returns: nothing.
UPDATE debit_request SET result_code = s.result_code, result_sha256 = s.source_sha256,
    status = CASE WHEN s.result_code = '0' THEN 'done' ELSE 'failed' END FROM _res s
WHERE debit_request.customer_number = s.customer_number
