-- TN310 / TN320: the 返戻 records (all, or those still being searched).
-- Parameters: :m 市区町村コード.
-- Returns: every column of arrears_return but the audit ones.
SELECT return_id, person_id, document_kind, levy_year, notice_number, installment_no, returned_date,
    return_reason, search_result, search_date, new_postal_code, new_address, reissue_date, posting_date,
    effective_date, source_sha256, record_no
FROM arrears_return WHERE municipality_code = :m AND NOT deleted
ORDER BY return_id
