-- TN610 出納閉鎖・滞納繰越: how many 期別 were already carried into :cy (a rerun).
-- Parameters: :m 市区町村コード, :cy 繰越年度.
-- Returns: one value.
SELECT COUNT(*) FROM installment WHERE municipality_code = :m AND deleted = false AND carried_year = :cy
