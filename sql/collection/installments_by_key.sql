-- 消込 step 3: the 期別 (not deleted) of the staged keys, with their 期別税額 and 徴収方法区分.
-- stage: _keys(levy_year INTEGER, notice_number VARCHAR, installment_no INTEGER, municipality_code VARCHAR, target_year INTEGER)
-- Parameters: none.
-- Returns: levy_year, notice_number, installment_no, levy_amount_right, collection_method, _found (TRUE).
SELECT i.levy_year, i.notice_number, i.installment_no, i.levy_amount AS levy_amount_right,
    i.collection_method, TRUE AS _found FROM installment i
JOIN _keys k ON i.municipality_code = k.municipality_code AND i.levy_year = k.levy_year
AND i.target_year = k.target_year AND i.notice_number = k.notice_number
AND i.installment_no = k.installment_no WHERE NOT i.deleted
