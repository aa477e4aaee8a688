-- TN030 延滞金調定: the 督促済 期別 whose 本税 is now paid in full (by :d) and whose 延滞金 is not booked
-- yet: the 延滞金 runs to the day of full payment (the 期別's last 領収日). A deleted 期別
-- (installment.deleted, e.g. a 調定 cancelled by 更正) gets no 延滞金.
-- Parameters: :d 業務日, :m 市区町村コード.
-- Returns: municipality_code, levy_year, target_year, notice_number, installment_no, levy_amount,
-- due_date, completed_date.
SELECT n.municipality_code, n.levy_year, n.target_year, n.notice_number, n.installment_no, i.levy_amount,
    n.due_date, i.last_paid_date AS completed_date
FROM dunning_notice n JOIN installment i ON i.municipality_code = n.municipality_code
AND i.levy_year = n.levy_year AND i.target_year = n.target_year AND i.notice_number = n.notice_number
AND i.installment_no = n.installment_no
WHERE n.municipality_code = :m AND NOT n.deleted AND NOT i.deleted AND n.late_fee_levy_date IS NULL
AND i.levy_amount - i.paid_amount <= 0 AND i.last_paid_date IS NOT NULL AND i.last_paid_date <= :d
ORDER BY n.levy_year, n.notice_number, n.installment_no
