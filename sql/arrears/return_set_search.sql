-- TN320: record the address search's result of the staged returns: found (判明: new address,
-- 再送付日) or not_found (不明: 公示送達の掲示日 and 送達日).
-- stage: _srch(return_id VARCHAR, search_result VARCHAR, search_date DATE, new_postal_code VARCHAR, new_address VARCHAR, reissue_date DATE, posting_date DATE, effective_date DATE)
-- Parameters: :reason 処理事由.
-- Returns: nothing.
UPDATE arrears_return SET
    search_result = (SELECT s.search_result FROM _srch s WHERE s.return_id = arrears_return.return_id),
    search_date = (SELECT s.search_date FROM _srch s WHERE s.return_id = arrears_return.return_id),
    new_postal_code = (SELECT s.new_postal_code FROM _srch s WHERE s.return_id = arrears_return.return_id),
    new_address = (SELECT s.new_address FROM _srch s WHERE s.return_id = arrears_return.return_id),
    reissue_date = (SELECT s.reissue_date FROM _srch s WHERE s.return_id = arrears_return.return_id),
    posting_date = (SELECT s.posting_date FROM _srch s WHERE s.return_id = arrears_return.return_id),
    effective_date = (SELECT s.effective_date FROM _srch s WHERE s.return_id = arrears_return.return_id),
    operation_reason = :reason
WHERE return_id IN (SELECT return_id FROM _srch) AND search_result = 'pending'
