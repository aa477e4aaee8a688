-- TN110 滞納者把握: the 分割納付 履行状況 — the plans registered on or before :as_of per status
-- (active 履行中, broken 不履行, completed 完了, cancelled 取消) with their 計画額 and what the
-- target installments have received since the plan was made (paid now − paid at registration).
-- Parameters: :m 市区町村コード, :as_of 基準日.
-- Returns: status, plans, plan_amount, paid_since.
SELECT x.status, COUNT(*) AS plans, SUM(x.plan_amount) AS plan_amount,
    SUM(CASE WHEN x.paid_now > x.paid_at_registration THEN x.paid_now - x.paid_at_registration ELSE 0 END)
        AS paid_since
FROM (
    SELECT p.plan_id, p.status, p.plan_amount, p.paid_at_registration,
        COALESCE(SUM(i.paid_amount), 0) AS paid_now
    FROM arrears_plan p
    LEFT JOIN arrears_plan_target t ON t.plan_id = p.plan_id AND NOT t.deleted
    LEFT JOIN installment i ON i.municipality_code = t.municipality_code AND i.levy_year = t.levy_year
        AND i.notice_number = t.notice_number AND i.installment_no = t.installment_no AND NOT i.deleted
    WHERE p.municipality_code = :m AND p.registered_date <= :as_of AND NOT p.deleted
    GROUP BY p.plan_id, p.status, p.plan_amount, p.paid_at_registration
) x
GROUP BY x.status
ORDER BY x.status
