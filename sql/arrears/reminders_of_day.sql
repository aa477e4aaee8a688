-- TN120: the 催告 already recorded for a kind and a day (a rerun prints them again, records nothing).
-- Parameters: :m 市区町村コード, :kind 催告種別 (current | bulk), :d 催告日.
-- Returns: reminder_id, person_id, household_id, amount, installments, oldest_due_date, levy_year,
--   notice_number, installment_no, due_date, balance (one row per 催告明細).
SELECT r.reminder_id, r.person_id, r.household_id, r.amount, r.installments, r.oldest_due_date,
    it.levy_year, it.notice_number, it.installment_no, it.due_date, it.balance
FROM arrears_reminder r
JOIN arrears_reminder_item it ON it.reminder_id = r.reminder_id AND NOT it.deleted
WHERE r.municipality_code = :m AND r.reminder_kind = :kind AND r.reminder_date = :d AND NOT r.deleted
ORDER BY r.person_id, it.levy_year, it.notice_number, it.installment_no
