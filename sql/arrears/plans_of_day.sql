-- TN210 分割納付計画登録: every 回 of the plans registered from the files posted on :d (the 納付書 of
-- the day: the print data and the PDF are written from these rows, on a rerun too), with the 世帯番号
-- of the 期別 the 納付書 names (its barcode's 自由使用欄).
-- Parameters: :m 市区町村コード, :d 業務日, :c 区分 (posted_file.channel of the plan files).
-- Returns: plan_id, plan_no, installment_count, person_id, household_id, registered_date, due_date,
--   amount, plan_amount, slip_levy_year, slip_notice_number, slip_installment_no, slip_household_id.
SELECT p.plan_id, pi.plan_no, p.installment_count, p.person_id, p.household_id, p.registered_date,
    pi.due_date, pi.amount, p.plan_amount, pi.slip_levy_year, pi.slip_notice_number, pi.slip_installment_no,
    (SELECT MIN(i.household_id) FROM installment i WHERE i.municipality_code = p.municipality_code
        AND i.levy_year = pi.slip_levy_year AND i.notice_number = pi.slip_notice_number
        AND i.installment_no = pi.slip_installment_no AND NOT i.deleted) AS slip_household_id
FROM posted_file f
JOIN arrears_plan p ON p.source_sha256 = f.source_sha256 AND p.municipality_code = f.municipality_code
    AND NOT p.deleted
JOIN arrears_plan_installment pi ON pi.plan_id = p.plan_id AND NOT pi.deleted
WHERE f.municipality_code = :m AND f.business_date = :d AND f.channel = :c AND NOT f.deleted
ORDER BY p.plan_id, pi.plan_no
