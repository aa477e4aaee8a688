-- 消込 (督促状 barcode, reconcile._split_dunned): whether the city has any 督促状 at all (a ledger without one — every
-- ledger before the first 督促 — skips the split without staging the keys).
-- Parameters: :m 市区町村コード.
-- Returns: n (0 or 1).
SELECT COUNT(*) AS n FROM (SELECT 1 AS x FROM dunning_notice WHERE municipality_code = :m AND NOT deleted
  LIMIT 1) t
