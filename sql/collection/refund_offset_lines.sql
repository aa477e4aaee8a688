-- SN300 outputs: the day's 還付・充当 lines, by 決議番号.
-- Parameters: :p the 決議番号 prefix (市区町村コード + 決議日) followed by '%'.
-- Returns: decision_id, kind, person_id, refund_id, from_levy_year, from_notice_number,
-- from_installment_no, to_levy_year, to_notice_number, to_installment_no, amount, interest, cause_code.
SELECT o.decision_id, o.kind, o.person_id, o.refund_id, o.from_levy_year, o.from_notice_number,
    o.from_installment_no, o.to_levy_year, o.to_notice_number, o.to_installment_no, o.amount, o.interest,
    o.cause_code FROM refund_offset o WHERE o.decision_id LIKE :p ORDER BY o.decision_id
