-- SN410: the staged 速報 become 速報失効 (their amounts come off the 速報額 through
-- ledger/installment_apply_delta).
-- stage: _lapse(source_sha256 VARCHAR, record_no BIGINT)
-- Parameters: :d 解消日 (the business date), :op 操作者ID, :od 操作年月日, :ot 操作時刻, :rs 処理事由 (job id + run id).
-- Returns: nothing.
UPDATE reconciliation SET status = 'lapsed', resolved_date = :d,
    reason = '確報が届かないため速報を失効', operator_id = :op, operated_date = :od, operated_time = :ot, operation_reason = :rs
FROM _lapse l WHERE reconciliation.source_sha256 = l.source_sha256
AND reconciliation.record_no = l.record_no
