-- 消込 step 3: the 期別 (not deleted) of the staged keys, with their 期別税額 and 徴収方法区分.
-- PostgreSQL: also where each row lies (_row_at: its ctid, block × 65536 + line pointer; a line
-- pointer is at most 291 on an 8 kB page), so that the 期別 update of the same transaction reaches
-- the rows by address, in table order (ledger/installment_apply_located). DuckDB: no such column
-- (its update joins on the key, ledger/installment_apply_delta; a column of 5M NULLs would be 40 MB
-- more at the 消込's peak).
-- stage: _keys(levy_year INTEGER, notice_number VARCHAR, installment_no INTEGER, municipality_code VARCHAR, target_year INTEGER)
-- Parameters: none.
-- Returns: levy_year, notice_number, installment_no, levy_amount_right, collection_method, _found (TRUE);
-- PostgreSQL: _row_at.
SELECT i.levy_year, i.notice_number, i.installment_no, i.levy_amount AS levy_amount_right,
    i.collection_method, TRUE AS _found
{% if dialect == 'postgresql' %}
    , CAST((i.ctid::text::point)[0] AS BIGINT) * 65536 + CAST((i.ctid::text::point)[1] AS BIGINT) AS _row_at
{% endif %}
FROM installment i
JOIN _keys k ON i.municipality_code = k.municipality_code AND i.levy_year = k.levy_year
AND i.target_year = k.target_year AND i.notice_number = k.notice_number
AND i.installment_no = k.installment_no WHERE NOT i.deleted
