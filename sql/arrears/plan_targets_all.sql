-- TN210 / TN220: the target installments (対象期別) of every plan, with the plan's status (a
-- new plan may not cover an installment an active plan covers).
-- Parameters: :m 市区町村コード.
-- Returns: plan_id, person_id, status, levy_year, notice_number, installment_no, due_date, balance.
SELECT p.plan_id, p.person_id, p.status, t.levy_year, t.notice_number, t.installment_no, t.due_date, t.balance
FROM arrears_plan p
JOIN arrears_plan_target t ON t.plan_id = p.plan_id AND NOT t.deleted
WHERE p.municipality_code = :m AND NOT p.deleted
ORDER BY p.plan_id, t.levy_year, t.notice_number, t.installment_no
