-- TN030 延滞金調定: the 延滞金 調定 and 収入 totals of the 督促状 records (control totals).
-- Parameters: :m 市区町村コード.
-- Returns: levied, received, received_count.
SELECT COALESCE(SUM(late_fee_levied), 0) AS levied, COALESCE(SUM(late_fee_received), 0) AS received,
    COUNT(CASE WHEN late_fee_received > 0 THEN 1 END) AS received_count
FROM dunning_notice WHERE municipality_code = :m AND NOT deleted
