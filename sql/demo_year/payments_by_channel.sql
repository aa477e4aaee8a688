-- make demo-year (jobs/demo_year/driver.py): the year's 収納 in the 納付履歴 by channel — the
-- payments (還付充当区分 0) counted and summed (本税, 延滞金, 督促手数料 apart).
-- Parameters: :m 市区町村コード.
-- Returns: channel, n, tax, late_fee, dunning_fee.
SELECT channel, COUNT(*) AS n, COALESCE(SUM(tax_amount), 0) AS tax, COALESCE(SUM(late_fee_amount), 0) AS late_fee,
    COALESCE(SUM(dunning_fee_amount), 0) AS dunning_fee
FROM payment WHERE municipality_code = :m AND refund_offset_kind = '0' GROUP BY channel ORDER BY channel
