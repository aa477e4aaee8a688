-- SN400 収納日計: the postings reversed on the business date by a 訂正 (status reversed), by
-- channel; their amounts leave the day's 収納 (the negative 納付履歴 rows of the 訂正 records).
-- Parameters: :d the business date, :m 市区町村コード.
-- Returns: channel, n, amount.
SELECT channel, COUNT(*) AS n, SUM(amount) AS amount FROM reconciliation WHERE status = 'reversed'
AND resolved_date = :d AND municipality_code = :m GROUP BY channel
