-- TN510 月次締め: the 出納閉鎖 date the 滞納繰越 into fiscal year :cy was recorded at (TN610), or NULL.
-- Parameters: :m 市区町村コード, :cy 会計年度.
-- Returns: one value.
SELECT MAX(carried_date) FROM installment WHERE municipality_code = :m AND deleted = false AND carried_year = :cy
