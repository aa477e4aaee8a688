-- TN220 / TN210: the installments (回) of the plans of a taxpayer or of every active plan.
-- Parameters: :m 市区町村コード.
-- Returns: plan_id, person_id, status, plan_no, due_date, amount, slip_levy_year, slip_notice_number,
--   slip_installment_no.
SELECT p.plan_id, p.person_id, p.status, pi.plan_no, pi.due_date, pi.amount, pi.slip_levy_year,
    pi.slip_notice_number, pi.slip_installment_no
FROM arrears_plan p
JOIN arrears_plan_installment pi ON pi.plan_id = p.plan_id AND NOT pi.deleted
WHERE p.municipality_code = :m AND NOT p.deleted
ORDER BY p.plan_id, pi.plan_no
