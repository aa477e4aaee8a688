-- TN620 不納欠損: the 不納欠損 booked on a day (起案年月日 :d), the 調書's rows (a rerun writes the same
-- file from them).
-- Parameters: :m 市区町村コード, :d 起案年月日.
-- Returns: levy_year, target_year, notice_number, installment_no, write_off_kind, tax_amount, file_number,
--   drafted_date, approved_date, note, person_id, household_id, due_date.
SELECT w.levy_year, w.target_year, w.notice_number, w.installment_no, w.write_off_kind, w.tax_amount,
       w.file_number, w.drafted_date, w.approved_date, w.note, i.person_id, i.household_id, i.due_date
FROM write_off w JOIN installment i ON i.municipality_code = w.municipality_code AND i.levy_year = w.levy_year
    AND i.target_year = w.target_year AND i.notice_number = w.notice_number AND i.installment_no = w.installment_no
WHERE w.municipality_code = :m AND w.deleted = false AND w.cancelled_date IS NULL AND w.drafted_date = :d
ORDER BY w.file_number
