-- SN400 収納日計: the 還付・充当 booked on the business date, by 還付充当区分.
-- Parameters: :d the business date, :m 市区町村コード.
-- Returns: refund_offset_kind, n, amount.
SELECT refund_offset_kind, COUNT(*) AS n, SUM(tax_amount) AS amount FROM payment WHERE channel = 'offset'
AND received_date = :d AND municipality_code = :m GROUP BY refund_offset_kind
