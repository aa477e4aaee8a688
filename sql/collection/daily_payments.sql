-- SN400 収納日計 (control): the 納付履歴 収納 (還付充当区分 0) of the files posted on the business
-- date, by channel — must equal the 消込額 of the day's 消込データ. A 収納代行 record has one amount (the
-- barcode's), which the 消込 splits into 本税, 延滞金 and 督促手数料 when the 期別 has a 督促状: for those
-- channels the three are added back; a 窓口 record carries its 延滞金 apart from its amount.
-- Parameters: :d the business date, :m 市区町村コード.
-- Returns: channel, refund_offset_kind, n, amount.
SELECT p.channel, p.refund_offset_kind, COUNT(*) AS n, SUM(p.tax_amount + CASE WHEN p.channel IN ('cvs', 'credit', 'app')
    THEN p.late_fee_amount + p.dunning_fee_amount ELSE 0 END) AS amount FROM payment p
JOIN posted_file f ON f.source_sha256 = p.source_sha256 WHERE f.business_date = :d
AND p.municipality_code = :m AND p.refund_offset_kind = '0' GROUP BY p.channel, p.refund_offset_kind
