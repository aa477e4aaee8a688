-- SN100: the 保留 records just posted become 消込済, with the 期別税額 they were matched to.
-- stage: _pending(source_sha256 VARCHAR, record_no BIGINT, levy_amount BIGINT)
-- Parameters: :d 解消日 (the business date), :op 操作者ID, :od 操作年月日, :ot 操作時刻, :rs 処理事由 (job id + run id).
-- Returns: nothing.
UPDATE reconciliation SET status = 'posted', levy_amount = p.levy_amount, resolved_date = :d,
    reason = '調定登録により消込', operator_id = :op, operated_date = :od, operated_time = :ot, operation_reason = :rs FROM _pending p
WHERE reconciliation.source_sha256 = p.source_sha256 AND reconciliation.record_no = p.record_no
