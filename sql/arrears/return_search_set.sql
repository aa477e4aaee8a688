-- TN320 住所調査結果・公示送達: the search result of a pending 返戻 — found (判明: new address,
-- 再送付日) or not_found (不明: 公示送達 掲示日 and 送達日).
-- Parameters: :r 返戻番号, :res 調査結果 (found | not_found), :sd 調査日, :pc 判明 郵便番号,
--   :ad 判明 住所, :rd 再送付日, :pd 掲示日, :ed 送達日, :op 操作者ID, :od 操作年月日,
--   :ot 操作時刻 (HHMMSS), :rs 処理事由.
-- Returns: nothing (rowcount 1, or 0 when the 返戻 is no longer pending).
UPDATE arrears_return SET search_result = :res, search_date = :sd, new_postal_code = :pc, new_address = :ad,
    reissue_date = :rd, posting_date = :pd, effective_date = :ed,
    operator_id = :op, operated_date = :od, operated_time = :ot, operation_reason = :rs
WHERE return_id = :r AND search_result = 'pending' AND NOT deleted
