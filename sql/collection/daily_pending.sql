-- SN400 収納日計: the 保留 of earlier days posted on the business date (調定登録), by channel.
-- Parameters: :d the business date, :m 市区町村コード.
-- Returns: channel, n, amount.
SELECT channel, COUNT(*) AS n, SUM(amount) AS amount FROM reconciliation WHERE status = 'posted'
AND resolved_date = :d AND business_date < :d AND municipality_code = :m GROUP BY channel
