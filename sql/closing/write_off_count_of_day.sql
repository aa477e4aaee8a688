-- TN620 不納欠損: how many 不納欠損 were booked on a day (整理番号 go on from it on a second run).
-- Parameters: :m 市区町村コード, :d 起案年月日.
-- Returns: one value.
SELECT COUNT(*) FROM write_off WHERE municipality_code = :m AND deleted = false AND drafted_date = :d
