-- bench/bench_collection.py per-row reference: one posted record added to its 期別 (executemany).
-- Parameters: :amt, :pd 領収日, :rd 収入日, :job, :od, :ot, :m 団体コード, :ly, :nn, :ino.
-- The whole primary key, as the 消込's own key join stages it (target_year = levy_year): without
-- municipality_code and target_year PostgreSQL cannot use the key and scans the 期別 for each row
-- (about 0.5 s a row at 10M 期別).
-- Returns: nothing.
UPDATE installment SET paid_amount = paid_amount + :amt,
    last_paid_date = CASE WHEN last_paid_date IS NULL OR :pd > last_paid_date THEN :pd
    ELSE last_paid_date END,
    last_received_date = CASE WHEN last_received_date IS NULL OR :rd > last_received_date THEN :rd
    ELSE last_received_date END, operator_id = :job, operated_date = :od, operated_time = :ot
WHERE municipality_code = :m AND levy_year = :ly AND target_year = :ly AND notice_number = :nn
    AND installment_no = :ino
