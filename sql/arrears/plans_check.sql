-- TN220 履行状況確認: the plans to check at :as_of — active ones, and those whose status this
-- business date already changed (a rerun lists them again) — with what their target installments
-- have received since the plan was made (paid now − paid at registration) and still owe.
-- Parameters: :m 市区町村コード, :as_of 基準日.
-- Returns: plan_id, person_id, household_id, registered_date, first_due_date, last_due_date,
--   plan_amount, installment_count, paid_at_registration, status, status_date, paid_now, balance_now.
SELECT p.plan_id, p.person_id, p.household_id, p.registered_date, p.first_due_date, p.last_due_date,
    p.plan_amount, p.installment_count, p.paid_at_registration, p.status, p.status_date,
    COALESCE(SUM(i.paid_amount), 0) AS paid_now,
    COALESCE(SUM(i.levy_amount - i.paid_amount), 0) AS balance_now
FROM arrears_plan p
JOIN arrears_plan_target t ON t.plan_id = p.plan_id AND NOT t.deleted
LEFT JOIN installment i ON i.municipality_code = t.municipality_code AND i.levy_year = t.levy_year
    AND i.notice_number = t.notice_number AND i.installment_no = t.installment_no AND NOT i.deleted
WHERE p.municipality_code = :m AND p.registered_date <= :as_of AND NOT p.deleted
    AND (p.status = 'active' OR p.status_date = :as_of)
GROUP BY p.plan_id, p.person_id, p.household_id, p.registered_date, p.first_due_date, p.last_due_date,
    p.plan_amount, p.installment_count, p.paid_at_registration, p.status, p.status_date
ORDER BY p.plan_id
