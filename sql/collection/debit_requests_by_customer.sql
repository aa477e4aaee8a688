-- 消込 (口座振替結果): the city's 口座振替 requests (debit_request) of the staged 顧客番号, with the
-- requested amount and 振替日: a result must name a request and report its amount.
-- stage: _cust(customer_number VARCHAR)
-- Parameters: :m 市区町村コード.
-- Returns: customer_number, req_debit_date, req_amount.
SELECT q.customer_number, q.debit_date AS req_debit_date, q.amount AS req_amount
FROM debit_request q JOIN _cust c ON q.customer_number = c.customer_number
WHERE NOT q.deleted AND q.municipality_code = :m
