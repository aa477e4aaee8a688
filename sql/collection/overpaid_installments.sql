-- SN300: the 過誤納 — every 期別 (not deleted) whose 累計収納額 exceeds its 期別税額, with its
-- number of 収納 payments (事由: 更正, 二重納付, 納め過ぎ), by payer and 期別.
-- Parameters: :m 市区町村コード.
-- Returns: person_id, levy_year, notice_number, installment_no, overpaid, paid_date, due_date,
-- correction_seq, payments.
SELECT i.person_id, i.levy_year, i.notice_number, i.installment_no,
    i.paid_amount - i.levy_amount AS overpaid, i.last_paid_date AS paid_date, i.due_date,
    i.correction_seq, COALESCE(p.n, 0) AS payments FROM installment i LEFT JOIN
(SELECT levy_year, notice_number, installment_no, COUNT(*) AS n FROM payment
 WHERE refund_offset_kind = '0' GROUP BY 1, 2, 3) p ON p.levy_year = i.levy_year
AND p.notice_number = i.notice_number AND p.installment_no = i.installment_no
WHERE i.paid_amount > i.levy_amount AND i.municipality_code = :m AND NOT i.deleted
ORDER BY i.person_id, i.levy_year, i.notice_number, i.installment_no
