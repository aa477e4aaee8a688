-- TN110 滞納者抽出: every installment unpaid at :as_of whose 納期限 (変更納期限 when set) has
-- passed, with its 督促状発行日 (installment.dunning_issued_date, written by the dunning branch's
-- 督促 step; migration 001 has the column) and whether a plan or a suspension holds it.
-- Parameters: :as_of 基準日, :m 市区町村コード.
-- Returns: person_id, household_id, levy_year, notice_number, installment_no, due_date, levy_amount,
--   paid_amount, balance, dunning_issued_date, reminder_stopped_date, held (plan | suspension | NULL).
SELECT i.person_id, i.household_id, i.levy_year, i.notice_number, i.installment_no,
    COALESCE(i.changed_due_date, i.due_date) AS due_date, i.levy_amount, i.paid_amount,
    i.levy_amount - i.paid_amount - i.provisional_amount AS balance,
    i.dunning_issued_date, i.reminder_stopped_date,
    (SELECT MIN(h.hold_reason) FROM (
{% include 'arrears/held_installments.sql' %}
    ) h WHERE h.levy_year = i.levy_year AND h.notice_number = i.notice_number
        AND h.installment_no = i.installment_no) AS held
FROM installment i
WHERE i.municipality_code = :m AND NOT i.deleted
    AND COALESCE(i.changed_due_date, i.due_date) < :as_of
    AND i.levy_amount - i.paid_amount - i.provisional_amount > 0
    AND i.write_off_date IS NULL
ORDER BY i.person_id, i.levy_year, i.notice_number, i.installment_no
