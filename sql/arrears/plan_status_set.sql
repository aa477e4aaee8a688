-- TN220 履行状況確認: an active plan becomes broken (不履行) or completed (完了) on :d.
-- Parameters: :p 計画番号, :st 状態 (broken | completed), :d 状態変更日, :op 操作者ID,
--   :od 操作年月日, :ot 操作時刻 (HHMMSS), :rs 処理事由 (job id + run id).
-- Returns: nothing (rowcount 1, or 0 when the plan is no longer active).
UPDATE arrears_plan SET status = :st, status_date = :d,
    operator_id = :op, operated_date = :od, operated_time = :ot, operation_reason = :rs
WHERE plan_id = :p AND status = 'active' AND NOT deleted
