-- 月次締め lock (jobs/ledger/closing_lock.py): the closed months of the municipalities being posted to.
-- Parameters: none (every municipality; a ledger holds one or a few).
-- Returns: municipality_code, closing_month (YYYYMM), late_posting_rule (refuse | next_month).
SELECT municipality_code, closing_month, late_posting_rule FROM closing_month
WHERE deleted = false ORDER BY municipality_code, closing_month
