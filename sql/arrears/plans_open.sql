-- TN220 / TN110: the plans active at :as_of (registered on or before it) with what their target
-- installments have received since the plan was made (paid now − paid at registration).
-- Parameters: :m 市区町村コード, :as_of 基準日.
-- Returns: plan_id, person_id, household_id, registered_date, plan_amount, installment_count,
--   paid_at_registration, paid_now, balance_now.
SELECT p.plan_id, p.person_id, p.household_id, p.registered_date, p.plan_amount, p.installment_count,
    p.paid_at_registration, COALESCE(SUM(i.paid_amount), 0) AS paid_now,
    COALESCE(SUM(i.levy_amount - i.paid_amount), 0) AS balance_now
FROM arrears_plan p
JOIN arrears_plan_target t ON t.plan_id = p.plan_id AND NOT t.deleted
LEFT JOIN installment i ON i.municipality_code = t.municipality_code AND i.levy_year = t.levy_year
    AND i.notice_number = t.notice_number AND i.installment_no = t.installment_no AND NOT i.deleted
WHERE p.municipality_code = :m AND p.status = 'active' AND p.registered_date <= :as_of AND NOT p.deleted
GROUP BY p.plan_id, p.person_id, p.household_id, p.registered_date, p.plan_amount, p.installment_count,
    p.paid_at_registration
ORDER BY p.plan_id
