-- SN300: how many 還付・充当 lines the day's decisions already have (決議番号 prefix: 市区町村コード
-- + 決議日): a rerun decides nothing twice.
-- Parameters: :p the prefix followed by '%'.
-- Returns: one row, one column: the count.
SELECT COUNT(*) FROM refund_offset WHERE decision_id LIKE :p
