-- kokuho audit: the 通知書番号 of a 宛名番号 (the person or the household of a notice), so the
-- access-log lines of the 消込 (which name 通知書番号) are found too.
-- Parameters: :a 宛名番号.
-- Returns: notice_number (distinct).
SELECT DISTINCT notice_number FROM notice WHERE person_id = :a OR household_id = :a
