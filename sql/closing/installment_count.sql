-- TN630 滞納状況引継: how many 期別 the ledger holds (none: the hand-over has nothing to look at).
-- Parameters: :m 市区町村コード.
-- Returns: one value.
SELECT COUNT(*) FROM installment WHERE municipality_code = :m AND deleted = false
