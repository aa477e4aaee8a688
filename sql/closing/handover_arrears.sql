-- TN630 滞納状況引継: per 世帯, its 滞納 — the 期別 unpaid (期別税額 − 累計収納額 − 不納欠損額 > 0, not
-- written off) whose 納期限 (変更納期限 if any) is before :d — with 期数, 金額 and 最古納期限. No 個人番号
-- (the ledger has none).
-- Parameters: :m 市区町村コード, :d 基準日 (the business date).
-- Returns: household_id, person_id, installments, amount, oldest_due_date, newest_due_date.
SELECT household_id, MIN(person_id) AS person_id, COUNT(*) AS installments,
       SUM(levy_amount - paid_amount - write_off_amount) AS amount,
       MIN(COALESCE(changed_due_date, due_date)) AS oldest_due_date,
       MAX(COALESCE(changed_due_date, due_date)) AS newest_due_date
FROM installment
WHERE municipality_code = :m AND deleted = false AND write_off_date IS NULL
    AND levy_amount - paid_amount - write_off_amount > 0 AND COALESCE(changed_due_date, due_date) < :d
GROUP BY household_id ORDER BY household_id
