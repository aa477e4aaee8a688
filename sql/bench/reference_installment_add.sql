-- bench/bench_collection.py per-row reference: one posted record added to its 期別 (executemany).
-- Parameters: :amt, :pd 領収日, :rd 収入日, :job, :od, :ot, :ly, :nn, :ino.
-- Returns: nothing.
UPDATE installment SET paid_amount = paid_amount + :amt,
    last_paid_date = CASE WHEN last_paid_date IS NULL OR :pd > last_paid_date THEN :pd
    ELSE last_paid_date END,
    last_received_date = CASE WHEN last_received_date IS NULL OR :rd > last_received_date THEN :rd
    ELSE last_received_date END, operator_id = :job, operated_date = :od, operated_time = :ot
WHERE levy_year = :ly AND notice_number = :nn AND installment_no = :ino
