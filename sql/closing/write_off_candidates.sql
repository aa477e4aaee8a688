-- TN620 不納欠損: the 期別 still unpaid (期別税額 − 累計収納額 − 不納欠損額 > 0, not written off) with the
-- dates that start or renew the 徴収権's 時効 (地方税法18条・18条の2): 法定納期限 (期別納期限 when
-- none), 督促状発行日 (期別 or 督促状情報), the last 領収日 of a 収納 (納付履歴 還付充当区分 0, amount > 0:
-- 一部納付 = 承認; a 還付 or 充当 is not the taxpayer's), and the last 納付誓約
-- (分割納付 registration = 承認) covering the 期別.
-- Parameters: :m 市区町村コード.
-- Returns: levy_year, target_year, notice_number, installment_no, business_code, collection_method,
--   person_id, household_id, due_date, statutory_due_date, dunning_date, last_paid_date, pledge_date, balance.
SELECT i.levy_year, i.target_year, i.notice_number, i.installment_no, i.business_code, i.collection_method,
       i.person_id, i.household_id, i.due_date, COALESCE(i.statutory_due_date, i.due_date) AS statutory_due_date,
       COALESCE(i.dunning_issued_date, dn.issue_date) AS dunning_date, pd.last_paid_date,
       pl.pledge_date, i.levy_amount - i.paid_amount - i.write_off_amount AS balance
FROM installment i
LEFT JOIN dunning_notice dn ON dn.municipality_code = i.municipality_code AND dn.levy_year = i.levy_year
    AND dn.target_year = i.target_year AND dn.notice_number = i.notice_number
    AND dn.installment_no = i.installment_no AND dn.deleted = false
LEFT JOIN (
    SELECT levy_year, target_year, notice_number, installment_no, MAX(paid_date) AS last_paid_date
    FROM payment WHERE municipality_code = :m AND deleted = false AND refund_offset_kind = '0' AND tax_amount > 0
    GROUP BY levy_year, target_year, notice_number, installment_no
) pd ON pd.levy_year = i.levy_year AND pd.target_year = i.target_year AND pd.notice_number = i.notice_number
    AND pd.installment_no = i.installment_no
LEFT JOIN (
    SELECT t.levy_year, t.notice_number, t.installment_no, MAX(p.registered_date) AS pledge_date
    FROM arrears_plan_target t JOIN arrears_plan p ON p.plan_id = t.plan_id AND p.deleted = false
    WHERE t.municipality_code = :m AND t.deleted = false AND p.status <> 'cancelled'
    GROUP BY t.levy_year, t.notice_number, t.installment_no
) pl ON pl.levy_year = i.levy_year AND pl.notice_number = i.notice_number AND pl.installment_no = i.installment_no
WHERE i.municipality_code = :m AND i.deleted = false AND i.write_off_date IS NULL
    AND i.levy_amount - i.paid_amount - i.write_off_amount > 0
ORDER BY i.levy_year, i.notice_number, i.installment_no, i.target_year
