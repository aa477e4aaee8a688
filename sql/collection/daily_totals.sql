-- SN400 収納日計: the 消込データ read on the business date, by channel, データ識別 and status.
-- Parameters: :d the business date, :m 市区町村コード.
-- Returns: channel, kind, status, n, amount.
SELECT channel, kind, status, COUNT(*) AS n, SUM(amount) AS amount FROM reconciliation
WHERE business_date = :d AND municipality_code = :m GROUP BY channel, kind, status
