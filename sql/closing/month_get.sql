-- TN510 月次締め: the closing row of a month (none when the month is open).
-- Parameters: :m 市区町村コード, :ym 締め年月 (YYYYMM).
-- Returns: closing_month, closed_date, late_posting_rule, levy_total, income_total, refund_total,
--   write_off_total, unpaid_total.
SELECT closing_month, closed_date, late_posting_rule, levy_total, income_total, refund_total,
       write_off_total, unpaid_total
FROM closing_month WHERE municipality_code = :m AND closing_month = :ym AND deleted = false
