-- TN010 督促対象抽出: the 納期限 (変更納期限 when set) of the 普通徴収 期別 with unpaid 本税 and no 督促状
-- yet, up to :d: the ones whose 督促 day has come are chosen in jobs/arrears/dunning.py.
-- Parameters: :d 業務日, :m 市区町村コード.
-- Returns: due_date, installments.
SELECT COALESCE(i.changed_due_date, i.due_date) AS due_date, COUNT(*) AS installments
FROM installment i
WHERE i.municipality_code = :m AND NOT i.deleted AND i.latest_flag AND i.collection_method = '1'
AND COALESCE(i.changed_due_date, i.due_date) < :d AND i.levy_amount - i.paid_amount > 0
AND i.dunning_issued_date IS NULL AND i.dunning_stopped_date IS NULL
GROUP BY COALESCE(i.changed_due_date, i.due_date) ORDER BY 1
