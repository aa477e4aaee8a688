-- TN510 月次締め: lock the month (one row; a rerun of a closed month checks, it does not insert).
-- Parameters: :m, :ym, :fy, :d 処理日, :rule, :levy, :income, :refund, :wo, :unpaid, :clevy, :cincome, :j job id,
--   :op, :od, :ot, :rs (audit).
-- Returns: nothing.
INSERT INTO closing_month (municipality_code, closing_month, fiscal_year, closed_date, late_posting_rule,
    levy_total, income_total, refund_total, write_off_total, unpaid_total, current_levy_total, current_income_total, job_id, deleted, operator_id,
    operated_date, operated_time, operation_reason)
VALUES (:m, :ym, :fy, :d, :rule, :levy, :income, :refund, :wo, :unpaid, :clevy, :cincome, :j, false, :op, :od, :ot, :rs)
