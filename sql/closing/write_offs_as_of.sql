-- TN510 月次締め: 不納欠損 per 賦課年度, cumulative to four dates by 決裁年月日 (起案年月日 before the 決裁);
-- cancelled ones (取消年月日) out.
-- Parameters: :m 市区町村コード, :d0, :dm, :d1, :dx as in closing/levy_as_of.
-- Returns: levy_year, write_off_d0, write_off_dm, write_off_d1, write_off_dx.
SELECT levy_year,
       SUM(CASE WHEN COALESCE(approved_date, drafted_date) <= :d0 THEN tax_amount ELSE 0 END) AS write_off_d0,
       SUM(CASE WHEN COALESCE(approved_date, drafted_date) <= :dm THEN tax_amount ELSE 0 END) AS write_off_dm,
       SUM(CASE WHEN COALESCE(approved_date, drafted_date) <= :d1 THEN tax_amount ELSE 0 END) AS write_off_d1,
       SUM(CASE WHEN COALESCE(approved_date, drafted_date) <= :dx THEN tax_amount ELSE 0 END) AS write_off_dx
FROM write_off WHERE municipality_code = :m AND deleted = false AND cancelled_date IS NULL
GROUP BY levy_year ORDER BY levy_year
