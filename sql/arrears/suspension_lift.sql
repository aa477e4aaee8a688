-- TN410: lift (取消) the staged suspensions from a date.
-- stage: _lift(suspension_id VARCHAR, lifted_date DATE)
-- Parameters: :reason 処理事由.
-- Returns: nothing.
UPDATE arrears_suspension SET
    lifted_date = (SELECT l.lifted_date FROM _lift l WHERE l.suspension_id = arrears_suspension.suspension_id),
    operation_reason = :reason
WHERE suspension_id IN (SELECT suspension_id FROM _lift) AND lifted_date IS NULL
