-- SN400 収納日計 (control): the 納付履歴 収納 (還付充当区分 0) of the files posted on the business
-- date, by channel — must equal the 消込額 of the day's 消込データ.
-- Parameters: :d the business date, :m 市区町村コード.
-- Returns: channel, refund_offset_kind, n, amount.
SELECT p.channel, p.refund_offset_kind, COUNT(*) AS n, SUM(p.tax_amount) AS amount FROM payment p
JOIN posted_file f ON f.source_sha256 = p.source_sha256 WHERE f.business_date = :d
AND p.municipality_code = :m AND p.refund_offset_kind = '0' GROUP BY p.channel, p.refund_offset_kind
