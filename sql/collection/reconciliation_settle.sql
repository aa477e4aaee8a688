-- 消込: the 速報 of earlier files that this file settled get their new status (confirmed 確報済
-- or cancelled 取消済) and the day they were resolved.
-- stage: _settled(source_sha256 VARCHAR, record_no BIGINT, new_status VARCHAR)
-- Parameters: :d 解消日 (the business date), :op 操作者ID, :od 操作年月日, :ot 操作時刻, :rs 処理事由 (job id + run id).
-- Returns: nothing.
UPDATE reconciliation SET status = s.new_status, resolved_date = :d, operator_id = :op,
    operated_date = :od, operated_time = :ot, operation_reason = :rs FROM _settled s
WHERE reconciliation.source_sha256 = s.source_sha256 AND reconciliation.record_no = s.record_no
