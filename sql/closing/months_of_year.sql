-- TN520 決算帳票: the closed months of a fiscal year with their totals (the 収納率 chart by month).
-- Parameters: :m 市区町村コード, :fy 会計年度, :fy_before the year before.
-- Returns: closing_month, fiscal_year, levy_total, income_total, refund_total, write_off_total, unpaid_total, current_levy_total, current_income_total.
SELECT closing_month, fiscal_year, levy_total, income_total, refund_total, write_off_total, unpaid_total,
       current_levy_total, current_income_total
FROM closing_month WHERE municipality_code = :m AND fiscal_year IN (:fy, :fy_before) AND deleted = false
ORDER BY closing_month
