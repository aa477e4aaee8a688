-- 消込 (訂正): the earlier postings a 訂正 record of this file reversed become 訂正により取消
-- (status reversed) with the day and the reason; the row itself, its 納付履歴 and its amount stay
-- (the reversal is a negative 納付履歴 row of the 訂正 record).
-- stage: _reversed(source_sha256 VARCHAR, record_no BIGINT, reason VARCHAR)
-- Parameters: :d 解消日 (the business date), :op 操作者ID, :od 操作年月日, :ot 操作時刻.
-- Returns: nothing.
UPDATE reconciliation SET status = 'reversed', resolved_date = :d, reason = s.reason, operator_id = :op,
    operated_date = :od, operated_time = :ot FROM _reversed s
WHERE reconciliation.source_sha256 = s.source_sha256 AND reconciliation.record_no = s.record_no
