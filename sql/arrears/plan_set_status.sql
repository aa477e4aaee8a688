-- TN220: set the status of the staged plans (broken 不履行 / completed 完了) as of a date.
-- stage: _ps(plan_id VARCHAR, status VARCHAR)
-- Parameters: :d 状態変更日, :reason 処理事由.
-- Returns: nothing.
UPDATE arrears_plan SET status = (SELECT _ps.status FROM _ps WHERE _ps.plan_id = arrears_plan.plan_id),
    status_date = :d, operation_reason = :reason
WHERE plan_id IN (SELECT plan_id FROM _ps) AND status = 'active'
