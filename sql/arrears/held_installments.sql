-- Installments (期別) held at :as_of by a 分割納付 plan or an 執行停止 (地方税法15条の7): the 督促
-- exclusions of the dunning branch (KB600) and of 催告 (TN120). Owned by arrears-records.
-- A plan holds its target installments from its 誓約日 while it is active (a broken, cancelled
-- or completed plan holds them until its status_date). A suspension holds every installment of
-- its taxpayer (宛名番号) from its start date until it is lifted. Only installments with an
-- unpaid balance are returned; an installment held by both appears once per hold.
-- Parameters: :as_of 基準日, :m 市区町村コード.
-- Returns: levy_year, notice_number, installment_no, hold_reason (plan | suspension), hold_id.
SELECT t.levy_year, t.notice_number, t.installment_no, 'plan' AS hold_reason, p.plan_id AS hold_id
FROM arrears_plan p
JOIN arrears_plan_target t ON t.plan_id = p.plan_id
JOIN installment i ON i.municipality_code = t.municipality_code AND i.levy_year = t.levy_year
    AND i.notice_number = t.notice_number AND i.installment_no = t.installment_no AND NOT i.deleted
WHERE p.municipality_code = :m AND NOT p.deleted AND p.registered_date <= :as_of
    AND (p.status = 'active' OR (p.status_date IS NOT NULL AND p.status_date > :as_of))
    AND i.levy_amount - i.paid_amount > 0
UNION ALL
SELECT i.levy_year, i.notice_number, i.installment_no, 'suspension' AS hold_reason, s.suspension_id AS hold_id
FROM arrears_suspension s
JOIN installment i ON i.municipality_code = s.municipality_code AND i.person_id = s.person_id AND NOT i.deleted
WHERE s.municipality_code = :m AND NOT s.deleted AND s.start_date <= :as_of
    AND (s.lifted_date IS NULL OR s.lifted_date > :as_of)
    AND i.levy_amount - i.paid_amount > 0
