-- TN410 執行停止登録: 執行停止の取消 (地方税法15条の8) of an unlifted suspension.
-- Parameters: :s 執行停止番号, :l 停止取消日, :op 操作者ID, :od 操作年月日, :ot 操作時刻 (HHMMSS),
--   :rs 処理事由 (job id + run id).
-- Returns: nothing (rowcount 1, or 0 when it was lifted already).
UPDATE arrears_suspension SET lifted_date = :l,
    operator_id = :op, operated_date = :od, operated_time = :ot, operation_reason = :rs
WHERE suspension_id = :s AND lifted_date IS NULL AND NOT deleted
