-- TN610 出納閉鎖・滞納繰越 / TN510 月次締め: the 期別 carried into fiscal year :cy (滞納繰越分 調定), the
-- 滞納繰越 調書's rows (a rerun writes the same file from them).
-- Parameters: :m 市区町村コード, :cy 繰越年度.
-- Returns: levy_year, target_year, notice_number, installment_no, person_id, household_id, due_date,
--   carried_date, carried_tax_amount, carried_medical, carried_support, carried_care.
SELECT levy_year, target_year, notice_number, installment_no, person_id, household_id, due_date, carried_date,
       carried_tax_amount, carried_medical_general + carried_medical_retired AS carried_medical,
       carried_support_general + carried_support_retired AS carried_support,
       carried_care_general + carried_care_retired AS carried_care
FROM installment WHERE municipality_code = :m AND deleted = false AND carried_year = :cy
ORDER BY levy_year, notice_number, installment_no, target_year
