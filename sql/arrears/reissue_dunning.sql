-- TN320 住所調査結果: the 督促状 to send again to the address found, of the 返戻 whose 再送付日 is :d
-- (the same 督促状 as issued — 督促状番号, amounts, 指定期限 — to the new 郵便番号 and 住所).
-- Parameters: :m 市区町村コード, :d 再送付日 (the business date of TN320).
-- Returns: return_id, dunning_no, levy_year, notice_number, installment_no, household_id, person_id,
--   issue_date, due_date, pay_by, tax_amount, late_fee_amount, dunning_fee_amount, postal_code, address.
SELECT r.return_id, n.dunning_no, n.levy_year, n.notice_number, n.installment_no, n.household_id, n.person_id,
    n.issue_date, n.due_date, n.pay_by, n.tax_amount, n.late_fee_amount, n.dunning_fee_amount,
    r.new_postal_code AS postal_code, r.new_address AS address
FROM arrears_return r
JOIN dunning_notice n ON n.municipality_code = r.municipality_code AND n.levy_year = r.levy_year
    AND n.notice_number = r.notice_number AND n.installment_no = r.installment_no AND NOT n.deleted
WHERE r.municipality_code = :m AND r.reissue_date = :d AND r.document_kind = '2' AND NOT r.deleted
ORDER BY r.return_id
